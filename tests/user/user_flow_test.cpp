// The user domain end to end: a real troupe-node on a real PostgreSQL, driven over
// HTTP as a client app would, including what a hostile client would send.

#include <atomic>
#include <chrono>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/node.hpp"
#include "support/postgres_suite.hpp"
#include "troupe/auth/jwt.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string secret = "an-end-to-end-test-secret-of-32+chars";

class user_flow : public postgres_suite {
protected:
  void SetUp() override { start_node(); }

  void start_node() {
    node_ = std::make_unique<running_node>(std::vector<std::string>{
        "--store", "postgres", "--database-url", pg_->url(), "--jwt-secret", secret,
        "--admin-email", "root@example.org", "--admin-password", "admin-password-1",
        "--http-read-timeout-ms", "700", "--hash-threads", "2"});
    ASSERT_NE(node_->port, 0) << node_->proc.err();
    ASSERT_TRUE(node_->wait_ready()) << node_->proc.err();
  }

  http_reply post(const std::string& target, const json& body,
                  std::map<std::string, std::string> headers = {}) {
    return node_->send("POST", target, body.dump(), std::move(headers));
  }

  /// Registers a user and returns its JSON (fails the test otherwise).
  json register_user(const std::string& email, const std::string& password = "password-123",
                     const std::string& name = "Some One") {
    auto res =
        post("/v1/users", {{"email", email}, {"password", password}, {"display_name", name}});
    EXPECT_EQ(res.status, 201) << res.body << res.error;
    return json::parse(res.body, nullptr, false);
  }

  /// Logs in and returns the bearer header.
  std::map<std::string, std::string> login(const std::string& email,
                                           const std::string& password = "password-123") {
    auto res = post("/v1/auth/login", {{"email", email}, {"password", password}});
    EXPECT_EQ(res.status, 200) << res.body;
    auto body = json::parse(res.body, nullptr, false);
    return {{"Authorization", "Bearer " + body.value("access_token", std::string{})}};
  }

  static void expect_problem(const http_reply& res, int status) {
    EXPECT_EQ(res.status, status) << res.body;
    EXPECT_EQ(res.headers.count("content-type") ? res.headers.at("content-type") : "",
              "application/problem+json")
        << res.body;
    auto body = json::parse(res.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << res.body;
    EXPECT_EQ(body["status"], status);
    EXPECT_TRUE(body["type"].is_string() && body["title"].is_string()) << res.body;
  }

  static std::string unique_email(const std::string& tag) {
    static std::atomic<int> n{0};
    return tag + "-" + std::to_string(++n) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
           "@example.org";
  }

  std::unique_ptr<running_node> node_;
};

TEST_F(user_flow, register_login_read_update_delete) {
  auto email = unique_email("Flow");
  auto user = register_user("  " + email + " ", "password-123", "Flow User");
  ASSERT_TRUE(user.is_object());
  EXPECT_FALSE(user.contains("password_hash"));
  EXPECT_FALSE(user.contains("password"));
  EXPECT_EQ(user["email"], [&] {
    auto lower = email;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    return lower;
  }());
  EXPECT_EQ(user["role"], "user");
  auto id = user["id"].get<std::string>();

  auto login_res = post("/v1/auth/login", {{"email", email}, {"password", "password-123"}});
  ASSERT_EQ(login_res.status, 200) << login_res.body;
  auto token = json::parse(login_res.body);
  EXPECT_EQ(token["token_type"], "Bearer");
  EXPECT_GT(token["expires_in"].get<int>(), 0);
  std::map<std::string, std::string> auth{
      {"Authorization", "Bearer " + token["access_token"].get<std::string>()}};

  auto me = node_->get("/v1/users/me", auth);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json::parse(me.body)["id"], id);
  EXPECT_EQ(node_->get("/v1/users/" + id, auth).status, 200);

  auto renamed =
      node_->send("PATCH", "/v1/users/" + id, json{{"display_name", "Renamed"}}.dump(), auth);
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(json::parse(renamed.body)["display_name"], "Renamed");
  EXPECT_EQ(json::parse(renamed.body)["version"], 2);

  auto repass =
      node_->send("PATCH", "/v1/users/" + id, json{{"password", "new-password-456"}}.dump(), auth);
  ASSERT_EQ(repass.status, 200) << repass.body;
  expect_problem(post("/v1/auth/login", {{"email", email}, {"password", "password-123"}}), 401);
  auto auth2 = login(email, "new-password-456");

  auto deleted = node_->send("DELETE", "/v1/users/" + id, "", auth2);
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  // The token died with its user.
  expect_problem(node_->get("/v1/users/" + id, auth2), 401);
}

