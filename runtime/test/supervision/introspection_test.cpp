// Name registration across restarts, the JSON tree, and the counters.

#include <nlohmann/json.hpp>

#include "fixture.hpp"

namespace troupe::supervision::test {
namespace {

class introspection_test : public supervision_test {};

TEST_F(introspection_test, a_name_always_resolves_to_the_live_incarnation) {
  start(spec("sup", restart_strategy::one_for_one, {worker_child(log_, "a")}));
  auto first = live("a");
  caf::anon_send(first, crash_atom::value);
  run();
  auto during = names_->lookup("a");
  ASSERT_FALSE(during);
  EXPECT_TRUE(is(during.error(), errc::restarting)) << describe(during.error());
  advance(10ms);
  auto second = live("a");
  EXPECT_NE(second, first);
  EXPECT_NE(second.id(), first.id());
}

TEST_F(introspection_test, a_name_is_marked_restarting_the_moment_the_child_dies) {
  start(spec("sup", restart_strategy::one_for_one, {worker_child(log_, "a")}));
  caf::anon_send(live("a"), crash_atom::value);
  // Run only the child, not the supervisor's reaction to its death.
  sched_ref().run_once();
  auto during = names_->lookup("a");
  ASSERT_FALSE(during);
  EXPECT_TRUE(is(during.error(), errc::restarting));
}

TEST_F(introspection_test, an_unknown_name_is_not_found) {
  auto missing = names_->lookup("nobody");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(is(missing.error(), errc::not_found));
}

TEST_F(introspection_test, the_tree_reports_every_level) {
  auto inner = spec("inner", restart_strategy::rest_for_one, {worker_child(log_, "w")});
  auto outer = spec("outer", restart_strategy::one_for_one,
                    {worker_child(log_, "a"), supervisor_child(inner)});
  outer.intensity = {5, 10s};
  auto sup = start(outer);
  crash("a"); // restart pending
  auto tree = nlohmann::json::parse(inspect(sup));
  EXPECT_EQ(tree["name"], "outer");
  EXPECT_EQ(tree["kind"], "supervisor");
  EXPECT_EQ(tree["strategy"], "one_for_one");
  EXPECT_EQ(tree["restart_budget_left"], 4);
  ASSERT_EQ(tree["children"].size(), 2u);
  auto a = tree["children"][0];
  EXPECT_EQ(a["name"], "a");
  EXPECT_EQ(a["state"], "restarting");
  EXPECT_TRUE(a["actor_id"].is_null());
  EXPECT_EQ(a["backoff_pending_ms"], 10);
  EXPECT_NE(a["last_failure"].get<std::string>().find("runtime_error"), std::string::npos)
      << a["last_failure"];
  auto in = tree["children"][1];
  EXPECT_EQ(in["kind"], "supervisor");
  EXPECT_EQ(in["strategy"], "rest_for_one");
  ASSERT_EQ(in["children"].size(), 1u);
  EXPECT_EQ(in["children"][0]["name"], "w");
  EXPECT_EQ(in["children"][0]["state"], "running");
  EXPECT_EQ(in["children"][0]["actor_id"], live("w").id());

  advance(10ms);
  tree = nlohmann::json::parse(inspect(sup));
  EXPECT_EQ(tree["children"][0]["state"], "running");
  EXPECT_EQ(tree["children"][0]["restarts"], 1);
  EXPECT_TRUE(tree["children"][0]["backoff_pending_ms"].is_null());
  EXPECT_EQ(tree["children"][0]["actor_id"], live("a").id());
}

TEST_F(introspection_test, restarts_are_counted_per_supervisor_and_child) {
  start(spec("sup", restart_strategy::one_for_all,
             {worker_child(log_, "a"), worker_child(log_, "b")}));
  crash("a");
  advance(10ms);
  EXPECT_EQ(restarts_metric("sup", "a"), 1u);
  EXPECT_EQ(restarts_metric("sup", "b"), 1u);
  auto text = metrics_->render();
  EXPECT_NE(text.find("troupe_supervisor_restarts_total{supervisor=\"sup\",child=\"a\"} 1"),
            std::string::npos)
      << text;
}

TEST_F(introspection_test, every_child_has_a_restart_series_at_zero_before_any_restart) {
  start(spec("sup", restart_strategy::one_for_one,
             {worker_child(log_, "a"), worker_child(log_, "b")}));
  auto text = metrics_->render();
  for (auto child : {"a", "b"})
    EXPECT_NE(
        text.find(std::string{"troupe_supervisor_restarts_total{supervisor=\"sup\",child=\""} +
                  child + "\"} 0\n"),
        std::string::npos)
        << text;
  EXPECT_NE(text.find("troupe_supervisor_escalations_total{supervisor=\"sup\"} 0\n"),
            std::string::npos)
      << text;
}

} // namespace
} // namespace troupe::supervision::test
