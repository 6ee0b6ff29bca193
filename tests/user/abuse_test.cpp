// The HTTP front against an abusive client, end to end: a real troupe-node on a real
// PostgreSQL. Password guessing, connection hogging, NUL and broken UTF-8, tokens that
// outlive their user or password, tokens not valid yet, requests without Host.

#include <cerrno>
#include <chrono>
#include <memory>
#include <thread>

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "support/node.hpp"
#include "support/postgres_suite.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using headers = std::map<std::string, std::string>;
using steady = std::chrono::steady_clock;
namespace asio = boost::asio;

const std::string secret = "an-end-to-end-abuse-test-secret-32+chars";

class http_abuse : public postgres_suite {
protected:
  void start_node(std::vector<std::string> extra = {}) {
    std::vector<std::string> flags{"--store",          "postgres",         "--database-url",
                                   pg_->url(),         "--jwt-secret",     secret,
                                   "--admin-email",    "root@example.org", "--admin-password",
                                   "admin-password-1", "--hash-threads",   "2"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    node_ = std::make_unique<running_node>(flags);
    ASSERT_NE(node_->port, 0) << node_->proc.err();
    ASSERT_TRUE(node_->wait_ready()) << node_->proc.err();
  }

  http_reply post(const std::string& target, const json& body, headers h = {}) {
    return node_->send("POST", target, body.dump(), std::move(h));
  }

  http_reply try_login(const std::string& email, const std::string& password) {
    return post("/v1/auth/login", {{"email", email}, {"password", password}});
  }

  std::string register_user(const std::string& email) {
    auto res = post("/v1/users",
                    {{"email", email}, {"password", "password-123"}, {"display_name", "Abused"}});
    EXPECT_EQ(res.status, 201) << res.body;
    return json::parse(res.body, nullptr, false).value("id", std::string{});
  }

  static std::string token_of(const http_reply& login) {
    return json::parse(login.body, nullptr, false).value("access_token", std::string{});
  }

  headers bearer(const std::string& email, const std::string& password = "password-123") {
    auto res = try_login(email, password);
    EXPECT_EQ(res.status, 200) << res.body;
    return {{"Authorization", "Bearer " + token_of(res)}};
  }

  // The admin is ensured in the background after start: a bounded poll.
  headers admin() {
    auto until = steady::now() + 20s;
    while (try_login("root@example.org", "admin-password-1").status != 200 && steady::now() < until)
      std::this_thread::sleep_for(50ms);
    return bearer("root@example.org", "admin-password-1");
  }

  static json problem(const http_reply& res, int status) {
    EXPECT_EQ(res.status, status) << res.body;
    EXPECT_EQ(res.headers.count("content-type") ? res.headers.at("content-type") : "",
              "application/problem+json");
    return json::parse(res.body, nullptr, false);
  }

  static std::string unique_email(const std::string& tag) {
    return tag + "-" + std::to_string(steady::now().time_since_epoch().count()) + "@example.org";
  }

  std::unique_ptr<running_node> node_;
};

// --- login throttling ------------------------------------------------------------------

TEST_F(http_abuse, guessing_one_password_is_throttled_alike_for_known_and_unknown_emails) {
  // The window is long against Argon2 under load: three hashes must fit well inside it.
  start_node({"--http-login-burst", "3", "--http-login-refill-ms", "4000"});
  auto known = unique_email("known");
  register_user(known);
  auto unknown = unique_email("nobody");
  json refusals[2];
  steady::time_point locked_at;
  for (int who = 0; who < 2; ++who) {
    auto email = who == 0 ? known : unknown;
    for (int i = 0; i < 3; ++i)
      problem(try_login(email, "wrong-password"), 401);
    auto refused = try_login(email, "wrong-password");
    refusals[who] = problem(refused, 429);
    ASSERT_TRUE(refused.headers.count("retry-after")) << refused.body;
    EXPECT_GE(std::stoi(refused.headers.at("retry-after")), 1);
    if (who == 0) {
      // Locked means locked, even for the right password.
      locked_at = steady::now();
      problem(try_login(known, "password-123"), 429);
    }
  }
  // Same status, same type, same words: nothing says which account exists.
  for (auto key : {"type", "title", "status", "detail"})
    EXPECT_EQ(refusals[0][key], refusals[1][key]) << key;
  EXPECT_EQ(refusals[0]["type"], "https://troupe.dev/problems/too-many-requests");
  // After the window the right password works (refused attempts take nothing, so polling
  // does not extend it).
  http_reply ok;
  while ((ok = try_login(known, "password-123")).status == 429 && steady::now() < locked_at + 20s)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(ok.status, 200) << ok.body;
  auto metrics = node_->get("/metrics");
  EXPECT_NE(metrics.body.find("troupe_login_throttled_total{by=\"account\"}"), std::string::npos);
  EXPECT_EQ(metrics.body.find("troupe_login_throttled_total{by=\"account\"} 0"), std::string::npos);
}

TEST_F(http_abuse, one_address_spraying_many_accounts_is_throttled) {
  start_node({"--http-login-burst", "5", "--http-login-client-burst", "4"});
  for (int i = 0; i < 4; ++i)
    problem(try_login(unique_email("spray" + std::to_string(i)), "guess"), 401);
  auto refused = try_login(unique_email("spray-last"), "guess");
  auto body = problem(refused, 429);
  EXPECT_EQ(body["type"], "https://troupe.dev/problems/too-many-requests");
  EXPECT_TRUE(refused.headers.count("retry-after"));
}

// --- connections per client ---------------------------------------------------------------

// Whether the server closed `sock` within `limit` (EOF or reset). poll(2) rather than a
// receive timeout: Asio's blocking read waits on its own and ignores SO_RCVTIMEO.
bool closed_within(asio::ip::tcp::socket& sock, std::chrono::milliseconds limit) {
  pollfd pfd{sock.native_handle(), POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(limit.count())) <= 0)
    return false;
  char c = 0;
  auto n = ::recv(sock.native_handle(), &c, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

// One GET from `source`, on a fresh connection; the status line's code, or 0.
// Everything `sock` receives until the server closes it or `seconds` pass without data.
std::string read_until_closed(asio::ip::tcp::socket& sock, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  char buf[1024];
  boost::system::error_code ec;
  while (!ec) {
    auto n = sock.read_some(asio::buffer(buf), ec);
    got.append(buf, n);
  }
  return got;
}

int get_from(const std::string& source, uint16_t port, const std::string& target) {
  asio::io_context io;
  asio::ip::tcp::socket sock{io};
  sock.open(asio::ip::tcp::v4());
  sock.bind({asio::ip::make_address(source), 0});
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  auto req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asio::write(sock, asio::buffer(req));
  auto got = read_until_closed(sock, 2);
  return got.starts_with("HTTP/1.1 ") ? std::stoi(got.substr(9, 3)) : 0;
}

TEST_F(http_abuse, one_client_hogging_connections_does_not_lock_out_another) {
  start_node({"--http-max-connections-per-client", "8"});
  asio::io_context io;
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> hog;
  for (int i = 0; i < 40; ++i) {
    hog.push_back(std::make_unique<asio::ip::tcp::socket>(io));
    hog.back()->connect({asio::ip::make_address("127.0.0.1"), node_->port});
  }
  // The 32 over the cap are closed at once; the 8 within it stay open (idle timeout is 30 s).
  int closed = 0;
  for (auto& s : hog)
    closed += closed_within(*s, 300ms) ? 1 : 0;
  // A connection of the readiness probe may still be counted for a moment.
  EXPECT_GE(closed, 30);
  EXPECT_LE(closed, 32);
  auto begin = steady::now();
  EXPECT_EQ(get_from("127.0.0.2", node_->port, "/healthz"), 200);
  EXPECT_LT(steady::now() - begin, 1s);
}

// --- NUL and broken UTF-8 -------------------------------------------------------------------

TEST_F(http_abuse, nul_in_any_string_and_bad_utf8_in_a_path_are_400_and_write_nothing) {
  start_node();
  auto email = unique_email("nul");
  auto body = problem(post("/v1/users", {{"email", email},
                                         {"password", "password-123"},
                                         {"display_name", std::string{"Zo\0e", 4}}}),
                      400);
  EXPECT_EQ(body["detail"], "field 'display_name' must not contain U+0000");
  problem(post("/v1/users", {{"email", email + std::string{"\0x", 2}},
                             {"password", "password-123"},
                             {"display_name", "x"}}),
          400);
  problem(try_login(email + std::string{"\0", 1}, "password-123"), 400);
  // Nothing was written: the email is still free, and the clean name is stored whole.
  auto id = register_user(email);
  auto auth = bearer(email);
  problem(node_->send("PATCH", "/v1/users/" + id,
                      json{{"display_name", std::string{"cut\0here", 8}}}.dump(), auth),
          400);
  EXPECT_EQ(json::parse(node_->get("/v1/users/" + id, auth).body)["display_name"], "Abused");
  auto nul_id = problem(node_->get("/v1/users/ab%00cd", auth), 400);
  EXPECT_EQ(nul_id["detail"], "path parameter 'id' must not contain U+0000");

  auto root = admin();
  auto sku = "nul-sku-" + std::to_string(steady::now().time_since_epoch().count());
  auto put = problem(
      node_->send("PUT", "/v1/inventory/" + sku + "%00tail", json{{"on_hand", 5}}.dump(), root),
      400);
  EXPECT_EQ(put["detail"], "path parameter 'sku' must not contain U+0000");
  auto bad_utf8 = problem(node_->get("/v1/inventory/" + sku + "%FF%FE", root), 400);
  EXPECT_EQ(bad_utf8["detail"], "path parameter 'sku' is not valid UTF-8");
  problem(node_->send("PUT", "/v1/inventory/%C0%80", json{{"on_hand", 5}}.dump(), root), 400);
  // No truncated SKU was stored.
  problem(node_->get("/v1/inventory/" + sku, root), 404);
  auto order = problem(
      post("/v1/orders",
           {{"items", json::array({{{"sku", sku + std::string{"\0", 1}}, {"quantity", 1}}})}},
           {{"Authorization", auth["Authorization"]}, {"Idempotency-Key", "nul-order"}}),
      400);
  EXPECT_EQ(order["detail"], "field 'items[0].sku' must not contain U+0000");
}

// --- tokens ---------------------------------------------------------------------------------

TEST_F(http_abuse, a_token_stops_working_when_its_password_changes_or_its_user_goes) {
  start_node();
  auto email = unique_email("revoke");
  auto id = register_user(email);
  auto first = bearer(email);
  auto second = bearer(email);
  ASSERT_EQ(node_->get("/v1/users/" + id, second).status, 200);
  ASSERT_EQ(node_->get("/v1/users/" + id + "/notification-preferences", second).status, 200);
  ASSERT_EQ(
      node_->send("PATCH", "/v1/users/" + id, json{{"password", "password-456"}}.dump(), first)
          .status,
      200);
  // Every token issued for the old password is dead, on every kind of route.
  for (auto* old : {&first, &second}) {
    problem(node_->get("/v1/users/" + id, *old), 401);
    problem(node_->get("/v1/users/me", *old), 401);
    problem(node_->send("PATCH", "/v1/users/" + id, json{{"display_name", "x"}}.dump(), *old), 401);
    problem(node_->get("/v1/users/" + id + "/notification-preferences", *old), 401);
    problem(node_->get("/v1/orders?user_id=" + id, *old), 401);
  }
  auto fresh = bearer(email, "password-456");
  ASSERT_EQ(node_->get("/v1/users/" + id, fresh).status, 200);
  ASSERT_EQ(node_->send("DELETE", "/v1/users/" + id, "", fresh).status, 204);
  problem(node_->get("/v1/users/" + id, fresh), 401);
  problem(node_->get("/v1/users/me", fresh), 401);
  problem(node_->send("PATCH", "/v1/users/" + id, json{{"display_name", "ghost"}}.dump(), fresh),
          401);
  problem(node_->get("/v1/users/" + id + "/notifications", fresh), 401);
  problem(node_->get("/v1/orders?user_id=" + id, fresh), 401);
}

TEST_F(http_abuse, a_token_passivated_out_of_memory_is_still_checked) {
  // With a one-second idle timeout the user's activation (and its local copy) goes away:
  // the check then asks the entity, which loads from the store.
  start_node({"--entity-idle", "1"});
  auto email = unique_email("idle");
  auto id = register_user(email);
  auto old = bearer(email);
  ASSERT_EQ(node_->send("PATCH", "/v1/users/" + id, json{{"password", "password-789"}}.dump(), old)
                .status,
            200);
  auto until = steady::now() + 10s;
  auto active = [&] {
    auto m = node_->get("/metrics").body;
    return m.find("troupe_entities_active{kind=\"user\"} 0") == std::string::npos;
  };
  while (active() && steady::now() < until)
    std::this_thread::sleep_for(100ms);
  ASSERT_FALSE(active()) << "the user was never passivated";
  problem(node_->get("/v1/users/" + id, old), 401);
  EXPECT_EQ(node_->get("/v1/users/" + id, bearer(email, "password-789")).status, 200);
}

// The tests forge tokens with the node's own secret, so they carry base64url and HMAC.
std::string b64url(std::string_view in) {
  static constexpr std::string_view abc =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = acc << 8 | c;
    for (bits += 8; bits >= 6; bits -= 6)
      out += abc[acc >> (bits - 6) & 63];
  }
  if (bits > 0)
    out += abc[acc << (6 - bits) & 63];
  return out;
}

std::string unb64url(std::string_view in) {
  static constexpr std::string_view abc =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    acc = acc << 6 | static_cast<uint32_t>(abc.find(c));
    if ((bits += 6) >= 8) {
      bits -= 8;
      out += static_cast<char>(acc >> bits & 0xff);
    }
  }
  return out;
}

