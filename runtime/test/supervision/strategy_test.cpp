// Which children restart, in which order, for each strategy and restart type.

#include "fixture.hpp"

namespace troupe::supervision::test {
namespace {

using strings = std::vector<std::string>;

class strategy_test : public supervision_test {
protected:
  caf::actor start_abc(restart_strategy strategy) {
    auto sup =
        start(spec("sup", strategy,
                   {worker_child(log_, "a"), worker_child(log_, "b"), worker_child(log_, "c")}));
    EXPECT_EQ(log_->take(), (strings{"start a", "start b", "start c"}));
    return sup;
  }
};

TEST_F(strategy_test, one_for_one_restarts_only_the_failed_child) {
  start_abc(restart_strategy::one_for_one);
  auto old_b = live("b");
  crash("b");
  EXPECT_EQ(log_->take(), (strings{"stop b"}));
  advance(10ms);
  EXPECT_EQ(log_->take(), (strings{"start b"}));
  EXPECT_NE(live("b"), old_b);
  EXPECT_EQ(log_->starts["a"], 1);
  EXPECT_EQ(log_->starts["c"], 1);
}

TEST_F(strategy_test, one_for_all_stops_the_others_in_reverse_and_restarts_all_in_order) {
  start_abc(restart_strategy::one_for_all);
  crash("a");
  EXPECT_EQ(log_->take(), (strings{"stop a", "stop c", "stop b"}));
  advance(10ms);
  EXPECT_EQ(log_->take(), (strings{"start a", "start b", "start c"}));
}

TEST_F(strategy_test, rest_for_one_restarts_the_failed_child_and_those_started_after_it) {
  start_abc(restart_strategy::rest_for_one);
  crash("b");
  EXPECT_EQ(log_->take(), (strings{"stop b", "stop c"}));
  advance(10ms);
  EXPECT_EQ(log_->take(), (strings{"start b", "start c"}));
  EXPECT_EQ(log_->starts["a"], 1);
}

TEST_F(strategy_test, rest_for_one_failure_of_the_last_child_touches_no_sibling) {
  start_abc(restart_strategy::rest_for_one);
  crash("c");
  advance(10ms);
  EXPECT_EQ(log_->take(), (strings{"stop c", "start c"}));
}

struct restart_case {
  restart_type restart;
  bool after_crash;
  bool after_normal_exit;
};

class restart_type_test : public supervision_test,
                          public ::testing::WithParamInterface<restart_case> {};

TEST_P(restart_type_test, restart_follows_the_restart_type_under_every_strategy) {
  auto c = GetParam();
  for (auto strategy : {restart_strategy::one_for_one, restart_strategy::one_for_all,
                        restart_strategy::rest_for_one}) {
    SCOPED_TRACE(to_string(strategy));
    auto name = "w-" + to_string(strategy);
    start(spec("sup-" + to_string(strategy), strategy, {worker_child(log_, name, c.restart)}));
    crash(name);
    advance(10ms);
    EXPECT_EQ(log_->starts[name], c.after_crash ? 2 : 1);
    if (!c.after_crash) {
      EXPECT_TRUE(is(names_->lookup(name).error(), errc::not_found));
      continue;
    }
    caf::anon_send(live(name), finish_atom::value);
    run();
    advance(20ms);
    EXPECT_EQ(log_->starts[name], c.after_normal_exit ? 3 : 2);
  }
}

INSTANTIATE_TEST_SUITE_P(all, restart_type_test,
                         ::testing::Values(restart_case{restart_type::permanent, true, true},
                                           restart_case{restart_type::transient, true, false},
                                           restart_case{restart_type::temporary, false, false}),
                         [](const auto& info) { return to_string(info.param.restart); });

TEST_F(strategy_test, a_temporary_child_is_not_restarted_with_its_group) {
  start(spec("sup", restart_strategy::one_for_all,
             {worker_child(log_, "a"), worker_child(log_, "t", restart_type::temporary)}));
  log_->take();
  crash("a");
  advance(10ms);
  EXPECT_EQ(log_->take(), (strings{"stop a", "stop t", "start a"}));
}

TEST_F(strategy_test, an_exception_escaping_a_handler_is_a_crash) {
  start(spec("sup", restart_strategy::one_for_one,
             {worker_child(log_, "a", restart_type::transient)}));
  crash("a");
  advance(10ms);
  EXPECT_EQ(log_->starts["a"], 2);
}

TEST_F(strategy_test, a_failed_restart_counts_as_a_failure_and_is_retried_with_backoff) {
  start(spec("sup", restart_strategy::one_for_one, {worker_child(log_, "a")}));
  log_->failing_starts["a"] = 1;
  crash("a");
  advance(10ms); // first attempt refuses to start
  EXPECT_EQ(log_->starts["a"], 1);
  advance(19ms);
  EXPECT_EQ(log_->starts["a"], 1);
  advance(1ms); // second attempt after a doubled delay
  EXPECT_EQ(log_->starts["a"], 2);
  EXPECT_TRUE(live("a"));
}

TEST_F(strategy_test, a_child_that_cannot_start_fails_the_supervisor_start) {
  log_->failing_starts["c"] = 1;
  auto sup = spawn_supervisor(
      sys_ref(), spec("sup", restart_strategy::one_for_one,
                      {worker_child(log_, "a"), worker_child(log_, "b"), worker_child(log_, "c")}));
  auto reason = watch(sup);
  run();
  EXPECT_EQ(log_->take(), (strings{"start a", "start b", "stop b", "stop a"}));
  ASSERT_TRUE(reason->has_value());
  EXPECT_TRUE(is(**reason, errc::start_failed)) << describe(**reason);
  EXPECT_NE(describe(**reason).find("sup/c"), std::string::npos) << describe(**reason);
}

} // namespace
} // namespace troupe::supervision::test
