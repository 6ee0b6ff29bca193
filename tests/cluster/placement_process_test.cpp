// Placement across real node processes sharing one PostgreSQL: every key through every
// node, kill -9 and SIGSTOP under a steady stream of writes (no acknowledged write lost,
// stale activations fenced), a graceful leave under load without a failed request, and a
// cluster stopping at once without any node waiting out its drain timeout.

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cluster/three_node_suite.hpp"
#include "support/cluster.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using clock = std::chrono::steady_clock;
using headers = std::map<std::string, std::string>;

/// A user as a client holds it: id and bearer header.
struct account {
  std::string id;
  headers auth;
};

/// What a writer saw for one user: its requests and the last value acknowledged.
struct writes {
  int sent = 0;
  int failed = 0;
  std::string last_acked;
  std::vector<std::pair<clock::time_point, int>> outcomes; // when, status
};

class placement_process : public three_node_suite {
protected:
  /// Registers `email` through node `via` and logs in through the next node.
  account new_account(const std::string& email, size_t via) {
    auto reg = node(via).node->send(
        "POST", "/v1/users",
        json{{"email", email}, {"password", "password-123"}, {"display_name", "v0"}}.dump());
    EXPECT_EQ(reg.status, 201) << reg.body << reg.error;
    auto login = node((via + 1) % 3)
                     .node->send("POST", "/v1/auth/login",
                                 json{{"email", email}, {"password", "password-123"}}.dump());
    EXPECT_EQ(login.status, 200) << login.body;
    return {parse(reg).value("id", ""),
            {{"Authorization", "Bearer " + parse(login).value("access_token", "")}}};
  }

  std::vector<account> accounts(size_t n) {
    std::vector<account> out;
    for (size_t i = 0; i < n; ++i)
      out.push_back(new_account("u" + std::to_string(i) + "@example.org", i % 3));
    return out;
  }

  /// The node that owns `id` now: the one whose user region activated it.
  int activations_on(size_t i) {
    return static_cast<int>(
        test_cluster::metric(node(i), "troupe_entity_activations_total{kind=\"user\"}"));
  }

  /// Renames `a` through node `via`; returns the status.
  static int rename(test_cluster::member& via, const account& a, const std::string& name) {
    return via.node->send("PATCH", "/v1/users/" + a.id, json{{"display_name", name}}.dump(), a.auth)
        .status;
  }

  /// The display name of `a` read through node `via` ("" if the read failed).
  static std::string name_of(test_cluster::member& via, const account& a) {
    auto r = via.node->get("/v1/users/" + a.id, a.auth);
    return r.status == 200 ? parse(r).value("display_name", "") : "";
  }

  /// Renames every account in turn through nodes n1 and n2 until `stop`; then keeps going
  /// until each account's last write was acknowledged, so the final state is known.
  void write_until(const std::vector<account>& users, std::atomic<bool>& stop,
                   std::vector<writes>& seen) {
    seen.assign(users.size(), {});
    int round = 0;
    auto done = [&] {
      if (!stop.load())
        return false;
      for (const auto& w : seen)
        if (w.outcomes.empty() || w.outcomes.back().second != 200)
          return false;
      return true;
    };
    while (!done()) {
      ++round;
      for (size_t i = 0; i < users.size(); ++i) {
        auto value = "r" + std::to_string(round);
        auto status = rename(node(round % 2), users[i], value);
        auto& w = seen[i];
        ++w.sent;
        w.outcomes.emplace_back(clock::now(), status);
        if (status == 200)
          w.last_acked = value;
        else
          ++w.failed;
      }
    }
  }

  /// Reads every account through every node, so each node holds activations of its keys.
  void read_everywhere(const std::vector<account>& users) {
    for (size_t i = 0; i < 3; ++i)
      for (const auto& u : users)
        EXPECT_FALSE(name_of(node(i), u).empty()) << node(i).name;
  }

  /// Live user activations on node `i`.
  int active_on(size_t i) {
    return static_cast<int>(test_cluster::metric(node(i), "troupe_entities_active{kind=\"user\"}"));
  }

  /// Waits (bounded) for node `i`, signalled at `since`, to exit; returns its exit code and
  /// how long it took from `since`.
  std::pair<std::optional<int>, clock::duration> exit_of(size_t i, clock::time_point since) {
    auto code = node(i).node->proc.wait_exit(30s);
    return {code, clock::now() - since};
  }
};

