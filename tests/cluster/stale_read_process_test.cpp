// Reads never go backwards across ownership changes: three node processes on one PostgreSQL,
// a writer and a reader per user sending each request to a random node, while one node after
// another is frozen (SIGSTOP) for 2 s and thawed. A read sent after a write was acknowledged
// must never return an older value, no acknowledged write may be lost, and reads keep
// succeeding most of the time.

#include <algorithm>
#include <atomic>
#include <csignal>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
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

/// Bound on one read: a read sent to the frozen node fails after it instead of hanging.
constexpr auto read_timeout = 1500ms;
/// Bound on one write: longer than a node takes to answer one, so a write the client gave up
/// on can never land after the next one was acknowledged.
constexpr auto write_timeout = 10s;

/// A user as a client holds it, and the highest value whose write was acknowledged.
struct account {
  std::string id;
  headers auth;
  std::atomic<int> acked{0};
};

/// One read as the reader saw it.
struct read_outcome {
  clock::time_point sent;
  size_t via = 0;
  bool ok = false;
  int floor = 0; // the highest value acknowledged before the read was sent
  int value = 0;
};

/// When node `node` was frozen and thawed.
struct freeze_window {
  size_t node = 0;
  clock::time_point stopped;
  clock::time_point resumed;
};

class stale_read_process : public three_node_suite {
protected:
  http_reply call(size_t via, const std::string& method, const account& a,
                  const std::string& body = {}) {
    auto h = a.auth;
    if (!body.empty())
      h["Content-Type"] = "application/json";
    auto limit = method == "GET" ? read_timeout : write_timeout;
    return http_call(node(via).node->port, method, "/v1/users/" + a.id, h, body,
                     std::chrono::duration_cast<std::chrono::milliseconds>(limit));
  }

  /// Registers users through every node in turn and logs each in.
  void make_accounts(std::deque<account>& out, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      auto email = "s" + std::to_string(i) + "@example.org";
      auto reg = node(i % 3).node->send(
          "POST", "/v1/users",
          json{{"email", email}, {"password", "password-123"}, {"display_name", "0"}}.dump());
      ASSERT_EQ(reg.status, 201) << reg.body << reg.error;
      auto login = node((i + 1) % 3)
                       .node->send("POST", "/v1/auth/login",
                                   json{{"email", email}, {"password", "password-123"}}.dump());
      ASSERT_EQ(login.status, 200) << login.body;
      auto& a = out.emplace_back();
      a.id = parse(reg).value("id", "");
      a.auth = {{"Authorization", "Bearer " + parse(login).value("access_token", "")}};
    }
  }

  /// Sets `a`'s display name to 1, 2, 3, ... through random nodes, each after the previous
  /// was answered, until `stop`; then until one more write is acknowledged.
  void write_until(account& a, std::atomic<bool>& stop, unsigned seed) {
    std::mt19937 pick{seed};
    int next = 0;
    bool last_ok = false;
    while (!stop.load() || !last_ok) {
      ++next;
      auto r = call(pick() % 3, "PATCH", a, json{{"display_name", std::to_string(next)}}.dump());
      last_ok = r.status == 200;
      if (last_ok)
        a.acked.store(next); // only this thread writes it, and values only grow
    }
  }

  /// Reads `a` through random nodes until `stop`, noting each outcome.
  void read_until(account& a, std::atomic<bool>& stop, unsigned seed,
                  std::vector<read_outcome>& out) {
    std::mt19937 pick{seed};
    while (!stop.load()) {
      read_outcome o;
      o.via = pick() % 3;
      o.floor = a.acked.load();
      o.sent = clock::now();
      auto r = call(o.via, "GET", a);
      o.ok = r.status == 200;
      if (o.ok)
        o.value = std::atoi(parse(r).value("display_name", "-1").c_str());
      out.push_back(o);
    }
  }
};

