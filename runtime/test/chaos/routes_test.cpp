// The fault API without sockets: requests go straight to the router, actors run on CAF's
// test_coordinator.

#include "troupe/chaos/routes.hpp"

#include <atomic>
#include <optional>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "troupe/chaos/registry.hpp"
#include "troupe/http/response.hpp"
#include "troupe/http/router.hpp"
#include "troupe/placement/region.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::chaos {
namespace {

using boost::beast::http::field;
using http::status;
using http::verb;
using namespace std::chrono_literals;

struct test_config : caf::actor_system_config {
  test_config() { set("scheduler.policy", caf::atom("testing")); }
};

class routes_test : public ::testing::Test {
protected:
  routes_test() : sys_(cfg_) {}

  ~routes_test() override {
    for (auto& a : keep_)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    sched().run();
  }

  caf::scheduler::test_coordinator& sched() {
    return dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler());
  }

  void start(bool on) {
    chaos_context ctx;
    ctx.system = &sys_;
    if (on)
      ctx.faults = faults_;
    ctx.admin_token = "token";
    ctx.names = names_;
    ctx.crash = [this] { ++crashes_; };
    add_chaos_routes(router_, std::move(ctx));
  }

  http::response call(verb method, std::string target, std::optional<nlohmann::json> body = {},
                      bool authorized = true) {
    http::request req{method, target, 11};
    if (authorized)
      req.set(field::authorization, "Bearer token");
    if (body) {
      req.set(field::content_type, "application/json");
      req.body() = body->dump();
      req.prepare_payload();
    }
    std::optional<http::response> got;
    router_.dispatch(std::move(req),
                     http::responder{[&](http::response r) { got = std::move(r); }});
    sched().run();
    EXPECT_TRUE(got.has_value()) << target;
    return got ? std::move(*got) : http::response{};
  }

  static nlohmann::json json_of(const http::response& r) {
    return nlohmann::json::parse(r.body(), nullptr, false);
  }

  test_config cfg_;
  caf::actor_system sys_;
  std::shared_ptr<registry> faults_ = std::make_shared<registry>();
  std::shared_ptr<supervision::name_registry> names_ =
      std::make_shared<supervision::name_registry>();
  http::router router_;
  std::vector<caf::actor> keep_;
  std::atomic<int> crashes_{0};
};

TEST_F(routes_test, when_chaos_is_off_every_route_is_404_naming_the_switch) {
  start(false);
  for (auto [method, target] :
       {std::pair{verb::get, "/admin/chaos/faults"}, std::pair{verb::post, "/admin/chaos/faults"},
        std::pair{verb::delete_, "/admin/chaos/faults/1"},
        std::pair{verb::post, "/admin/chaos/reset"}}) {
    auto res = call(method, target);
    EXPECT_EQ(res.result(), status::not_found) << target;
    EXPECT_EQ(res[field::content_type], "application/problem+json");
    EXPECT_NE(json_of(res)["detail"].get<std::string>().find("--chaos"), std::string::npos);
  }
}

TEST_F(routes_test, every_route_needs_the_admin_token) {
  start(true);
  EXPECT_EQ(call(verb::get, "/admin/chaos/faults", {}, false).result(), status::unauthorized);
  EXPECT_EQ(call(verb::post, "/admin/chaos/reset", {}, false).result(), status::unauthorized);
}

TEST_F(routes_test, create_list_delete_and_reset) {
  start(true);
  auto created = call(verb::post, "/admin/chaos/faults",
                      nlohmann::json{{"type", "delay"},
                                     {"duration_ms", 60000},
                                     {"delay_ms", 100},
                                     {"probability", 0.5},
                                     {"match", {{"kind", "user"}, {"message", "fetch"}}}});
  ASSERT_EQ(created.result(), status::created) << created.body();
  auto fault = json_of(created);
  auto id = fault["id"].get<std::string>();
  EXPECT_EQ(fault["type"], "delay");
  EXPECT_EQ(fault["match"]["kind"], "user");
  EXPECT_EQ(fault["delay_ms"], 100);
  EXPECT_EQ(fault["probability"], 0.5);
  EXPECT_GT(fault["expires_in_ms"].get<int64_t>(), 59000);
  ASSERT_EQ(call(verb::post, "/admin/chaos/faults",
                 nlohmann::json{{"type", "store_fail"}, {"duration_ms", 1000}})
                .result(),
            status::created);
  auto listed = json_of(call(verb::get, "/admin/chaos/faults"));
  ASSERT_EQ(listed["faults"].size(), 2u);
  EXPECT_EQ(listed["faults"][0]["id"], id);
  EXPECT_EQ(listed["faults"][0]["hits"], 0);
  EXPECT_EQ(call(verb::delete_, "/admin/chaos/faults/" + id).result(), status::no_content);
  auto again = call(verb::delete_, "/admin/chaos/faults/" + id);
  EXPECT_EQ(again.result(), status::not_found);
  EXPECT_EQ(again[field::content_type], "application/problem+json");
  EXPECT_EQ(call(verb::delete_, "/admin/chaos/faults/abc").result(), status::not_found);
  EXPECT_EQ(json_of(call(verb::post, "/admin/chaos/reset"))["removed"], 1);
  EXPECT_EQ(json_of(call(verb::get, "/admin/chaos/faults"))["faults"].size(), 0u);
}