/// The default --drain-timeout-ms: a node that waits for a taker of its keys waits this long.
constexpr auto drain_timeout = 10s;

TEST_F(placement_process, every_key_is_reachable_through_every_node_and_owners_spread) {
  // Owners are random (rendezvous hashing over random ids): with 36 keys the chance that one
  // of three nodes owns none is 3·(2/3)^36 ≈ 1e-6; with 12 it was 2 %, and CI met it.
  auto users = accounts(36);
  for (const auto& u : users)
    for (size_t via = 0; via < 3; ++via) {
      auto r = node(via).node->get("/v1/users/" + u.id, u.auth);
      EXPECT_EQ(r.status, 200) << node(via).name << " " << r.body;
    }
  for (size_t i = 0; i < 3; ++i)
    EXPECT_GT(activations_on(i), 0) << node(i).name << " owns none of 36 users";
  EXPECT_EQ(activations_on(0) + activations_on(1) + activations_on(2), 36)
      << "each user is activated once, on its owner, however many nodes it was read through";
}

TEST_F(placement_process, kill_9_under_writes_moves_the_keys_and_loses_no_acknowledged_write) {
  auto users = accounts(9);
  std::atomic<bool> stop{false};
  std::vector<writes> seen;
  std::thread writer{[&] { write_until(users, stop, seen); }};
  std::this_thread::sleep_for(1s);
  auto killed_at = clock::now();
  node(2).node->proc.signal(SIGKILL);
  auto down = test_cluster::await_state(node(0), "n3", "down", 1s);
  std::this_thread::sleep_for(3s);
  stop = true;
  writer.join();
  ASSERT_TRUE(down) << "n1 did not mark n3 down within 1 s";
  for (size_t i = 0; i < users.size(); ++i) {
    const auto& w = seen[i];
    for (const auto& [when, status] : w.outcomes) {
      if (when > killed_at + 2s) {
        EXPECT_EQ(status, 200) << "user " << i << ": a write failed more than 2 s after the kill";
      }
    }
    EXPECT_EQ(name_of(node(0), users[i]), w.last_acked) << "user " << i;
    EXPECT_EQ(name_of(node(1), users[i]), w.last_acked) << "user " << i;
  }
}

TEST_F(placement_process, a_frozen_node_is_fenced_and_serves_fresh_state_when_it_thaws) {
  auto users = accounts(9);
  for (const auto& u : users) // activate every user on its owner
    ASSERT_EQ(rename(node(0), u, "before"), 200);
  node(2).node->proc.signal(SIGSTOP);
  auto down = test_cluster::await_state(node(0), "n3", "down", 2s);
  if (!down)
    node(2).node->proc.signal(SIGCONT);
  ASSERT_TRUE(down) << "n1 did not mark the frozen n3 down";
  // While n3 sleeps with its activations, its users are written elsewhere.
  for (const auto& u : users)
    EXPECT_EQ(rename(node(0), u, "during"), 200);
  node(2).node->proc.signal(SIGCONT);
  // Views agree again: every node saw a peer come back and reloaded its activations. (Until
  // then a read through a node that has not seen n3 return may still be served by an
  // activation made during the freeze; writes are fenced either way.)
  // A node may briefly show a peer up on a new connection before the old one's loss is
  // noticed; the views count as settled once they agree over several polls.
  auto settled_by = clock::now() + 15s;
  for (int agreeing = 0; agreeing < 5 && clock::now() < settled_by;) {
    auto problem = cluster_->await_all_up(1s);
    agreeing = problem ? 0 : agreeing + 1;
    std::this_thread::sleep_for(100ms);
  }
  auto problem = cluster_->await_all_up();
  ASSERT_FALSE(problem) << "n3 did not rejoin: " << *problem;
  // No read answers from the stale state, whichever node it goes through, and writes work.
  for (const auto& u : users)
    for (size_t via = 0; via < 3; ++via)
      EXPECT_EQ(name_of(node(via), u), "during") << node(via).name;
  for (const auto& u : users) {
    EXPECT_EQ(rename(node(2), u, "after"), 200);
    EXPECT_EQ(name_of(node(1), u), "after");
  }
}

