#include "sample_run.hpp"

namespace troupe::chaos_harness {

namespace {

constexpr micros ms = 1000;
constexpr micros s = 1000 * ms;

fault_window fault(std::string type, std::string target, micros start, micros end, micros recovered,
                   nlohmann::json detail = nlohmann::json::object()) {
  return {std::move(type), std::move(target), start, end, std::move(detail), recovered};
}

/// The window in which requests to `node` fail at `t`, if any.
const fault_window* failing(const std::vector<fault_window>& faults, const std::string& node,
                            micros t) {
  for (const auto& f : faults) {
    bool breaks = f.type == "kill" || f.type == "partition";
    if (breaks && f.target == node && t >= f.start && t < f.recovered)
      return &f;
  }
  return nullptr;
}

} // namespace

run_record sample_run() {
  run_record run;
  run.seed = 42;
  run.planned = 50 * s;
  run.fault_phase_end = 56 * s;
  run.finished = 60 * s;
  run.nodes = {"node-a", "node-b", "node-c"};
  run.converged_after_ms = 1800;
  run.faults = {
      fault("kill", "node-b", 10 * s, 14 * s, 15'500 * ms),
      fault("partition", "node-c", 30 * s, 40 * s, 41'200 * ms, {{"peers", "node-a,node-b"}}),
      fault("kill", "node-a", 44 * s, 46 * s, 47 * s),
      fault("latency", "db", 50 * s, 55 * s, -1, {{"delay_ms", 200}, {"note", "<b>slow</b>"}}),
  };
  const char* kinds[] = {"create_order", "get_order", "get_profile", "update_profile"};
  std::uint32_t state = 7;
  auto next = [&state] { return state = state * 1'103'515'245u + 12'345u; };
  for (int i = 0; i < 3000; ++i) {
    operation op;
    op.kind = kinds[i % 4];
    op.node = run.nodes[static_cast<std::size_t>(i) % run.nodes.size()];
    op.key = "k" + std::to_string(i % 97);
    op.sent = i * 20 * ms;
    op.status = 200;
    auto latency = (5 + static_cast<micros>((next() >> 16) % 30)) * ms;
    if (const auto* f = failing(run.faults, op.node, op.sent)) {
      // A killed node refuses at once; a partitioned one lets the client time out.
      bool kill = f->type == "kill";
      op.status = kill ? 0 : 503;
      latency = kill ? 1 * ms : 2 * s;
      op.detail = {{"error", kill ? "connection refused" : "upstream unavailable"}};
    }
    op.answered = op.sent + latency;
    run.operations.push_back(std::move(op));
  }
  run.invariants = {
      {"acknowledged_orders_final", true, "2210 acknowledged orders, all found final"},
      {"no_stale_reads", true, "0 stale reads in 744 profile reads"},
      {"no_duplicate_notifications", false,
       "2 duplicates, first: order k3 <script>alert(\"x\")</script> & more"},
      {"cluster_converged", true, "converged 1800 ms after the last fault"},
  };
  run.figures = {{"acknowledged_operations", 2210},
                 {"lost_operations", 0},
                 {"stale_reads", 0},
                 {"duplicate_notifications", 2},
                 {"error_window_after_kill_ms", {{"p50", 1500}, {"max", 5500}}},
                 {"grace_ms", 2000}};
  return run;
}

} // namespace troupe::chaos_harness
