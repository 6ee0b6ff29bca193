// Stand-in for the report until its sources exist in this tree.
#include <fstream>

#include "report.hpp"

namespace troupe::chaos_harness {

nlohmann::json result_json(const run_record& run) {
  auto faults = nlohmann::json::array();
  for (const auto& w : run.faults)
    faults.push_back({{"type", w.type},
                      {"target", w.target},
                      {"start", w.start},
                      {"end", w.end},
                      {"recovered", w.recovered},
                      {"detail", w.detail}});
  return {{"seed", run.seed},
          {"aborted", run.aborted},
          {"converged_after_ms", run.converged_after_ms},
          {"operations", run.operations.size()},
          {"faults", faults},
          {"figures", run.figures}};
}

void write_outputs(const run_record& run, const std::filesystem::path& dir) {
  std::ofstream{dir / "result.json"} << result_json(run).dump(2) << "\n";
  std::ofstream{dir / "report.html"} << "<!doctype html><title>chaos</title><p>stand-in</p>\n";
}

} // namespace troupe::chaos_harness