TEST_F(placement_process, a_graceful_leave_under_writes_loses_nothing_acknowledged) {
  auto users = accounts(9);
  std::atomic<bool> stop{false};
  std::vector<writes> seen;
  std::thread writer{[&] { write_until(users, stop, seen); }};
  std::this_thread::sleep_for(1s);
  node(2).node->proc.signal(SIGTERM);
  auto code = node(2).node->proc.wait_exit(15s);
  std::this_thread::sleep_for(1s);
  stop = true;
  writer.join();
  ASSERT_TRUE(code) << "n3 did not stop within 15 s";
  EXPECT_EQ(*code, 0) << node(2).node->proc.err();
  EXPECT_TRUE(node(2).node->proc.err().find("drained") != std::string::npos);
  // Drained, it told both peers, and they took over without waiting out its lease.
  EXPECT_NE(node(2).node->proc.err().find("has drained; telling 2 peers"), std::string::npos)
      << node(2).node->proc.err();
  for (size_t i = 0; i < 2; ++i)
    EXPECT_NE(node(i).node->proc.err().find("drained: no wait for its lease"), std::string::npos)
        << node(i).node->proc.err();
  int failed = 0;
  for (const auto& w : seen)
    failed += w.failed;
  // Each of the leave's two view changes (leaving, then down) makes every lease form again;
  // a write whose commit lands in that gap of about 100 ms is not acknowledged (503, "may or
  // may not have been stored"). The one writer has one write in flight at a time, so at most
  // one fails per view change. Every node's log, the leaving one's too, shows any other.
  EXPECT_LE(failed, 2) << "requests failed during the leave" << node(0).node->proc.err()
                       << "\n---\n"
                       << node(1).node->proc.err() << "\n--- n3\n"
                       << node(2).node->proc.err();
  EXPECT_EQ(test_cluster::state_of(node(0), "n3").first, "down");
  for (size_t i = 0; i < users.size(); ++i)
    EXPECT_EQ(name_of(node(0), users[i]), seen[i].last_acked);
}

TEST_F(placement_process, every_node_stopped_at_once_exits_long_before_the_drain_timeout) {
  auto users = accounts(6);
  read_everywhere(users);
  auto since = clock::now();
  for (size_t i = 0; i < 3; ++i)
    node(i).node->proc.signal(SIGTERM);
  for (size_t i = 0; i < 3; ++i) {
    auto [code, took] = exit_of(i, since);
    ASSERT_TRUE(code) << node(i).name << " did not stop";
    EXPECT_EQ(*code, 0) << node(i).node->proc.err();
    EXPECT_LT(took, drain_timeout / 2) << node(i).name << " waited for a taker of its keys\n"
                                       << node(i).node->proc.err();
    EXPECT_NE(node(i).node->proc.err().find("drained (0 activations left)"), std::string::npos)
        << node(i).node->proc.err();
  }
}

TEST_F(placement_process, the_last_node_up_drains_without_waiting_for_a_taker) {
  auto users = accounts(6);
  for (size_t i = 0; i < 2; ++i)
    node(i).node->proc.signal(SIGTERM);
  for (size_t i = 0; i < 2; ++i) {
    auto code = node(i).node->proc.wait_exit(30s);
    ASSERT_TRUE(code) << node(i).name << " did not stop";
    EXPECT_EQ(*code, 0) << node(i).node->proc.err();
    ASSERT_TRUE(test_cluster::await_state(node(2), node(i).name, "down"))
        << test_cluster::view(node(2)).dump();
  }
  // n3 alone owns every key now: its activations have nowhere to go when it leaves.
  for (const auto& u : users)
    EXPECT_EQ(name_of(node(2), u), "v0");
  ASSERT_GT(active_on(2), 0);
  auto since = clock::now();
  node(2).node->proc.signal(SIGTERM);
  auto [code, took] = exit_of(2, since);
  ASSERT_TRUE(code) << "n3 did not stop";
  EXPECT_EQ(*code, 0) << node(2).node->proc.err();
  EXPECT_LT(took, drain_timeout / 2) << node(2).node->proc.err();
  EXPECT_NE(node(2).node->proc.err().find("drained (0 activations left)"), std::string::npos)
      << node(2).node->proc.err();
}

} // namespace
} // namespace troupe::testing
