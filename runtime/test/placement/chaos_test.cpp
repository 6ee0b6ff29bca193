// Chaos message faults where placement sends a request to an entity, on the deterministic
// scheduler: a dropped request makes its caller time out, a duplicate reaches the entity twice
// with one answer, a delayed one arrives after the delay, and other kinds are left alone.

#include "fixture.hpp"
#include "troupe/chaos/faults.hpp"
#include "troupe/cluster/in_flight.hpp"
#include "troupe/cluster/shared_view.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/placement/locator.hpp"
#include "troupe/placement/region.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::placement {
namespace {

using namespace std::chrono_literals;
using supervision::test::ping_atom;

class chaos_test : public supervision::test::supervision_test {
protected:
  chaos_test() {
    kind_.name = "thing";
    kind_.idle_timeout = 2min;
    kind_.activate = [this](caf::event_based_actor* self, const entity_context& ctx) {
      return ctx.serve(self, caf::message_handler{[this, key = ctx.key()](ping_atom) {
                         log_->events.push_back("ping " + key);
                         return "pong " + key;
                       }});
    };
    region_ = spawn_region(sys_ref(), kind_, metrics_);
    keep(region_);
    names_->put("thing", region_);
    membership_.set_self(cluster::member_state::up, {});
    view_->publish(membership_, {});
    run();
  }

  void add(chaos::fault_type type, std::string kind, std::chrono::milliseconds delay = {}) {
    chaos::fault_spec s;
    s.type = type;
    s.duration = 1h;
    s.delay = delay;
    s.match.kind = std::move(kind);
    s.match.node = "a";
    s.match.message = "ping";
    ASSERT_TRUE(faults_->add(s));
  }

  std::shared_ptr<std::string> ping(const std::string& key) {
    auto out = std::make_shared<std::string>();
    keep(sys_ref().spawn([=, where = locator_](caf::event_based_actor* self) {
      ask_owner(
          self, where, "thing", key, 10s, std::make_tuple(ping_atom::value),
          [=](const std::string& reply) { *out += reply; },
          [=](const caf::error& err) { *out += "error: " + describe(err); });
    }));
    run();
    return out;
  }

  cluster::membership membership_{cluster::member{"a", "a-1", "127.0.0.1:1", {"things"}, {}, {}}};
  std::shared_ptr<cluster::shared_view> view_ = std::make_shared<cluster::shared_view>();
  std::shared_ptr<const locator> locator_ = std::make_shared<locator>(locator::config{
      view_, names_, {{"thing", "things"}}, std::make_shared<cluster::in_flight>()});
  std::shared_ptr<chaos::registry> faults_ = std::make_shared<chaos::registry>();
  chaos::install_guard installed_{faults_};
  entity_kind kind_;
  caf::actor region_;
};

TEST_F(chaos_test, without_a_fault_requests_go_through) {
  EXPECT_EQ(*ping("k1"), "pong k1");
  EXPECT_EQ(log_->take(), std::vector<std::string>{"ping k1"});
}

TEST_F(chaos_test, a_dropped_request_never_arrives_and_its_caller_times_out) {
  add(chaos::fault_type::drop, "thing");
  auto reply = ping("k1");
  EXPECT_EQ(*reply, "");
  advance(10s);
  EXPECT_EQ(*reply, "error: request_timeout");
  advance(2s);
  EXPECT_EQ(log_->take(), std::vector<std::string>{}) << "the entity never saw it";
}

TEST_F(chaos_test, a_duplicated_request_arrives_twice_and_is_answered_once) {
  add(chaos::fault_type::duplicate, "thing");
  EXPECT_EQ(*ping("k1"), "pong k1");
  EXPECT_EQ(log_->take(), (std::vector<std::string>{"ping k1", "ping k1"}));
}

TEST_F(chaos_test, a_delayed_request_arrives_after_the_delay) {
  add(chaos::fault_type::delay, "thing", 500ms);
  auto reply = ping("k1");
  EXPECT_EQ(*reply, "");
  advance(499ms);
  EXPECT_EQ(*reply, "") << "still held back";
  advance(1ms);
  EXPECT_EQ(*reply, "pong k1");
}

TEST_F(chaos_test, faults_for_another_kind_leave_requests_alone) {
  add(chaos::fault_type::drop, "other");
  EXPECT_EQ(*ping("k1"), "pong k1");
}

TEST_F(chaos_test, the_region_lists_and_evicts_its_activations) {
  ping("b");
  ping("a");
  auto listed = std::make_shared<std::string>();
  keep(sys_ref().spawn([=, region = region_](caf::event_based_actor* self) {
    self->request(region, 1s, entities_atom::value, uint64_t{1})
        .then([=](uint64_t n, std::vector<std::string>& keys) {
          *listed = std::to_string(n) + ":" + (keys.empty() ? "" : keys.front()) + ":" +
                    std::to_string(keys.size());
        });
  }));
  run();
  EXPECT_EQ(*listed, "2:a:1");
  auto evicted = std::make_shared<int>(-1);
  keep(sys_ref().spawn([=, region = region_](caf::event_based_actor* self) {
    self->request(region, 1s, evict_atom::value, std::string{"a"}).then([=](bool b) {
      *evicted = b ? 1 : 0;
    });
  }));
  run();
  EXPECT_EQ(*evicted, 1);
  EXPECT_EQ(metrics_->counters("troupe_entity_crashes_total", "", {"kind"}).with({"thing"}).value(),
            1u);
  EXPECT_EQ(*ping("a"), "pong a") << "the next message activates it again";
}

} // namespace
} // namespace troupe::placement
