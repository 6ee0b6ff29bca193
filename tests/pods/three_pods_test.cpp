// Three Troupe pods and a PostgreSQL pod run from the rendered dev overlay with podman, in
// a network namespace of the test's own: the containers get exactly the env, volumes,
// security settings, probes and grace period the manifests say, and one DNS name for all
// three, as the headless Service gives them. The test plays the kubelet (probes, restarts)
// and a Service (only ready pods receive requests).

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pods/command.hpp"
#include "pods/kubelet.hpp"
#include "pods/manifests.hpp"
#include "pods/prepared.hpp"
#include "pods/sandbox.hpp"
#include "support/http_client.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using clock = std::chrono::steady_clock;
using headers = std::map<std::string, std::string>;

class three_pods : public ::testing::Test {
protected:
  static void SetUpTestSuite() { prep_ = new prepared(); }
  static void TearDownTestSuite() {
    delete prep_;
    prep_ = nullptr;
  }

  void SetUp() override {
    auto tag = "troupe-pods-" + std::to_string(::getpid());
    box_ = std::make_unique<pod_sandbox>(tag, 100 + ::getpid() % 150);
    const auto& m = prep_->objects;
    const auto& pg = m.get("StatefulSet", "postgres");
    pg_plan_ = plan_pod(m, pg, {"postgres-0", box_->address(10)}, box_->volumes());
    pg_plan_.image = postgres_image;
    box_->run(pg_plan_, box_->address(10), {"postgres"});
    const auto& deploy = m.get("Deployment", "troupe");
    peers_alias_ = m.get("ConfigMap", config_name()).at("data").value("TROUPE_SEED_DNS", "");
    for (int i = 0; i < 3; ++i) {
      auto name = "troupe-" + std::to_string(i + 1);
      auto ip = box_->address(21 + i);
      auto plan = plan_pod(m, deploy, {name, ip}, box_->volumes());
      plan.image = troupe_image;
      pods_.push_back({plan, ip});
    }
    ASSERT_TRUE(await_probe(*box_, pg_plan_.name, box_->address(10), *pg_plan_.readiness, 60s))
        << logs(pg_plan_.name);
    for (auto& p : pods_)
      box_->run(p.plan, p.ip, {peers_alias_});
    for (auto& p : pods_)
      ASSERT_TRUE(await_probe(*box_, p.plan.name, p.ip, *p.plan.readiness, 60s))
          << p.plan.name << " never ready: " << logs(p);
  }

  void TearDown() override {
    if (HasFailure() || std::getenv("TROUPE_PODS_LOGS"))
      for (auto& p : pods_)
        std::cerr << "---- " << p.plan.name << "\n" << story(logs(p)) << "\n";
    service_.reset();
    box_.reset();
  }

  struct pod {
    pod_plan plan;
    std::string ip;
  };

  static std::string config_name() {
    for (const auto* cm : prep_->objects.all("ConfigMap"))
      if ((*cm)["metadata"]["name"].get<std::string>().starts_with("troupe-config"))
        return (*cm)["metadata"]["name"].get<std::string>();
    throw std::runtime_error("no troupe-config ConfigMap");
  }

  static std::string logs(const std::string& name) {
    auto r = run_command({"podman", "logs", name}, 30s);
    return r.out + r.err;
  }
  static std::string logs(const pod& p) { return logs(p.plan.name); }

  // A pod's log without its access lines (a stream of requests buries the cluster's own story),
  // its last 20 000 characters.
  static std::string story(const std::string& log) {
    std::istringstream in{log};
    std::string out, line;
    while (std::getline(in, line))
      if (line.find("\"msg\":\"http: ") == std::string::npos)
        out += line + "\n";
    return out.size() > 20000 ? out.substr(out.size() - 20000) : out;
  }

  uint16_t http_port(const pod& p) { return p.plan.ports.at("http"); }

  http_reply call(const pod& p, const std::string& method, const std::string& target,
                  const std::string& body = {}, headers h = {}) {
    if (!body.empty())
      h["Content-Type"] = "application/json";
    return http_call(p.ip, http_port(p), method, target, h, body, 5s);
  }

  json view(const pod& p) {
    auto r = call(
        p, "GET", "/admin/cluster", {},
        {{"Authorization",
          "Bearer " + prep_->objects.data_of("Secret", secret_name()).at("TROUPE_ADMIN_TOKEN")}});
    auto body = json::parse(r.body, nullptr, false);
    return body.is_object() ? body : json::object();
  }

  static std::string secret_name() {
    for (const auto* s : prep_->objects.all("Secret"))
      if ((*s)["metadata"]["name"].get<std::string>().starts_with("troupe-secrets"))
        return (*s)["metadata"]["name"].get<std::string>();
    throw std::runtime_error("no troupe-secrets Secret");
  }

  /// The states `p` sees, by member name.
  std::map<std::string, std::string> states(const pod& p) {
    std::map<std::string, std::string> out;
    for (const auto& member : view(p).value("members", json::array()))
      out[member.value("name", "")] = member.value("state", "");
    return out;
  }