TEST_F(user_flow, owners_and_admins_only) {
  auto a = register_user(unique_email("owner-a"));
  auto b = register_user(unique_email("owner-b"));
  auto auth_a = login(a["email"]);
  expect_problem(node_->get("/v1/users/" + b["id"].get<std::string>(), auth_a), 403);
  expect_problem(node_->send("PATCH", "/v1/users/" + b["id"].get<std::string>(),
                             json{{"display_name", "x"}}.dump(), auth_a),
                 403);
  expect_problem(node_->send("DELETE", "/v1/users/" + b["id"].get<std::string>(), "", auth_a), 403);
  // The admin is ensured in the background after start; give it a bounded moment.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (post("/v1/auth/login", {{"email", "root@example.org"}, {"password", "admin-password-1"}})
                 .status != 200 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  auto admin = login("root@example.org", "admin-password-1");
  auto seen = node_->get("/v1/users/" + b["id"].get<std::string>(), admin);
  EXPECT_EQ(seen.status, 200) << seen.body;
  auto me = node_->get("/v1/users/me", admin);
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(json::parse(me.body)["role"], "admin");
}

TEST_F(user_flow, bad_input_gets_a_problem_and_changes_nothing) {
  auto email = unique_email("bad");
  expect_problem(node_->send("POST", "/v1/users", "{not json"), 400);
  expect_problem(node_->send("POST", "/v1/users", "[1,2]"), 400);
  expect_problem(
      post("/v1/users", {{"email", 42}, {"password", "password-123"}, {"display_name", "x"}}), 400);
  expect_problem(
      post("/v1/users", {{"email", email}, {"password", "short"}, {"display_name", "x"}}), 400);
  expect_problem(
      post("/v1/users",
           {{"email", "no-at-sign"}, {"password", "password-123"}, {"display_name", "x"}}),
      400);
  expect_problem(post("/v1/users", {{"email", email}, {"password", "password-123"}}), 400);
  expect_problem(node_->send("POST", "/v1/users", json{{"email", email}}.dump(),
                             {{"Content-Type", "text/plain"}}),
                 415);
  expect_problem(node_->send("POST", "/v1/users", std::string(2 * 1024 * 1024, 'x')), 413);
  expect_problem(node_->get("/v1/nothing-here"), 404);
  auto wrong_method = node_->send("PUT", "/v1/users", "{}");
  expect_problem(wrong_method, 405);
  EXPECT_EQ(wrong_method.headers["allow"], "POST");
  expect_problem(post("/v1/auth/login", {{"email", email}, {"password", "password-123"}}), 401);
  // Nothing of the above registered the email.
  register_user(email);
}

TEST_F(user_flow, a_duplicate_email_is_409_whatever_its_case) {
  auto email = unique_email("dup");
  register_user(email);
  auto upper = email;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  expect_problem(
      post("/v1/users", {{"email", upper}, {"password", "password-123"}, {"display_name", "x"}}),
      409);
}

TEST_F(user_flow, tokens_that_are_tampered_expired_or_unsigned_are_401) {
  auto user = register_user(unique_email("tok"));
  auto good = login(user["email"]);
  auto token = good["Authorization"].substr(7);
  auto id = user["id"].get<std::string>();
  auto with = [&](const std::string& t) {
    return node_->get("/v1/users/" + id, {{"Authorization", "Bearer " + t}});
  };
  EXPECT_EQ(with(token).status, 200);
  auto bad_sig = token;
  bad_sig.back() = bad_sig.back() == 'A' ? 'B' : 'A';
  expect_problem(with(bad_sig), 401);
  auth::jwt_codec other{{"a-different-secret-that-is-long-enough!!", 900s, 30s, "troupe"}};
  expect_problem(with(other.sign(id, "admin", std::chrono::system_clock::now())), 401);
  auth::jwt_codec same{{secret, 60s, 30s, "troupe"}};
  expect_problem(with(same.sign(id, "user", std::chrono::system_clock::now() - 1h)), 401);
  // {"alg":"none"} with the user's own claims and no signature.
  auto payload = token.substr(token.find('.') + 1);
  payload = payload.substr(0, payload.find('.'));
  expect_problem(with("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload + "."), 401);
  expect_problem(node_->get("/v1/users/" + id), 401);
  expect_problem(node_->get("/v1/users/" + id, {{"Authorization", "Basic Zm9vOmJhcg=="}}), 401);
}

TEST_F(user_flow, sql_metacharacters_and_non_ascii_survive_every_field) {
  auto email = "o'brien+\"x\";--ünï-" + unique_email("meta");
  auto name = "Robert'); DROP TABLE users;-- 🎭 Zoë \\ \" ' %s %n";
  auto password = "pä$$'; DELETE FROM users;--word";
  auto user = register_user(email, password, name);
  ASSERT_TRUE(user.is_object());
  EXPECT_EQ(user["display_name"], name);
  auto auth = login(email, password);
  auto me = node_->get("/v1/users/me", auth);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json::parse(me.body)["display_name"], name);
  EXPECT_EQ(node_->get("/v1/users/does-not-exist'--", auth).status, 404);
}

TEST_F(user_flow, fifty_concurrent_registrations_of_one_email_make_exactly_one_user) {
  auto email = unique_email("race");
  std::atomic<int> created{0}, conflicts{0}, other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 50; ++i)
    clients.emplace_back([&, i] {
      auto res = http_call(node_->port, "POST", "/v1/users", {{"Content-Type", "application/json"}},
                           json{{"email", email},
                                {"password", "password-123"},
                                {"display_name", "racer " + std::to_string(i)}}
                               .dump(),
                           30s);
      (res.status == 201 ? created : res.status == 409 ? conflicts : other)++;
    });
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(conflicts.load(), 49);
  EXPECT_EQ(other.load(), 0);
}

