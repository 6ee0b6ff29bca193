// Placement across nodes on the deterministic scheduler: the locator picks the owner from
// the cluster view, ask_owner goes to the local region or to the owner's inbound router,
// a request in flight to a node that goes down fails at once (and an idempotent one goes
// to the new owner), and a region passivates the keys it no longer owns.

#include <algorithm>

#include "fixture.hpp"
#include "troupe/cluster/in_flight.hpp"
#include "troupe/cluster/rendezvous.hpp"
#include "troupe/cluster/shared_view.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/placement/inbound.hpp"
#include "troupe/placement/locator.hpp"
#include "troupe/placement/region.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::placement {
namespace {

using namespace std::chrono_literals;
using supervision::test::ping_atom;

cluster::member node(std::string name) {
  auto incarnation = name + "-1";
  return cluster::member{std::move(name), incarnation, "127.0.0.1:1", {"things"}, {}, {}};
}

class owner_test : public supervision::test::supervision_test {
protected:
  owner_test() {
    kind_.name = "thing";
    kind_.idle_timeout = 2min;
    kind_.owned_here = [this](const std::string& key) { return locator_->owns("thing", key); };
    kind_.activate = [this](caf::event_based_actor* self, const entity_context& ctx) {
      log_->events.push_back("start " + ctx.key());
      self->attach_functor([log = log_, key = ctx.key()] { log->events.push_back("stop " + key); });
      return ctx.serve(
          self, caf::message_handler{[key = ctx.key()](ping_atom) { return "local pong " + key; }});
    };
    region_ = spawn_region(sys_ref(), kind_, metrics_);
    keep(region_);
    names_->put("thing", region_);
    // "b"'s inbound router: answers at once, or never (a node that froze mid-request).
    remote_ = sys_ref().spawn([this](caf::event_based_actor* self) -> caf::behavior {
      return {[this, self](forward_atom, const std::string&, const std::string& key,
                           const observability::trace_context&,
                           caf::message&) -> caf::result<std::string> {
        if (!remote_answers_)
          return self->make_response_promise<std::string>(); // never delivered
        ++remote_seen_;
        if (remote_refusals_ > 0) {
          --remote_refusals_;
          return make_error(errc::not_settled, "b holds no lease yet");
        }
        return "remote pong " + key;
      }};
    });
    keep(remote_);
    view_->publish(membership_, {});
    run();
  }

  /// The view of "a" (this node) with "b" up as well.
  void join_b() {
    membership_.on_hello(node("b"), {});
    view_->publish(membership_, {{"b", remote_}});
  }

  /// A key that rendezvous hashing gives to `owner` while "a" and "b" are up.
  static std::string key_of(const std::string& owner) {
    for (int i = 0;; ++i) {
      auto key = "k" + std::to_string(i);
      if (cluster::owner_of(key, {"a", "b"}) == owner)
        return key;
    }
  }

  /// Pings `key` through ask_owner; the reply or the error text lands in the slot.
  std::shared_ptr<std::string> ping(const std::string& key, retry_policy policy = {}) {
    auto out = std::make_shared<std::string>();
    keep(sys_ref().spawn([=, where = locator_](caf::event_based_actor* self) {
      ask_owner(
          self, where, "thing", key, 10s, std::make_tuple(ping_atom::value),
          [=](const std::string& reply) { *out = reply; },
          [=](const caf::error& err) { *out = "error: " + describe(err); }, policy);
    }));
    run();
    return out;
  }

