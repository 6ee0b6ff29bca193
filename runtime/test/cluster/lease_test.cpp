// The lease with simulated time: held only once every peer confirmed the same view, voided by a
// view change, late after a peer went down while it could still hold its own, and a new
// tenure after every gap.

#include <gtest/gtest.h>

#include "troupe/cluster/lease.hpp"
#include "troupe/cluster/membership.hpp"

namespace troupe::cluster {
namespace {

using namespace std::chrono_literals;
using clock = lease_keeper::clock;

class cluster_lease : public ::testing::Test {
protected:
  cluster_lease() { keeper.settle(false); }

  clock::time_point t0 = clock::time_point{} + 1h;
  lease_keeper keeper{300ms};
};

TEST_F(cluster_lease, none_is_held_before_every_known_peer_was_tried) {
  // A restarted node that has not reached its peers yet sees a view of itself alone.
  lease_keeper starting{300ms};
  starting.on_view("a", {}, t0);
  EXPECT_EQ(starting.publish(t0).at(t0), 0u);
  EXPECT_EQ(starting.publish(t0 + 1h).at(t0 + 1h), 0u);
  starting.settle(false); // it knew of no peer: a cluster of one
  EXPECT_NE(starting.publish(t0 + 1h).at(t0 + 1h), 0u);
}

TEST_F(cluster_lease, a_node_that_knew_of_peers_holds_none_alone_until_one_confirmed_it) {
  // Every dial attempt failed (a slow handshake proves nothing): its peers may be up and
  // answering for every key.
  lease_keeper restarted{300ms};
  restarted.on_view("c", {}, t0);
  restarted.settle(true);
  EXPECT_EQ(restarted.publish(t0 + 1h).at(t0 + 1h), 0u);
  restarted.on_view("abc", {"a/1", "b/1"}, t0 + 1h);
  restarted.on_answer("a/1", restarted.epoch(), t0 + 1h, "abc");
  restarted.on_answer("b/1", restarted.epoch(), t0 + 1h, "abc");
  EXPECT_NE(restarted.publish(t0 + 1h).at(t0 + 1h), 0u);
  restarted.on_view("c", {}, t0 + 1h + 100ms); // both died while it could hear them
  EXPECT_NE(restarted.publish(t0 + 1h + 100ms).at(t0 + 2h), 0u);
}

TEST_F(cluster_lease, a_node_alone_holds_it_for_good) {
  keeper.on_view("a", {}, t0);
  auto l = keeper.publish(t0);
  EXPECT_NE(l.at(t0), 0u);
  EXPECT_EQ(l.at(t0 + 24h), l.at(t0));
  EXPECT_EQ(keeper.publish(t0 + 1s).tenure, l.tenure) << "nothing changed";
}

TEST_F(cluster_lease, it_is_held_once_every_peer_confirmed_the_view_and_runs_out) {
  keeper.on_view("ab c", {"b/1", "c/1"}, t0);
  EXPECT_EQ(keeper.publish(t0).at(t0), 0u);
  auto epoch = keeper.epoch();
  keeper.on_answer("b/1", epoch, t0, "ab c");
  EXPECT_EQ(keeper.publish(t0 + 10ms).at(t0 + 10ms), 0u) << "c has not confirmed";
  keeper.on_answer("c/1", epoch, t0 + 5ms, "other view");
  EXPECT_EQ(keeper.publish(t0 + 10ms).at(t0 + 10ms), 0u) << "c sees another view";
  keeper.on_answer("c/1", epoch, t0 + 5ms, "ab c");
  auto l = keeper.publish(t0 + 10ms);
  EXPECT_NE(l.at(t0 + 10ms), 0u);
  EXPECT_EQ(l.until, t0 + 300ms) << "from the oldest question confirmed";
  EXPECT_EQ(l.at(t0 + 300ms), 0u);
}

TEST_F(cluster_lease, renewing_before_it_runs_out_keeps_the_tenure_a_gap_does_not) {
  keeper.on_view("v", {"b/1"}, t0);
  keeper.on_answer("b/1", keeper.epoch(), t0, "v");
  auto first = keeper.publish(t0 + 1ms);
  keeper.on_answer("b/1", keeper.epoch(), t0 + 100ms, "v");
  auto renewed = keeper.publish(t0 + 150ms);
  EXPECT_EQ(renewed.tenure, first.tenure);
  EXPECT_EQ(renewed.until, t0 + 400ms);
  keeper.on_answer("b/1", keeper.epoch(), t0 + 350ms, "v");
  auto late = keeper.publish(t0 + 500ms); // a reader may have seen it lapse at 400 ms
  EXPECT_NE(late.at(t0 + 500ms), 0u);
  EXPECT_NE(late.tenure, first.tenure);
}

TEST_F(cluster_lease, a_view_change_voids_every_confirmation) {
  keeper.on_view("v", {"b/1"}, t0);
  auto old_epoch = keeper.epoch();
  keeper.on_answer("b/1", old_epoch, t0, "v");
  auto held = keeper.publish(t0);
  EXPECT_NE(held.at(t0), 0u);
  keeper.on_view("w", {"b/1", "c/1"}, t0);
  EXPECT_EQ(keeper.publish(t0 + 1ms).at(t0 + 1ms), 0u);
  keeper.on_answer("b/1", old_epoch, t0 + 2ms, "w");
  keeper.on_answer("c/1", keeper.epoch(), t0 + 2ms, "w");
  EXPECT_EQ(keeper.publish(t0 + 3ms).at(t0 + 3ms), 0u) << "b's answer was to the old view";
  keeper.on_answer("b/1", keeper.epoch(), t0 + 3ms, "w");
  auto again = keeper.publish(t0 + 4ms);
  EXPECT_NE(again.at(t0 + 4ms), 0u);
  EXPECT_NE(again.tenure, held.tenure);
}

TEST_F(cluster_lease, it_waits_for_a_lost_peer_lease_to_run_out) {
  keeper.on_view("v", {"b/1", "c/1"}, t0);
  EXPECT_TRUE(keeper.on_question("c/1", "v", t0 + 100ms));
  EXPECT_FALSE(keeper.on_question("c/1", "other", t0 + 150ms)) << "no confirmation of another";
  keeper.on_view("v2", {"b/1"}, t0 + 1s); // c went down
  keeper.on_answer("b/1", keeper.epoch(), t0 + 1s, "v2");
  auto l = keeper.publish(t0 + 1s);
  EXPECT_EQ(l.from, t0 + 400ms) << "c may hold its lease until its last confirmation runs out";
  EXPECT_NE(l.at(t0 + 1s), 0u);
}

TEST_F(cluster_lease, a_peer_confirmed_just_before_it_went_down_delays_the_lease) {
  keeper.on_view("v", {"c/1"}, t0);
  keeper.on_answer("c/1", keeper.epoch(), t0, "v");
  EXPECT_NE(keeper.publish(t0).at(t0), 0u);
  keeper.on_question("c/1", "v", t0 + 50ms);
  keeper.on_view("alone", {}, t0 + 100ms); // c died
  auto l = keeper.publish(t0 + 100ms);
  EXPECT_EQ(l.at(t0 + 100ms), 0u);
  EXPECT_NE(l.at(t0 + 350ms), 0u);
  EXPECT_EQ(l.tenure, keeper.publish(t0 + 200ms).tenure) << "not held yet is no gap";
}

TEST_F(cluster_lease, a_peer_that_drained_and_released_is_not_waited_for_when_it_goes) {
  keeper.on_view("v", {"b/1", "c/1"}, t0);
  EXPECT_TRUE(keeper.on_question("c/1", "v", t0 + 100ms));
  keeper.on_release("c/1"); // c is leaving and holds nothing any more
  EXPECT_FALSE(keeper.on_question("c/1", "v", t0 + 150ms)) << "a released peer gets no lease";
  keeper.on_release("x/1");                  // not a member: ignored
  keeper.on_view("v2", {"b/1"}, t0 + 200ms); // c went down
  keeper.on_answer("b/1", keeper.epoch(), t0 + 200ms, "v2");
  EXPECT_NE(keeper.publish(t0 + 200ms).at(t0 + 200ms), 0u) << "no wait for c's confirmations";
  // Its next life is a new id: confirmed as any peer.
  keeper.on_view("v3", {"b/1", "c/2"}, t0 + 1s);
  EXPECT_TRUE(keeper.on_question("c/2", "v3", t0 + 1s));
}

TEST_F(cluster_lease, a_node_left_alone_under_its_lease_keeps_it_one_cut_off_first_does_not) {
  keeper.on_view("v", {"b/1"}, t0);
  keeper.on_answer("b/1", keeper.epoch(), t0, "v");
  keeper.publish(t0);
  keeper.on_view("alone", {}, t0 + 100ms); // b died while this node could hear it
  EXPECT_NE(keeper.publish(t0 + 100ms).at(t0 + 1h), 0u);

  lease_keeper thawed{300ms};
  thawed.settle(false);
  thawed.on_view("v", {"b/1"}, t0);
  thawed.on_answer("b/1", thawed.epoch(), t0, "v");
  thawed.publish(t0);
  thawed.on_view("alone", {}, t0 + 2s); // frozen for 2 s: b may own its keys by now
  EXPECT_EQ(thawed.publish(t0 + 2s).at(t0 + 2s), 0u);
  thawed.on_view("v", {"b/1"}, t0 + 3s);
  thawed.on_answer("b/1", thawed.epoch(), t0 + 3s, "v");
  EXPECT_NE(thawed.publish(t0 + 3s).at(t0 + 3s), 0u) << "b confirmed again";
}

TEST_F(cluster_lease, the_digest_covers_the_members_that_are_not_down) {
  membership a{member{"a", "a1", "", {"user"}, member_state::joining, {}}};
  a.set_self(member_state::up, t0);
  a.on_hello(member{"b", "b1", "", {"user"}, member_state::joining, {}}, t0);
  membership b{member{"b", "b1", "", {"user"}, member_state::joining, {}}};
  b.set_self(member_state::up, t0);
  b.on_hello(member{"a", "a1", "", {"user"}, member_state::joining, {}}, t0);
  EXPECT_EQ(view_digest(a), view_digest(b));
  a.on_hello(member{"c", "c1", "", {"user"}, member_state::joining, {}}, t0);
  a.on_down("c", "c1", t0 + 1s);
  EXPECT_EQ(view_digest(a), view_digest(b)) << "a down member does not count";
  b.on_down("a", "a1", t0 + 1s);
  EXPECT_NE(view_digest(a), view_digest(b));
}

} // namespace
} // namespace troupe::cluster
