#include <gtest/gtest.h>

#include "recovery.hpp"

namespace troupe::chaos_harness {
namespace {

operation op(const std::string& node, micros sent, int status) {
  operation o;
  o.kind = "get_profile";
  o.node = node;
  o.sent = sent;
  o.answered = sent + 1000;
  o.status = status;
  return o;
}

TEST(recovery, the_first_steady_success_after_the_fault_ended) {
  run_record run;
  for (micros t = 0; t < 10000000; t += 100000)
    run.operations.push_back(op("node-1", t, t >= 3000000 && t < 5200000 ? 503 : 200));
  run.operations.push_back(op("node-2", 3500000, 200)); // another node does not count
  run.faults.push_back({"partition", "node-1", 3000000, 5000000, {}, -1});
  measure_recovery(run);
  EXPECT_EQ(run.faults[0].recovered, 5200000);
}

TEST(recovery, a_lone_success_between_failures_is_not_recovery) {
  run_record run;
  for (micros t = 0; t < 10000000; t += 100000)
    run.operations.push_back(
        op("node-1", t, t >= 2000000 && t < 6000000 && t != 4000000 ? 0 : 200));
  run.faults.push_back({"stop", "node-1", 2000000, 3000000, {}, -1});
  measure_recovery(run);
  EXPECT_EQ(run.faults[0].recovered, 6000000);
}

TEST(recovery, a_kill_counts_from_its_start_and_db_faults_from_any_node) {
  run_record run;
  run.operations.push_back(op("node-1", 1000000, 200));
  run.operations.push_back(op("node-2", 2500000, 200));
  run.faults.push_back({"kill", "node-1", 500000, 3000000, {}, -1});
  run.faults.push_back({"db_restart", "db", 2000000, 2400000, {}, -1});
  run.faults.push_back({"latency", "node-3", 0, 100, {}, -1});
  measure_recovery(run);
  EXPECT_EQ(run.faults[0].recovered, 1000000);
  EXPECT_EQ(run.faults[1].recovered, 2500000);
  EXPECT_EQ(run.faults[2].recovered, -1);
}

} // namespace
} // namespace troupe::chaos_harness