  /// Polls until every pod sees every pod up, for at most `limit`.
  bool await_all_up(std::chrono::milliseconds limit) {
    auto deadline = clock::now() + limit;
    for (;;) {
      bool all = true;
      for (auto& p : pods_) {
        auto s = states(p);
        for (auto& q : pods_)
          all = all && s[q.plan.name] == "up";
      }
      if (all)
        return true;
      if (clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(100ms);
    }
  }

  /// Registers a user through `p` and logs in through `q`.
  std::pair<std::string, headers> new_user(const pod& p, const pod& q, const std::string& email) {
    auto reg =
        call(p, "POST", "/v1/users",
             json{{"email", email}, {"password", "password-123"}, {"display_name", "Pod"}}.dump());
    EXPECT_EQ(reg.status, 201) << reg.body << reg.error;
    auto login = call(q, "POST", "/v1/auth/login",
                      json{{"email", email}, {"password", "password-123"}}.dump());
    EXPECT_EQ(login.status, 200) << login.body << login.error;
    auto token = json::parse(login.body, nullptr, false);
    return {json::parse(reg.body, nullptr, false).value("id", ""),
            {{"Authorization",
              "Bearer " + (token.is_object() ? token.value("access_token", "") : "")}}};
  }

  /// Six users, each registered through one pod and logged in through the next (so their
  /// keys spread over every pod).
  std::vector<std::pair<std::string, headers>> users_across_pods(const std::string& tag) {
    std::vector<std::pair<std::string, headers>> users;
    for (size_t i = 0; i < 6; ++i)
      users.push_back(new_user(pods_[i % 3], pods_[(i + 1) % 3],
                               tag + "-" + std::to_string(i) + "@example.org"));
    return users;
  }

  /// What the kubelet does when a pod is deleted: preStop, SIGTERM, SIGKILL after the grace
  /// period; then the Deployment's replacement (here the same name and address) starts.
  void restart(pod& p) {
    service_->terminating(p.plan.name);
    std::this_thread::sleep_for(std::chrono::seconds(p.plan.pre_stop_seconds));
    box_->podman({"stop", "-t", std::to_string(p.plan.grace_seconds), p.plan.name});
    EXPECT_EQ(box_->exit_code(p.plan.name), 0) << p.plan.name << " did not exit 0 on SIGTERM";
    box_->podman({"start", p.plan.name});
    EXPECT_TRUE(await_probe(*box_, p.plan.name, p.ip, *p.plan.readiness, 60s))
        << p.plan.name << " not ready again";
    service_->ready_again(p.plan.name);
  }

  void start_service() {
    std::vector<service_view::endpoint> eps;
    for (auto& p : pods_)
      eps.push_back({p.plan.name, p.ip, *p.plan.readiness});
    service_ = std::make_unique<service_view>(*box_, eps, 250ms);
    auto deadline = clock::now() + 10s;
    while (service_->ready_count() < pods_.size() && clock::now() < deadline)
      std::this_thread::sleep_for(50ms);
    ASSERT_EQ(service_->ready_count(), pods_.size()) << "the Service never saw every pod ready";
  }

  static inline prepared* prep_ = nullptr;
  std::unique_ptr<pod_sandbox> box_;
  pod_plan pg_plan_;
  std::string peers_alias_;
  std::vector<pod> pods_;
  std::unique_ptr<service_view> service_;
};

TEST_F(three_pods, find_each_other_through_dns_alone_and_run_as_the_manifests_say) {
  for (auto& p : pods_) {
    EXPECT_EQ(p.plan.env.count("TROUPE_SEEDS"), 0u) << "discovery must be DNS alone";
    EXPECT_TRUE(p.plan.run_as_non_root && p.plan.run_as_user && *p.plan.run_as_user != 0);
    EXPECT_TRUE(p.plan.read_only_root);
  }
  ASSERT_FALSE(peers_alias_.empty()) << "the ConfigMap names no TROUPE_SEED_DNS";
  EXPECT_TRUE(await_all_up(30s)) << view(pods_[0]).dump();
  for (auto& p : pods_) {
    auto v = view(p);
    EXPECT_EQ(v.value("transport", ""), "mutual-tls") << v.dump();
    EXPECT_EQ(v.value("members", json::array()).size(), 3u) << v.dump();
  }
  // The process runs as the manifest's user, with a root file system it cannot write.
  auto id = box_->podman({"inspect", "--format", "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}",
                          pods_[0].plan.name});
  EXPECT_EQ(id, std::to_string(*pods_[0].plan.run_as_user) + ":" +
                    std::to_string(*pods_[0].plan.run_as_user) + " true\n");
}

TEST_F(three_pods, a_user_and_an_order_cross_pods_and_notify_once) {
  ASSERT_TRUE(await_all_up(30s));
  auto [id, auth] = new_user(pods_[0], pods_[2], "pod-buyer@example.org");
  auto me = call(pods_[2], "GET", "/v1/users/" + id, {}, auth);
  ASSERT_EQ(me.status, 200) << me.body;

  auto secrets = prep_->objects.data_of("Secret", secret_name());
  auto admin_login = call(pods_[1], "POST", "/v1/auth/login",
                          json{{"email", secrets.at("TROUPE_ADMIN_EMAIL")},
                               {"password", secrets.at("TROUPE_ADMIN_PASSWORD")}}
                              .dump());
  ASSERT_EQ(admin_login.status, 200) << admin_login.body;
  headers admin{
      {"Authorization", "Bearer " + json::parse(admin_login.body).value("access_token", "")}};
  auto stock = call(pods_[0], "PUT", "/v1/inventory/pod-apple", json{{"on_hand", 5}}.dump(), admin);
  ASSERT_EQ(stock.status, 200) << stock.body;

  auto order_headers = auth;
  order_headers["Idempotency-Key"] = "pods-order-1";
  auto order = call(pods_[1], "POST", "/v1/orders",
                    json{{"items", {{{"sku", "pod-apple"}, {"quantity", 2}}}},
                         {"payment", {{"method", "sim"}, {"token", "tok_ok"}}}}
                        .dump(),
                    order_headers);
  ASSERT_EQ(order.status, 201) << order.body;
  auto order_id = json::parse(order.body).value("id", "");

  auto deadline = clock::now() + 20s;
  std::string status;
  while (status != "confirmed" && clock::now() < deadline) {
    auto r = call(pods_[2], "GET", "/v1/orders/" + order_id, {}, auth);
    status = json::parse(r.body, nullptr, false).value("status", "");
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(status, "confirmed");

  // Welcome email, then the confirmation's email and push: three, each exactly once.
  std::multiset<std::pair<std::string, std::string>> seen;
  deadline = clock::now() + 20s;
  while (clock::now() < deadline) {
    auto r = call(pods_[0], "GET", "/v1/users/" + id + "/notifications?limit=100", {}, auth);
    auto body = json::parse(r.body, nullptr, false);
    seen.clear();
    for (const auto& n : body.value("items", json::array()))
      seen.emplace(n.value("subject", ""), n.value("channel", ""));
    if (seen.size() >= 3)
      break;
    std::this_thread::sleep_for(200ms);
  }
  std::multiset<std::pair<std::string, std::string>> expected{
      {"Order confirmed", "email"}, {"Order confirmed", "push"}, {"Welcome to Troupe", "email"}};
  EXPECT_EQ(seen, expected);
}

TEST_F(three_pods, a_killed_pod_is_marked_down_and_the_survivors_serve_until_it_rejoins) {
  ASSERT_TRUE(await_all_up(30s));
  auto users = users_across_pods("kill");
  auto killed_at = clock::now();
  box_->podman({"kill", "-s", "KILL", pods_[2].plan.name});
  for (int i = 0; i < 2; ++i) {
    auto deadline = killed_at + 1s;
    while (states(pods_[i])[pods_[2].plan.name] != "down" && clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    EXPECT_EQ(states(pods_[i])[pods_[2].plan.name], "down")
        << pods_[i].plan.name << " did not mark the killed pod down within 1 s";
  }
  for (auto& [id, auth] : users)
    for (int i = 0; i < 2; ++i) {
      auto r = call(pods_[i], "GET", "/v1/users/" + id, {}, auth);
      EXPECT_EQ(r.status, 200) << pods_[i].plan.name << " " << r.body << r.error;
    }
  // The kubelet restarts the container; it rejoins as a new incarnation.
  box_->podman({"start", pods_[2].plan.name});
  ASSERT_TRUE(await_probe(*box_, pods_[2].plan.name, pods_[2].ip, *pods_[2].plan.readiness, 60s));
  EXPECT_TRUE(await_all_up(30s)) << view(pods_[0]).dump();
  for (auto& [id, auth] : users) {
    auto r = call(pods_[2], "GET", "/v1/users/" + id, {}, auth);
    EXPECT_EQ(r.status, 200) << r.body << r.error;
  }
}

TEST_F(three_pods, a_rolling_restart_under_a_steady_stream_fails_no_request) {
  ASSERT_TRUE(await_all_up(30s));
  auto users = users_across_pods("roll");
  start_service();
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::vector<std::string> failures;
  std::thread stream{[&] {
    for (size_t i = 0; !stop; ++i) {
      auto ip = service_->pick();
      if (ip.empty()) {
        failures.push_back("no ready pod");
        std::this_thread::sleep_for(10ms);
        continue;
      }
      auto& [id, auth] = users[i % users.size()];
      auto r = http_call(ip, http_port(pods_[0]), "GET", "/v1/users/" + id, auth, {}, 5s);
      ++sent;
      if (r.status != 200)
        failures.push_back(ip + " " + std::to_string(r.status) + " " + r.body + r.error);
    }
  }};
  auto began = clock::now();
  for (auto& p : pods_) {
    restart(p);
    EXPECT_TRUE(await_all_up(30s)) << p.plan.name << " did not rejoin";
  }
  auto took = clock::now() - began;
  stop = true;
  stream.join();
  std::cout << "rolling restart of 3 pods: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms, "
            << sent.load() << " requests, " << failures.size() << " failed\n";
  RecordProperty("requests", sent.load());
  RecordProperty(
      "rollout_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_GT(sent.load(), 100);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
}

} // namespace
} // namespace troupe::testing