TEST_F(routes_test, invalid_input_is_400_naming_the_field) {
  start(true);
  auto detail_of = [this](nlohmann::json body) {
    auto res = call(verb::post, "/admin/chaos/faults", body);
    EXPECT_EQ(res.result(), status::bad_request) << body.dump();
    return json_of(res).value("detail", std::string{});
  };
  EXPECT_EQ(detail_of({{"duration_ms", 10}}).rfind("type", 0), 0u);
  EXPECT_EQ(detail_of({{"type", "melt"}, {"duration_ms", 10}}).rfind("type", 0), 0u);
  EXPECT_EQ(detail_of({{"type", "drop"}}).rfind("duration_ms", 0), 0u);
  EXPECT_EQ(detail_of({{"type", "drop"}, {"duration_ms", "10"}}).rfind("duration_ms", 0), 0u);
  EXPECT_EQ(detail_of({{"type", "drop"}, {"duration_ms", 0}}).rfind("duration_ms", 0), 0u);
  EXPECT_EQ(detail_of({{"type", "drop"}, {"duration_ms", 3600001}}).rfind("duration_ms", 0), 0u);
  EXPECT_EQ(detail_of({{"type", "drop"}, {"duration_ms", 10}, {"probability", 2}})
                .rfind("probability", 0),
            0u);
  EXPECT_EQ(detail_of({{"type", "delay"}, {"duration_ms", 10}}).rfind("delay_ms", 0), 0u);
  EXPECT_EQ(detail_of({{"type", "drop"}, {"duration_ms", 10}, {"match", {{"kin", "user"}}}})
                .rfind("match.kin", 0),
            0u);
  EXPECT_EQ(detail_of({{"type", "drop"}, {"duration_ms", 10}, {"colour", 1}}).rfind("colour", 0),
            0u);
  EXPECT_EQ(detail_of({{"type", "dependency_fail"}, {"duration_ms", 10}}).rfind("dependency", 0),
            0u);
  EXPECT_EQ(json_of(call(verb::get, "/admin/chaos/faults"))["faults"].size(), 0u);
}

TEST_F(routes_test, kill_entity_kills_the_live_activation_through_its_region) {
  start(true);
  placement::entity_kind kind;
  kind.name = "thing";
  kind.activate = [](caf::event_based_actor* self, const placement::entity_context& ctx) {
    return ctx.serve(self, caf::message_handler{[](int x) { return x; }});
  };
  auto region = placement::spawn_region(sys_, kind);
  keep_.push_back(region);
  names_->put("thing", region);
  caf::anon_send(region, placement::resolve_atom::value, std::string{"k1"});
  sched().run();
  auto body = nlohmann::json{{"type", "kill_entity"},
                             {"duration_ms", 1000},
                             {"match", {{"kind", "thing"}, {"key", "k1"}}}};
  auto res = call(verb::post, "/admin/chaos/faults", body);
  ASSERT_EQ(res.result(), status::created) << res.body();
  EXPECT_EQ(json_of(res)["killed"], true);
  EXPECT_EQ(json_of(res)["hits"], 1);
  auto twice = json_of(call(verb::post, "/admin/chaos/faults", body));
  EXPECT_EQ(twice["killed"], false) << "the killed one is gone";
  body["match"]["kind"] = "nothing";
  auto unknown = call(verb::post, "/admin/chaos/faults", body);
  EXPECT_EQ(unknown.result(), status::bad_request);
  EXPECT_EQ(json_of(call(verb::get, "/admin/chaos/faults"))["faults"].size(), 2u)
      << "the refused one was taken back";
}

TEST_F(routes_test, kill_actor_with_a_path_that_leads_nowhere_is_400) {
  start(true);
  auto res =
      call(verb::post, "/admin/chaos/faults",
           nlohmann::json{{"type", "kill_actor"}, {"duration_ms", 1000}, {"path", "/root/x"}});
  EXPECT_EQ(res.result(), status::bad_request);
  EXPECT_EQ(json_of(res)["detail"].get<std::string>().rfind("path", 0), 0u);
}

TEST_F(routes_test, crash_node_answers_first) {
  start(true);
  auto res = call(verb::post, "/admin/chaos/faults",
                  nlohmann::json{{"type", "crash_node"}, {"duration_ms", 1000}});
  EXPECT_EQ(res.result(), status::created);
  // The crash comes from a thread of its own after at least 100 ms.
  for (int i = 0; i < 200 && crashes_ == 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(crashes_, 1);
}

} // namespace
} // namespace troupe::chaos
