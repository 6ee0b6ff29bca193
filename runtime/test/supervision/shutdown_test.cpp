// Orderly shutdown: reverse start order, per-child timeouts, never a hang.

#include "fixture.hpp"

namespace troupe::supervision::test {
namespace {

using strings = std::vector<std::string>;

class shutdown_test : public supervision_test {};

TEST_F(shutdown_test, children_stop_in_reverse_start_order) {
  auto sup =
      start(spec("sup", restart_strategy::one_for_one,
                 {worker_child(log_, "a"), worker_child(log_, "b"), worker_child(log_, "c")}));
  auto reason = watch(sup);
  log_->take();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  EXPECT_EQ(log_->take(), (strings{"stop c", "stop b", "stop a"}));
  ASSERT_TRUE(reason->has_value());
  EXPECT_EQ(**reason, caf::exit_reason::user_shutdown);
  EXPECT_EQ(names_->size(), 0u);
}

TEST_F(shutdown_test, a_child_that_ignores_the_request_is_killed_at_its_timeout) {
  auto stubborn = worker_child(log_, "b", restart_type::permanent, on_shutdown::ignore);
  stubborn.shutdown_timeout = 2s;
  auto sup = start(spec("sup", restart_strategy::one_for_one,
                        {worker_child(log_, "a"), stubborn, worker_child(log_, "c")}));
  auto reason = watch(sup);
  log_->take();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  EXPECT_EQ(log_->take(), (strings{"stop c"}));
  advance(1999ms);
  EXPECT_TRUE(log_->take().empty()) << "b killed before its timeout";
  EXPECT_FALSE(reason->has_value());
  advance(1ms);
  EXPECT_EQ(log_->take(), (strings{"stop b", "stop a"}));
  EXPECT_TRUE(reason->has_value());
}

TEST_F(shutdown_test, a_whole_tree_stops_within_the_sum_of_its_timeouts) {
  auto deep = worker_child(log_, "deep", restart_type::permanent, on_shutdown::ignore);
  deep.shutdown_timeout = 3s;
  auto inner = spec("inner", restart_strategy::one_for_one, {worker_child(log_, "x"), deep});
  auto top_stubborn = worker_child(log_, "top", restart_type::permanent, on_shutdown::ignore);
  top_stubborn.shutdown_timeout = 1s;
  auto outer =
      spec("outer", restart_strategy::one_for_all, {supervisor_child(inner), top_stubborn});
  EXPECT_EQ(stop_budget(outer), 1s + stop_budget(inner) + 100ms);
  auto sup = start(outer);
  auto reason = watch(sup);
  log_->take();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  advance(1s); // top killed
  advance(3s); // deep killed, then x stops
  EXPECT_EQ(log_->take(), (strings{"stop top", "stop deep", "stop x"}));
  EXPECT_TRUE(reason->has_value());
}

TEST_F(shutdown_test, a_nested_supervisor_that_overruns_its_budget_is_killed_with_its_subtree) {
  auto deep = worker_child(log_, "deep", restart_type::permanent, on_shutdown::ignore);
  deep.shutdown_timeout = 10s;
  auto inner_child = supervisor_child(spec("inner", restart_strategy::one_for_one, {deep}));
  inner_child.shutdown_timeout = 1s; // shorter than what the subtree needs
  auto sup = start(spec("outer", restart_strategy::one_for_one, {inner_child}));
  auto reason = watch(sup);
  log_->take();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  advance(1s);
  EXPECT_EQ(log_->take(), (strings{"stop deep"}));
  EXPECT_TRUE(reason->has_value());
}

TEST_F(shutdown_test, killing_a_supervisor_kills_its_children) {
  auto sup = start(spec("sup", restart_strategy::one_for_one,
                        {worker_child(log_, "a"), worker_child(log_, "b")}));
  log_->take();
  caf::anon_send_exit(sup, caf::exit_reason::kill);
  run();
  auto events = log_->take();
  std::sort(events.begin(), events.end());
  EXPECT_EQ(events, (strings{"stop a", "stop b"}));
  EXPECT_EQ(names_->size(), 0u);
}

TEST_F(shutdown_test, a_pending_restart_is_cancelled_by_shutdown) {
  auto sup = start(spec("sup", restart_strategy::one_for_one, {worker_child(log_, "a")}));
  auto reason = watch(sup);
  crash("a");
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  advance(1s);
  EXPECT_EQ(log_->starts["a"], 1);
  EXPECT_TRUE(reason->has_value());
}

} // namespace
} // namespace troupe::supervision::test