TEST_F(stale_read_process, no_read_returns_less_than_an_acknowledged_write_across_freezes) {
  std::deque<account> users;
  make_accounts(users, 8);
  std::atomic<bool> stop_reads{false};
  std::atomic<bool> stop_writes{false};
  std::vector<std::vector<read_outcome>> reads(users.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < users.size(); ++i) {
    threads.emplace_back([&, i] { write_until(users[i], stop_writes, 17 + i); });
    threads.emplace_back([&, i] { read_until(users[i], stop_reads, 91 + i, reads[i]); });
  }
  std::vector<freeze_window> freezes;
  auto start = clock::now();
  std::this_thread::sleep_for(1s);
  for (size_t round = 0; round < 3; ++round) {
    auto& w = freezes.emplace_back();
    w.node = (round + 2) % 3; // n3, n1, n2
    w.stopped = clock::now();
    node(w.node).node->proc.signal(SIGSTOP);
    std::this_thread::sleep_for(2s);
    node(w.node).node->proc.signal(SIGCONT);
    w.resumed = clock::now();
    std::this_thread::sleep_for(3s);
  }
  stop_reads = true;
  stop_writes = true;
  for (auto& t : threads)
    t.join();

  // A read counts towards "during" from the freeze until 1 s after the thaw.
  auto in_window = [&](const read_outcome& o, bool to_frozen_only) {
    for (const auto& w : freezes)
      if (o.sent >= w.stopped && o.sent < w.resumed + 1s)
        return !to_frozen_only || o.via == w.node;
    return false;
  };
  size_t stale = 0, worst = 0, total = 0;
  size_t during = 0, during_ok = 0, other = 0, other_ok = 0, to_frozen = 0;
  std::map<size_t, size_t> stale_via;
  for (const auto& rs : reads)
    for (const auto& o : rs) {
      ++total;
      if (o.ok && o.value < o.floor) {
        if (stale < 5)
          std::cout << "stale read through " << node(o.via).name << " at "
                    << std::chrono::duration_cast<std::chrono::milliseconds>(o.sent - start).count()
                    << " ms: " << o.value << " after " << o.floor << " was acknowledged\n";
        ++stale;
        ++stale_via[o.via];
        worst = std::max(worst, static_cast<size_t>(o.floor - o.value));
      }
      if (in_window(o, true)) {
        ++to_frozen; // the frozen node answers nothing: not counted either way
      } else if (in_window(o, false)) {
        ++during;
        during_ok += o.ok ? 1 : 0;
      } else {
        ++other;
        other_ok += o.ok ? 1 : 0;
      }
    }
  for (const auto& w : freezes)
    std::cout << node(w.node).name << " frozen from "
              << std::chrono::duration_cast<std::chrono::milliseconds>(w.stopped - start).count()
              << " ms to "
              << std::chrono::duration_cast<std::chrono::milliseconds>(w.resumed - start).count()
              << " ms\n";
  auto ratio = [](size_t ok, size_t n) { return n == 0 ? 1.0 : static_cast<double>(ok) / n; };
  std::cout << "reads: " << total << ", stale: " << stale << " (at most " << worst
            << " writes behind)";
  for (const auto& [via, n] : stale_via)
    std::cout << ", " << n << " through " << node(via).name;
  std::cout << "\nreads to live nodes succeeded: " << during_ok << "/" << during
            << " during the freezes (until 1 s after each thaw), " << other_ok << "/" << other
            << " otherwise; " << to_frozen << " sent to a frozen node\n";
  for (size_t i = 0; i < 3; ++i)
    std::cout << node(i).name << ": "
              << test_cluster::metric(node(i), "troupe_entity_activations_total{kind=\"user\"}")
              << " user activations, "
              << test_cluster::metric(node(i), "troupe_cluster_lease_tenures_total")
              << " lease tenures\n";
  RecordProperty("stale_reads", static_cast<int>(stale));

  std::string trail; // how each node saw the cluster, to tell which one answered from what
  if (stale > 0)
    for (size_t i = 0; i < 3; ++i) {
      std::istringstream lines{node(i).node->proc.err()};
      for (std::string line; std::getline(lines, line);)
        if (line.find("cluster:") != std::string::npos ||
            line.find("region:") != std::string::npos ||
            line.find("supervisor") != std::string::npos)
          trail += line + "\n";
    }
  EXPECT_EQ(stale, 0u) << "reads returned values older than an acknowledged write\n" << trail;
  EXPECT_GE(ratio(during_ok, during), 0.5) << "reads to live nodes mostly failed during freezes";
  EXPECT_GE(ratio(other_ok, other), 0.95) << "reads failed outside the freezes";
  // No acknowledged write is lost: once the views settle, every node reads the last one.
  auto problem = cluster_->await_all_up();
  ASSERT_FALSE(problem) << *problem;
  for (auto& u : users)
    for (size_t via = 0; via < 3; ++via) {
      std::string got;
      for (auto deadline = clock::now() + 5s; clock::now() < deadline;) {
        auto r = call(via, "GET", u);
        if (r.status == 200) {
          got = parse(r).value("display_name", "");
          break;
        }
        std::this_thread::sleep_for(50ms);
      }
      EXPECT_EQ(got, std::to_string(u.acked.load())) << u.id << " through " << node(via).name;
    }
}

} // namespace
} // namespace troupe::testing
