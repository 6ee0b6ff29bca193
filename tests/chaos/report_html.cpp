#include "report_html.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include <troupe/embedded/chaos_report_template.hpp>

#include "report_stats.hpp"

namespace troupe::chaos_harness {

namespace {

/// Distinct on screen and on paper, and none of them the red or green of failed and ok.
constexpr std::array<const char*, 10> palette = {"#7c3aed", "#d97706", "#0891b2", "#db2777",
                                                 "#65a30d", "#4f46e5", "#b45309", "#0d9488",
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
  if (value.is_object() && value.contains("p50") && value.contains("max"))
    return fmt::format("p50 {} · max {}", figure(value["p50"], unit), figure(value["max"], unit));
  auto text = value.is_string() ? value.get<std::string>() : dump(value);
  return unit.empty() ? text : text + " " + std::string(unit);
}

std::string fact(std::string_view label, const std::string& value, std::string_view css = "") {
  return fmt::format("<div class=\"fact {}\"><div class=\"label\">{}</div>"
                     "<div class=\"value\">{}</div></div>\n",
                     css, label, html_escape(value));
}

std::string facts(const run_record& run, const nlohmann::json& r) {
  auto bad = [&](const char* name) {
    return r[name].is_number() && r[name].get<double>() > 0 ? "bad" : "";
  };
  std::string out;
  out += fact("Seed", std::to_string(run.seed));
  out += fact("Duration", duration(run.finished / 1000));
  out += fact("Fault phase", duration(run.fault_phase_end / 1000));
  std::string nodes;
  for (const auto& node : run.nodes)
    nodes += (nodes.empty() ? "" : ", ") + node;
  out += fact(fmt::format("Nodes ({})", run.nodes.size()), nodes);
  out += fact("Faults injected", std::to_string(run.faults.size()));
  out += fact("Operations", std::to_string(run.operations.size()));
  out += fact("Acknowledged operations", figure(r["acknowledged_operations"]));
  out += fact("Lost operations", figure(r["lost_operations"]), bad("lost_operations"));
  out += fact("Stale reads", figure(r["stale_reads"]), bad("stale_reads"));
  out += fact("Duplicate notifications", figure(r["duplicate_notifications"]),
              bad("duplicate_notifications"));
  out += fact("Errors after a kill", figure(r["error_window_after_kill_ms"], "ms"));
  out += fact("Converged after", r["converged_after_ms"].is_null()
                                     ? std::string("never")
                                     : figure(r["converged_after_ms"], "ms"));
  out += fact("Aborted", run.aborted.empty() ? std::string("no") : run.aborted,
              run.aborted.empty() ? "" : "bad");
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
  bool passed = result.value("passed", false);
  auto colour = colours(run.faults);
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
               {"RECOVERY_ROWS", recovery_rows(result["recovery_ms_by_fault_type"], colour)},
               {"FAULT_ROWS", fault_rows(run.faults, colour)},
               {"INVARIANT_ROWS", invariant_rows(run.invariants)},
               {"DATA", script_json(chart_data(run, colour))}});
}

} // namespace troupe::chaos_harness