TEST_F(user_flow, a_client_that_never_finishes_its_headers_is_cut_off_on_time) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket sock{io};
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), node_->port});
  std::string partial = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  boost::asio::write(sock, boost::asio::buffer(partial));
  auto start = std::chrono::steady_clock::now();
  char buf[512];
  boost::system::error_code ec;
  // Blocks until the server closes (it may send a 408 first); bounded by the test timeout.
  while (!ec)
    sock.read_some(boost::asio::buffer(buf), ec);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, 3s) << "the server kept a stalled client for too long";
  EXPECT_GE(waited, 500ms) << "closed before the read timeout";
}

TEST_F(user_flow, every_response_carries_the_request_id_and_continues_the_trace) {
  auto res =
      node_->send("POST", "/v1/users", "{broken",
                  {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                   {"X-Request-Id", "client-req-7"}});
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.headers["x-request-id"], "client-req-7");
  auto tp = res.headers["traceparent"];
  EXPECT_EQ(tp.substr(0, 36), "00-4bf92f3577b34da6a3ce929d0e0e4736-") << tp;
  EXPECT_NE(tp.substr(36, 16), "00f067aa0ba902b7") << "a new span for this server";
  auto fresh = node_->get("/healthz");
  EXPECT_EQ(fresh.headers["traceparent"].size(), 55u);
  EXPECT_FALSE(fresh.headers["x-request-id"].empty());
}

TEST_F(user_flow, the_node_waits_for_its_database_and_recovers_from_losing_it) {
  throwaway_postgres db;
  db.stop();
  running_node node{{"--store", "postgres", "--database-url", db.url(), "--jwt-secret", secret}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  auto not_ready = node.get("/readyz");
  expect_problem(not_ready, 503);
  EXPECT_NE(not_ready.body.find("store"), std::string::npos) << not_ready.body;
  auto reg = [&](const std::string& email) {
    return node.send(
        "POST", "/v1/users",
        json{{"email", email}, {"password", "password-123"}, {"display_name", "D"}}.dump());
  };
  expect_problem(reg(unique_email("early")), 503);

  db.start();
  ASSERT_TRUE(node.wait_ready()) << node.proc.err();
  EXPECT_EQ(reg(unique_email("up")).status, 201);

  db.stop();
  auto lost = reg(unique_email("lost"));
  expect_problem(lost, 503);
  EXPECT_FALSE(lost.headers["retry-after"].empty());

  db.start();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  int status = 0;
  while (status != 201 && std::chrono::steady_clock::now() < deadline) {
    status = reg(unique_email("back")).status;
    if (status != 201)
      std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, 201) << "the node did not recover when the database returned";
  EXPECT_NE(node.proc.err().find("connect"), std::string::npos) << node.proc.err();
}

TEST_F(user_flow, users_survive_a_restart_of_the_node) {
  auto email = unique_email("persist");
  auto user = register_user(email, "password-123", "Persistent");
  node_->proc.signal(SIGTERM);
  ASSERT_EQ(node_->proc.wait_exit(10s), 0) << node_->proc.err();
  start_node();
  auto auth = login(email);
  auto me = node_->get("/v1/users/me", auth);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json::parse(me.body)["display_name"], "Persistent");
  EXPECT_EQ(json::parse(me.body)["id"], user["id"]);
}

} // namespace
} // namespace troupe::testing