  cluster::membership membership_{node("a")};
  std::shared_ptr<cluster::shared_view> view_ = std::make_shared<cluster::shared_view>();
  std::shared_ptr<cluster::in_flight> pending_ = std::make_shared<cluster::in_flight>();
  std::shared_ptr<const locator> locator_ =
      std::make_shared<locator>(locator::config{view_, names_, {{"thing", "things"}}, pending_});
  entity_kind kind_;
  caf::actor region_;
  caf::actor remote_;
  bool remote_answers_ = true;
  int remote_refusals_ = 0; // how many more requests "b" refuses as not settled
  int remote_seen_ = 0;
};

TEST_F(owner_test, without_an_up_host_nothing_is_routed) {
  // "a" is still joining: no member hosts "things" yet.
  EXPECT_EQ(*ping("k1"), "error: dependency_unavailable: no node that hosts things is up");
}

TEST_F(owner_test, a_node_alone_owns_every_key) {
  membership_.set_self(cluster::member_state::up, {});
  view_->publish(membership_, {});
  EXPECT_EQ(*ping("k1"), "local pong k1");
  EXPECT_EQ(*ping("k2"), "local pong k2");
}

TEST_F(owner_test, keys_of_another_node_go_to_its_inbound_router) {
  membership_.set_self(cluster::member_state::up, {});
  join_b();
  auto mine = key_of("a");
  auto theirs = key_of("b");
  EXPECT_EQ(*ping(mine), "local pong " + mine);
  EXPECT_EQ(*ping(theirs), "remote pong " + theirs);
  EXPECT_EQ(log_->take(), std::vector<std::string>{"start " + mine}) << "nothing activated here";
  EXPECT_EQ(pending_->waiting("b"), 0u) << "an answered request is forgotten";
}

TEST_F(owner_test, a_request_in_flight_to_a_node_that_goes_down_fails_at_once) {
  membership_.set_self(cluster::member_state::up, {});
  join_b();
  remote_answers_ = false;
  auto theirs = key_of("b");
  auto reply = ping(theirs);
  EXPECT_EQ(*reply, "") << "b holds the request";
  EXPECT_EQ(pending_->waiting("b"), 1u);
  EXPECT_EQ(pending_->fail("b", make_error(errc::node_down, "node b went down")), 1u);
  run();
  EXPECT_EQ(*reply, "error: node_down: node b went down") << "without waiting for the timeout";
}

TEST_F(owner_test, an_idempotent_request_whose_node_went_down_goes_to_the_new_owner) {
  membership_.set_self(cluster::member_state::up, {});
  join_b();
  remote_answers_ = false;
  auto theirs = key_of("b");
  auto reply = ping(theirs, retry_policy{true});
  // b goes down: the view loses it first (as the agent publishes), then its requests fail.
  membership_.on_down("b", "b-1", {});
  view_->publish(membership_, {});
  pending_->fail("b", make_error(errc::node_down, "node b went down"));
  run();
  EXPECT_EQ(*reply, "local pong " + theirs);
}

TEST_F(owner_test, a_request_refused_while_the_owner_settles_is_sent_again_after_a_pause) {
  membership_.set_self(cluster::member_state::up, {});
  join_b();
  remote_refusals_ = 2; // b's lease is not settled yet
  auto theirs = key_of("b");
  auto reply = ping(theirs); // not idempotent: nothing was processed, so it may still go again
  EXPECT_EQ(*reply, "") << "waits instead of failing at once";
  EXPECT_EQ(remote_seen_, 1);
  advance(25ms);
  EXPECT_EQ(remote_seen_, 2);
  EXPECT_EQ(*reply, "");
  advance(50ms); // the pause grows
  EXPECT_EQ(*reply, "remote pong " + theirs);
  EXPECT_EQ(remote_seen_, 3);
}

TEST_F(owner_test, a_request_never_settled_fails_within_its_timeout) {
  membership_.set_self(cluster::member_state::up, {});
  join_b();
  remote_refusals_ = 1000;
  auto reply = ping(key_of("b")); // 10 s to live
  for (int i = 0; i < 90; ++i)
    advance(100ms);
  EXPECT_EQ(*reply, "") << "still trying while time remains";
  for (int i = 0; i < 10; ++i)
    advance(100ms);
  EXPECT_NE(reply->find("not_settled"), std::string::npos) << *reply;
  EXPECT_LT(remote_seen_, 60) << "paused between sends, not a busy loop";
  EXPECT_GT(remote_seen_, 40);
}

TEST_F(owner_test, the_inbound_router_hands_a_forwarded_request_to_the_local_activation) {
  auto router = inbound_child(names_).start(sys_ref());
  ASSERT_TRUE(router);
  keep(*router);
  auto out = std::make_shared<std::string>();
  keep(sys_ref().spawn([=, r = *router](caf::event_based_actor* self) {
    self->request(r, 10s, forward_atom::value, std::string{"thing"}, std::string{"k7"},
                  observability::trace_context{}, caf::make_message(ping_atom::value))
        .then([=](const std::string& reply) { *out = reply; },
              [=](const caf::error& err) { *out = "error: " + describe(err); });
  }));
  run();
  EXPECT_EQ(*out, "local pong k7");
  auto unknown = std::make_shared<std::string>();
  keep(sys_ref().spawn([=, r = *router](caf::event_based_actor* self) {
    self->request(r, 10s, forward_atom::value, std::string{"nothing"}, std::string{"k7"},
                  observability::trace_context{}, caf::make_message(ping_atom::value))
        .then([=](const std::string& reply) { *unknown = reply; },
              [=](const caf::error& err) { *unknown = "error: " + describe(err); });
  }));
  run();
  EXPECT_NE(unknown->find("error:"), std::string::npos) << *unknown;
}

TEST_F(owner_test, a_region_passivates_the_keys_that_moved_away_and_keeps_the_rest) {
  membership_.set_self(cluster::member_state::up, {});
  view_->publish(membership_, {});
  auto stays = key_of("a");
  auto moves = key_of("b");
  ping(stays);
  ping(moves);
  log_->take();
  join_b(); // "b" joins: `moves` is its key now
  caf::anon_send(region_, rebalance_atom::value, false);
  run();
  EXPECT_EQ(log_->take(), std::vector<std::string>{"stop " + moves});
  EXPECT_EQ(*ping(moves), "remote pong " + moves);
  EXPECT_EQ(*ping(stays), "local pong " + stays) << "the same activation";
  EXPECT_TRUE(log_->take().empty());
}

TEST_F(owner_test, a_leaving_node_owns_nothing_even_with_no_host_left) {
  membership_.set_self(cluster::member_state::up, {});
  view_->publish(membership_, {});
  ping("k1");
  ping("k2");
  log_->take();
  // The last member leaves: nobody could take its keys, but holding them would keep its
  // drain waiting for activations that never passivate.
  membership_.set_self(cluster::member_state::leaving, {});
  view_->publish(membership_, {});
  EXPECT_FALSE(locator_->owns("thing", "k1"));
  caf::anon_send(region_, rebalance_atom::value, false);
  run();
  auto stopped = log_->take();
  std::sort(stopped.begin(), stopped.end());
  EXPECT_EQ(stopped, (std::vector<std::string>{"stop k1", "stop k2"}));
}

} // namespace
} // namespace troupe::placement
