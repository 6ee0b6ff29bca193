#include "report_html.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include <troupe/embedded/chaos_report_script.hpp>
#include <troupe/embedded/chaos_report_template.hpp>

#include "report_stats.hpp"

namespace troupe::chaos_harness {

namespace {

/// Distinct on screen and on paper, and none of them the red or green of failed and ok.
constexpr std::array<const char*, 10> palette = {"#7c3aed", "#d97706", "#0891b2", "#db2777",
                                                 "#0369a1", "#4f46e5", "#57534e", "#0d9488",
                                                 "#9333ea", "#64748b"};

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// JSON that may sit inside a <script> element: no "<" that could close it or open a comment.
std::string script_json(const nlohmann::json& value) {
  std::string out;
  for (char c : dump(value))
    out += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return out;
}

double seconds(micros t) {
  return std::round(static_cast<double>(t) / 1e5) / 10.0;
}

std::string duration(std::int64_t ms) {
  if (ms < 60'000)
    return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000.0);
  return fmt::format("{} min {:02} s", ms / 60'000, (ms / 1000) % 60);
}

/// A figure as a person reads it: a dash when the checks did not compute it.
std::string figure(const nlohmann::json& value, std::string_view unit = "") {
  if (value.is_null())
    return "—";
  auto text = value.is_string() ? value.get<std::string>() : dump(value);
  return unit.empty() ? text : text + " " + std::string(unit);
}

/// One card of the summary: a label, a value, and a smaller line under it.
struct fact_card {
  std::string label;
  std::string value;
  std::string sub = {};
  bool bad = false;
};

std::string card(const fact_card& f) {
  return fmt::format("<div class=\"fact{}\"><div class=\"label\">{}</div>"
                     "<div class=\"value\">{}</div><div class=\"sub\">{}</div></div>\n",
                     f.bad ? " bad" : "", html_escape(f.label), html_escape(f.value),
                     html_escape(f.sub));
}

/// `result`'s `name`, null when it has none (the figures come from other code).
nlohmann::json field(const nlohmann::json& result, const char* name) {
  return result.is_object() ? result.value(name, nlohmann::json()) : nlohmann::json();
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts)
    out += (out.empty() ? "" : ", ") + part;
  return out;
}

std::string facts(const run_record& run, const nlohmann::json& result) {
  auto r = [&](const char* name) { return field(result, name); };
  auto bad = [&](const char* name) { return r(name).is_number() && r(name).get<double>() > 0; };
  std::vector<std::string> by_type;
  auto faults_by_type = r("faults_by_type");
  for (const auto& [type, n] : faults_by_type.items())
    by_type.push_back(figure(n) + " " + type);
  std::size_t failures = 0;
  for (const auto& op : run.operations)
    failures += failed(op) ? 1 : 0;
  auto share = run.operations.empty() ? 0.0
                                      : 100.0 * static_cast<double>(failures) /
                                            static_cast<double>(run.operations.size());
  auto kill_errors = r("error_window_after_kill_ms");
  bool p50_max = kill_errors.is_object() && kill_errors.contains("p50");
  auto converged = r("converged_after_ms");

  std::string out;
  out += card({"Duration", duration(run.finished / 1000),
               "fault phase " + duration(run.fault_phase_end / 1000)});
  out += card({"Nodes", std::to_string(run.nodes.size()), joined(run.nodes)});
  out += card({"Faults injected", std::to_string(run.faults.size()), joined(by_type)});
  out += card({"Requests", std::to_string(run.operations.size()),
               fmt::format("{} failed ({:.1f}%)", failures, share)});
  out += card({"Acknowledged operations", figure(r("acknowledged_operations"))});
  out += card({"Lost operations", figure(r("lost_operations")), "", bad("lost_operations")});
  out += card({"Stale reads", figure(r("stale_reads")), "", bad("stale_reads")});
  out += card({"Duplicate notifications", figure(r("duplicate_notifications")), "",
               bad("duplicate_notifications")});
  out +=
      card({"Errors after a kill", figure(p50_max ? kill_errors["p50"] : kill_errors, "ms"),
            p50_max ? "p50; max " + figure(kill_errors.value("max", nlohmann::json()), "ms") : ""});
  out += card({"Converged after", converged.is_null() ? "never" : figure(converged, "ms"),
               "after the last fault", converged.is_null()});
  out += card({"Aborted", run.aborted.empty() ? "no" : "yes", run.aborted, !run.aborted.empty()});
  return out;
}

std::map<std::string, std::string> colours(const std::vector<fault_window>& faults) {
  std::set<std::string> types;
  for (const auto& fault : faults)
    types.insert(fault.type);
  std::map<std::string, std::string> out;
  for (const auto& type : types)
    out[type] = palette[out.size() % palette.size()];
  return out;
}

std::string swatch(const std::string& colour) {
  return fmt::format("<span class=\"swatch\" style=\"background:{}\"></span>", colour);
}

std::string recovery_rows(const nlohmann::json& by_type,
                          const std::map<std::string, std::string>& colour) {
  std::string out;
  for (const auto& [type, stats] : by_type.items()) {
    if (!stats.is_object())
      continue;
    auto it = colour.find(type);
    out += fmt::format(
        "<tr><td class=\"type\">{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
        it == colour.end() ? "" : swatch(it->second), html_escape(type),
        figure(stats.value("count", nlohmann::json())),
        figure(stats.value("recovered", nlohmann::json())),
        figure(stats.value("p50", nlohmann::json())), figure(stats.value("max", nlohmann::json())));
  }
  return out;
}

std::string fault_rows(std::vector<fault_window> faults,
                       const std::map<std::string, std::string>& colour) {
  std::stable_sort(faults.begin(), faults.end(),
                   [](const auto& a, const auto& b) { return a.start < b.start; });
  std::string out;
  for (const auto& f : faults) {
    auto recovery = recovery_ms(f);
    out += fmt::format("<tr><td class=\"type\">{}{}</td><td>{}</td><td "
                       "class=\"num\">{:.1f}</td><td class=\"num\">{:.1f}</td>"
                       "<td class=\"num{}\">{}</td><td class=\"detail\">{}</td></tr>\n",
                       swatch(colour.at(f.type)), html_escape(f.type), html_escape(f.target),
                       seconds(f.start), seconds(f.end), recovery ? "" : " bad",
                       recovery ? std::to_string(*recovery) + " ms" : "never",
                       f.detail.empty() ? "" : html_escape(dump(f.detail)));
  }
  return out;
}

std::string invariant_rows(const std::vector<invariant_result>& invariants) {
  std::string out;
  for (const auto& inv : invariants)
    out += fmt::format("<tr class=\"{0}\"><td>{1}</td><td><span class=\"badge {0}\">{2}</span>"
                       "</td><td class=\"detail\">{3}</td></tr>\n",
                       inv.passed ? "pass" : "fail", html_escape(inv.name),
                       inv.passed ? "PASS" : "FAIL", html_escape(inv.detail));
  return out;
}

nlohmann::json chart_data(const run_record& run, const std::map<std::string, std::string>& colour) {
  auto series = per_second(run);
  auto optional_list = [](const std::vector<std::optional<double>>& values) {
    auto out = nlohmann::json::array();
    for (const auto& v : values)
      out.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
    return out;
  };
  auto faults = nlohmann::json::array();
  for (const auto& f : run.faults)
    faults.push_back({{"type", f.type},
                      {"target", f.target},
                      {"start", seconds(f.start)},
                      {"end", seconds(std::max(f.end, f.start))},
                      {"recovered", f.recovered < 0 ? nlohmann::json(nullptr)
                                                    : nlohmann::json(seconds(f.recovered))}});
  return {{"ok", series.ok},
          {"failed", series.failed},
          {"p50", optional_list(series.p50_ms)},
          {"p99", optional_list(series.p99_ms)},
          {"faults", std::move(faults)},
          {"colours", colour},
          {"fault_phase_end", seconds(run.fault_phase_end)},
          {"finished", seconds(run.finished)}};
}

/// Replaces each @NAME@ of the template in one pass, so nothing substituted is read again.
std::string fill(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto open = text.find('@', pos);
    auto close = open == std::string_view::npos ? open : text.find('@', open + 1);
    if (close == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    auto it = values.find(std::string(text.substr(open + 1, close - open - 1)));
    if (it == values.end()) {
      out.append(text.substr(pos, close - pos));
      pos = close;
      continue;
    }
    out.append(text.substr(pos, open - pos)).append(it->second);
    pos = close + 1;
  }
  return out;
}

} // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

std::string report_html(const run_record& run, const nlohmann::json& result) {
  bool passed = field(result, "passed") == true;
  auto colour = colours(run.faults);
  auto recovery = field(result, "recovery_ms_by_fault_type");
  if (!recovery.is_object())
    recovery = recovery_by_type(run.faults);
  auto verdict = passed ? std::string("PASSED") : std::string("FAILED");
  std::string reason;
  if (!run.aborted.empty())
    reason = "Aborted: " + html_escape(run.aborted);
  else if (!passed)
    reason = "One or more invariants failed.";
  return fill(embedded::chaos_report_template,
              {{"TITLE", fmt::format("Chaos campaign {} — seed {}", verdict, run.seed)},
               {"VERDICT_CLASS", passed ? "pass" : "fail"},
               {"VERDICT", verdict},
               {"REASON", reason},
               {"SEED", std::to_string(run.seed)},
               {"FACTS", facts(run, result)},
               {"RECOVERY_ROWS", recovery_rows(recovery, colour)},
               {"FAULT_ROWS", fault_rows(run.faults, colour)},
               {"INVARIANT_ROWS", invariant_rows(run.invariants)},
               {"DATA", script_json(chart_data(run, colour))},
               {"SCRIPT", std::string(embedded::chaos_report_script)}});
}

} // namespace troupe::chaos_harness