// `token` with its claims patched by `patch`, signed again with the node's secret.
std::string resigned(const std::string& token, const json& patch) {
  auto dot1 = token.find('.');
  auto dot2 = token.find('.', dot1 + 1);
  auto claims = json::parse(unb64url(token.substr(dot1 + 1, dot2 - dot1 - 1)));
  claims.update(patch);
  auto input = token.substr(0, dot1) + "." + b64url(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + b64url({reinterpret_cast<const char*>(mac), len});
}

TEST_F(http_abuse, a_token_not_valid_yet_is_401) {
  start_node();
  auto email = unique_email("nbf");
  auto id = register_user(email);
  auto token = token_of(try_login(email, "password-123"));
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto with = [&](const std::string& t) {
    return node_->get("/v1/users/" + id, {{"Authorization", "Bearer " + t}});
  };
  // The forging itself is sound: the same claims signed again work, so do past nbf values.
  EXPECT_EQ(with(resigned(token, json::object())).status, 200);
  EXPECT_EQ(with(resigned(token, {{"nbf", now - 60}})).status, 200);
  auto early = problem(with(resigned(token, {{"nbf", now + 600}})), 401);
  EXPECT_EQ(early["type"], "https://troupe.dev/problems/unauthorized");
  problem(with(resigned(token, {{"nbf", "later"}})), 401);
}

// --- Host -----------------------------------------------------------------------------------

TEST_F(http_abuse, http11_without_host_is_400_problem_json) {
  start_node();
  asio::io_context io;
  asio::ip::tcp::socket sock{io};
  sock.connect({asio::ip::make_address("127.0.0.1"), node_->port});
  asio::write(sock, asio::buffer(std::string{"GET /healthz HTTP/1.1\r\n\r\n"}));
  auto got = read_until_closed(sock, 3);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 400")) << got;
  EXPECT_NE(got.find("application/problem+json"), std::string::npos) << got;
  EXPECT_NE(got.find("Host"), std::string::npos) << got;
  // With Host, the same request is fine.
  EXPECT_EQ(get_from("127.0.0.1", node_->port, "/healthz"), 200);
}

} // namespace
} // namespace troupe::testing
