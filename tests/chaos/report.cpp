#include "report.hpp"

#include <fstream>
#include <map>
#include <stdexcept>

#include "report_html.hpp"
#include "report_stats.hpp"

namespace troupe::chaos_harness {

namespace {

/// The figures the invariant checks compute; the report shows null for one they did not.
constexpr const char* check_figures[] = {"acknowledged_operations", "lost_operations",
                                         "stale_reads", "duplicate_notifications",
                                         "error_window_after_kill_ms"};

void write_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out)
    throw std::runtime_error("cannot write " + path.string());
}

} // namespace

nlohmann::json result_json(const run_record& run) {
  auto out = run.figures.is_object() ? run.figures : nlohmann::json::object();
  bool all_passed = true;
  auto invariants = nlohmann::json::array();
  for (const auto& inv : run.invariants) {
    all_passed = all_passed && inv.passed;
    invariants.push_back({{"name", inv.name}, {"passed", inv.passed}, {"detail", inv.detail}});
  }
  std::map<std::string, std::size_t> by_type;
  for (const auto& fault : run.faults)
    ++by_type[fault.type];

  out["passed"] = all_passed && run.aborted.empty();
  out["seed"] = run.seed;
  out["aborted"] = run.aborted.empty() ? nlohmann::json(nullptr) : nlohmann::json(run.aborted);
  out["invariants"] = std::move(invariants);
  out["faults_injected"] = run.faults.size();
  out["faults_by_type"] = by_type;
  out["nodes"] = run.nodes;
  out["duration_ms"] = run.finished / 1000;
  out["fault_phase_ms"] = run.fault_phase_end / 1000;
  out["operations"] = run.operations.size();
  for (const auto* name : check_figures)
    if (!out.contains(name))
      out[name] = nullptr;
  if (!out.contains("converged_after_ms"))
    out["converged_after_ms"] = run.converged_after_ms < 0 ? nlohmann::json(nullptr)
                                                           : nlohmann::json(run.converged_after_ms);
  if (!out.contains("recovery_ms_by_fault_type"))
    out["recovery_ms_by_fault_type"] = recovery_by_type(run.faults);
  return out;
}

void write_outputs(const run_record& run, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  auto result = result_json(run);
  write_file(dir / "result.json",
             result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  write_file(dir / "report.html", report_html(run, result));
}

} // namespace troupe::chaos_harness
