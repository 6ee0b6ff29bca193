// The invariants and figures the run record alone decides: reads, errors, convergence.

#include <algorithm>
#include <map>

#include "checks.hpp"
#include "json_fields.hpp"
#include "offenders.hpp"

namespace troupe::chaos_harness {

namespace {

using json = nlohmann::json;

constexpr micros attribution_cap = 60'000'000;

bool failed(const operation& op) {
  return op.status == 0 || op.status >= 500;
}

bool in_prepare(const operation& op) {
  auto i = op.detail.find("phase");
  return i != op.detail.end() && *i == "prepare";
}

micros end_of(const fault_window& w) {
  return std::max(w.start, w.end);
}

std::string where(const operation& op) {
  return op.kind + " via " + op.node + " at " + seconds(op.sent) + " (" +
         (op.status ? std::to_string(op.status) : std::string{"no answer"}) + ")";
}

} // namespace

invariant_result check_reads(const run_record& run, json& figures) {
  // Per user, the acknowledged writes by the time their answer came.
  std::map<std::string, std::vector<std::pair<micros, std::int64_t>>> acks;
  for (const auto& op : run.operations) {
    if (op.kind == "update_profile" && op.status == 200)
      acks[op.key].emplace_back(op.answered, int_field(op.detail, "seq", -1));
    else if (op.kind == "register" && op.status == 201)
      acks[op.key].emplace_back(op.answered, 0);
  }
  for (auto& [user, list] : acks) {
    std::sort(list.begin(), list.end());
    // Keep the running maximum, so one search finds the newest write acknowledged before.
    for (std::size_t i = 1; i < list.size(); ++i)
      list[i].second = std::max(list[i].second, list[i - 1].second);
  }
  offenders stale;
  std::int64_t checked = 0, worst = 0;
  for (const auto& op : run.operations) {
    if (op.kind != "get_profile" || op.status != 200)
      continue;
    auto seq = int_field(op.detail, "seq", -1);
    auto a = acks.find(op.key);
    if (seq < 0 || a == acks.end())
      continue;
    ++checked;
    const auto& list = a->second;
    auto it = std::lower_bound(list.begin(), list.end(),
                               std::pair<micros, std::int64_t>{op.sent, INT64_MIN});
    if (it == list.begin())
      continue;
    auto [acked_at, required] = *std::prev(it);
    if (seq < required) {
      worst = std::max(worst, required - seq);
      stale.add("user " + op.key + " read seq " + std::to_string(seq) + " via " + op.node + " at " +
                seconds(op.sent) + ", " + std::to_string(required - seq) + " behind seq " +
                std::to_string(required) + " acknowledged " +
                std::to_string((op.sent - acked_at) / 1000) + " ms before");
    }
  }
  figures["stale_reads"] = stale.count();
  figures["reads_checked"] = checked;
  invariant_result r{"reads_never_go_backwards", stale.count() == 0, {}};
  r.detail = std::to_string(stale.count()) + " of " + std::to_string(checked) +
             " profile reads returned less than a write acknowledged before they were sent" +
             (stale.count() ? ", at worst " + std::to_string(worst) + " writes behind" : "") +
             stale.first() + ".";
  return r;
}

invariant_result check_errors(const run_record& run, json& figures) {
  offenders outside;
  std::int64_t errors = 0;
  micros grace = 0;
  for (const auto& op : run.operations) {
    if (!failed(op) || in_prepare(op))
      continue;
    ++errors;
    bool covered = false;
    bool overlaps = false;
    micros tail = -1; // after the end of the nearest window that ended before it was sent
    for (const auto& w : run.faults) {
      if (op.sent <= end_of(w) + grace_allowance && op.answered >= w.start)
        covered = true;
      if (op.sent <= end_of(w) && op.answered >= w.start)
        overlaps = true;
      else if (end_of(w) < op.sent && op.answered - end_of(w) <= attribution_cap)
        tail = tail < 0 ? op.answered - end_of(w) : std::min(tail, op.answered - end_of(w));
    }
    if (!overlaps && tail > 0)
      grace = std::max(grace, tail);
    if (!covered)
      outside.add(where(op));
  }
  figures["failed_requests"] = errors;
  figures["errors_outside_fault_windows"] = outside.count();
  figures["grace_ms"] = grace / 1000;
  invariant_result r{"no_5xx_outside_fault_windows", outside.count() == 0, {}};
  r.detail = std::to_string(outside.count()) + " of " + std::to_string(errors) +
             " failed requests (5xx or no answer) fell outside the fault windows extended by " +
             std::to_string(grace_allowance / 1000) + " ms" + outside.first() +
             "; the longest error tail after a window was " + std::to_string(grace / 1000) + " ms.";
  return r;
}

void measure_kill_windows(const run_record& run, json& figures) {
  std::vector<std::int64_t> windows;
  for (const auto& w : run.faults) {
    if (w.type != "kill")
      continue;
    // Errors belong to this kill until the next fault begins (or for a minute at most).
    auto until = w.start + attribution_cap;
    for (const auto& other : run.faults)
      if (&other != &w && other.start > w.start)
        until = std::min(until, other.start);
    micros last = w.start;
    for (const auto& op : run.operations)
      if (failed(op) && op.node != w.target && op.sent >= w.start && op.sent <= until)
        last = std::max(last, op.answered);
    windows.push_back((last - w.start) / 1000);
  }
  std::sort(windows.begin(), windows.end());
  json out{{"count", windows.size()}, {"p50", 0}, {"max", 0}};
  if (!windows.empty()) {
    out["p50"] = windows[(windows.size() - 1) / 2];
    out["max"] = windows.back();
  }
  figures["error_window_after_kill_ms"] = out;
}

invariant_result check_converged(const run_record& run) {
  invariant_result r{"cluster_converged", run.converged_after_ms >= 0, {}};
  r.detail = run.converged_after_ms >= 0
                 ? "every node saw every node up " + std::to_string(run.converged_after_ms) +
                       " ms after the last fault."
                 : std::string{"the cluster never converged after the last fault."};
  return r;
}

void count_operations(const run_record& run, json& figures) {
  std::int64_t acked = 0;
  std::map<std::string, std::int64_t> kinds;
  for (const auto& op : run.operations) {
    if (op.status >= 200 && op.status < 300)
      ++acked;
    ++kinds[op.kind];
  }
  figures["requests"] = run.operations.size();
  figures["acknowledged_operations"] = acked;
  figures["requests_by_kind"] = kinds;
}

} // namespace troupe::chaos_harness
