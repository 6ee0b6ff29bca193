// The notification domain end to end: a real troupe-node on a real PostgreSQL delivering
// to a webhook receiver the test runs itself. Domain events are caused over HTTP as a
// client app would (registrations, orders); what the receiver saw and what the listing
// says are then compared, with bounded polling and no sleeps as synchronisation.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/loopback_server.hpp"
#include "support/node.hpp"
#include "support/postgres_suite.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using headers = std::map<std::string, std::string>;
using steady = std::chrono::steady_clock;

const std::string secret = "a-notification-flow-test-secret-32+chars";
const std::string admin_email = "root@example.org";
const std::string admin_password = "admin-password-1";
// The webhook's path stands in for a secret a real receiver would put there.
const std::string hook_path = "/hook/path-secret-7f3a";

/// Polls `done` every `step` until it holds or `limit` passes; returns whether it held.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds limit, std::chrono::milliseconds step = 20ms) {
  auto deadline = steady::now() + limit;
  for (;;) {
    if (done())
      return true;
    if (steady::now() >= deadline)
      return false;
    std::this_thread::sleep_for(step);
  }
}

/// How the receiver answers one POST.
struct hook_answer {
  /// The status sent back.
  unsigned status = 200;
  /// How long the answer is held back; other POSTs are served meanwhile.
  std::chrono::milliseconds delay{0};
};

/// One POST as the receiver saw it.
struct hook_post {
  /// The body (discarded if it was not JSON).
  json body;
  /// The status it is answered with.
  unsigned status = 0;
  /// When it arrived.
  steady::time_point at;
  /// Whether the answer was written back.
  bool replied = false;

  /// The string field `name` of the body, or "" if there is none.
  std::string field(const char* name) const {
    return body.is_object() && body.contains(name) && body[name].is_string()
               ? body[name].get<std::string>()
               : std::string{};
  }
  /// Whether it was answered as delivered.
  bool ok() const { return status >= 200 && status < 300; }
};

/// A webhook receiver on 127.0.0.1 and an ephemeral port that answers POSTs concurrently,
/// each after its own delay, and records every one. Unlike `loopback_server` it can hold
/// an answer back without stalling the others, which the restart tests need to catch a
/// node with attempts in flight.
class webhook_receiver {
public:
  /// Decides the answer from the body and how many POSTs of the same notification_id
  /// arrived before this one; runs on the receiver's thread.
  using policy = std::function<hook_answer(const json& body, size_t seen_before)>;

  explicit webhook_receiver(policy p)
      : policy_(std::move(p)),
        acceptor_(ioc_, tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread{[this] { ioc_.run(); }};
  }

  ~webhook_receiver() {
    ioc_.stop();
    thread_.join();
  }

  webhook_receiver(const webhook_receiver&) = delete;
  webhook_receiver& operator=(const webhook_receiver&) = delete;

  /// Returns "http://127.0.0.1:PORT" followed by `target`.
  std::string url(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(port_) + target;
  }

  /// Every POST so far, in arrival order.
  std::vector<hook_post> posts() const {
    std::lock_guard guard{mtx_};
    return posts_;
  }

  /// The POSTs so far about user `user_id`.
  std::vector<hook_post> posts_for(const std::string& user_id) const {
    std::vector<hook_post> out;
    for (auto& p : posts())
      if (p.field("user_id") == user_id)
        out.push_back(p);
    return out;
  }

  /// Whether some POST has arrived and is not answered yet.
  bool holding() const {
    std::lock_guard guard{mtx_};
    return std::any_of(posts_.begin(), posts_.end(), [](const auto& p) { return !p.replied; });
  }

  /// Waits up to `limit` until `done(posts)` holds; returns whether it did.
  bool wait_until(const std::function<bool(const std::vector<hook_post>&)>& done,
                  std::chrono::milliseconds limit) {
    std::unique_lock guard{mtx_};
    return arrived_.wait_for(guard, limit, [&] { return done(posts_); });
  }

private:
  using tcp = boost::asio::ip::tcp;

  struct session {
    session(tcp::socket s, boost::asio::io_context& ioc) : socket(std::move(s)), timer(ioc) {}
    tcp::socket socket;
    boost::asio::steady_timer timer;
    boost::beast::flat_buffer buffer;
    boost::beast::http::request<boost::beast::http::string_body> req;
    boost::beast::http::response<boost::beast::http::string_body> res;
    size_t index = 0;
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec)
        return;
      serve(std::make_shared<session>(std::move(socket), ioc_));
      accept();
    });
  }

  void serve(std::shared_ptr<session> s) {
    boost::beast::http::async_read(
        s->socket, s->buffer, s->req, [this, s](boost::system::error_code ec, size_t) {
          if (ec)
            return;
          auto body = json::parse(s->req.body(), nullptr, false);
          auto id = body.is_object() && body.contains("notification_id")
                        ? body["notification_id"].dump()
                        : std::string{};
          hook_answer answer;
          {
            std::lock_guard guard{mtx_};
            auto seen = id.empty() ? 0 : seen_[id]++;
            answer = policy_(body, seen);
            s->index = posts_.size();
            posts_.push_back({body, answer.status, steady::now(), false});
          }
          arrived_.notify_all();
          s->res.result(answer.status);
          s->res.version(11);
          s->res.set(boost::beast::http::field::content_type, "application/json");
          s->res.body() = answer.status < 300 ? R"({"ok":true})" : R"({"error":"receiver down"})";
          s->res.keep_alive(false);
          s->res.prepare_payload();
          s->timer.expires_after(answer.delay);
          s->timer.async_wait([this, s](boost::system::error_code) { reply(s); });
        });
  }

  void reply(std::shared_ptr<session> s) {
    boost::beast::http::async_write(s->socket, s->res,
                                    [this, s](boost::system::error_code ec, size_t) {
                                      {
                                        std::lock_guard guard{mtx_};
                                        posts_[s->index].replied = !ec;
                                      }
                                      arrived_.notify_all();
                                      boost::system::error_code ignored;
                                      s->socket.shutdown(tcp::socket::shutdown_both, ignored);
                                      s->socket.close(ignored);
                                    });
  }

  // Declared before the io objects so that they outlive every handler.
  mutable std::mutex mtx_;
  std::condition_variable arrived_;
  std::vector<hook_post> posts_;
  std::map<std::string, size_t> seen_;
  policy policy_;
  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
};

/// Answers every POST 200 at once.
hook_answer accept_all(const json&, size_t) {
  return {};
}

/// A registered, logged-in user.
struct session {
  std::string id;
  std::string email;
  headers auth;
};

/// The (subject, channel) pairs of `items` (listing rows or webhook bodies), sorted.
std::vector<std::pair<std::string, std::string>> kinds_of(const std::vector<json>& items) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& i : items)
    if (i.is_object())
      out.emplace_back(i.value("subject", ""), i.value("channel", ""));
    else
      out.emplace_back("(not an object) " + i.dump(), "");
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<json> bodies_of(const std::vector<hook_post>& posts) {
  std::vector<json> out;
  for (const auto& p : posts)
    out.push_back(p.body);
  return out;
}

std::string describe(const std::vector<hook_post>& posts) {
  std::string out;
  for (const auto& p : posts)
    out += "\n  " + std::to_string(p.status) + (p.replied ? " " : " (unanswered) ") + p.body.dump();
  return out;
}

class notification_flow : public postgres_suite {
protected:
  void TearDown() override {
    // Stopped as an operator would, so its log ends cleanly; the process dies anyway.
    if (node_) {
      node_->proc.signal(SIGTERM);
      node_->proc.wait_exit(10s);
    }
    node_.reset();
    hook_.reset();
  }

  /// Starts the receiver the node will POST to.
  void start_receiver(webhook_receiver::policy p = accept_all) {
    hook_ = std::make_unique<webhook_receiver>(std::move(p));
  }

  /// Starts a node delivering to the receiver, with `overrides` of the default flags.
  void start_node(std::map<std::string, std::string> overrides = {}) {
    ASSERT_NE(pg_, nullptr);
    std::map<std::string, std::string> flags{
        {"--store", "postgres"},
        {"--database-url", pg_->url()},
        {"--jwt-secret", secret},
        {"--admin-email", admin_email},
        {"--admin-password", admin_password},
        {"--hash-threads", "2"},
        {"--notify-provider", "webhook"},
        {"--notify-webhook-url", hook_ ? hook_->url(hook_path) : ""},
        {"--notify-timeout-ms", "2000"},
        {"--notify-max-attempts", "3"},
        {"--notify-retry-ms", "100"},
    };
    for (auto& [k, v] : overrides)
      flags[k] = v;
    std::vector<std::string> argv;
    for (auto& [k, v] : flags) {
      argv.push_back(k);
      argv.push_back(v);
    }
    node_ = std::make_unique<running_node>(std::move(argv));
    ASSERT_NE(node_->port, 0) << node_->proc.err();
    ASSERT_TRUE(node_->wait_ready()) << node_->proc.err();
  }

  static std::string unique(const std::string& tag) {
    static std::atomic<int> n{0};
    return tag + "-" + std::to_string(++n) + "-" +
           std::to_string(steady::now().time_since_epoch().count());
  }

  static json parse(const http_reply& res) {
    auto body = json::parse(res.body, nullptr, false);
    return body.is_discarded() ? json::object() : body;
  }

  static void expect_problem(const http_reply& res, int status) {
    EXPECT_EQ(res.status, status) << res.body << res.error;
    EXPECT_EQ(res.headers.count("content-type") ? res.headers.at("content-type") : "",
              "application/problem+json")
        << res.body;
    auto body = parse(res);
    EXPECT_EQ(body.value("status", 0), status) << res.body;
  }

  session new_user(const std::string& tag) {
    auto email = unique(tag) + "@example.org";
    auto reg = node_->send(
        "POST", "/v1/users",
        json{{"email", email}, {"password", "password-123"}, {"display_name", "Fan " + tag}}
            .dump());
    EXPECT_EQ(reg.status, 201) << reg.body << reg.error;
    return {parse(reg).value("id", std::string{}), email, login(email, "password-123")};
  }

  headers login(const std::string& email, const std::string& password) {
    auto res = node_->send("POST", "/v1/auth/login",
                           json{{"email", email}, {"password", password}}.dump());
    EXPECT_EQ(res.status, 200) << res.body << res.error;
    return {{"Authorization", "Bearer " + parse(res).value("access_token", std::string{})}};
  }

  /// The admin's bearer header; the admin is ensured in the background after start.
  headers admin() {
    auto body = json{{"email", admin_email}, {"password", admin_password}}.dump();
    eventually([&] { return node_->send("POST", "/v1/auth/login", body).status == 200; }, 20s,
               50ms);
    return login(admin_email, admin_password);
  }

  /// A fresh SKU with `on_hand` units.
  std::string stocked_sku(int on_hand) {
    auto sku = unique("sku");
    auto res =
        node_->send("PUT", "/v1/inventory/" + sku, json{{"on_hand", on_hand}}.dump(), admin());
    EXPECT_EQ(res.status, 200) << res.body << res.error;
    return sku;
  }

  /// Places an order of one unit of `sku` paid with `token`; returns its id.
  std::string place_order(const session& who, const std::string& sku,
                          const std::string& token = "tok_ok") {
    auto auth = who.auth;
    auth["Idempotency-Key"] = unique("key");
    auto res = node_->send("POST", "/v1/orders",
                           json{{"items", {{{"sku", sku}, {"quantity", 1}}}},
                                {"payment", {{"method", "sim"}, {"token", token}}}}
                               .dump(),
                           auth);
    EXPECT_EQ(res.status, 201) << res.body << res.error;
    return parse(res).value("id", std::string{});
  }

  /// Waits (bounded) for order `id` to reach a final status and returns that status.
  std::string final_status(const session& who, const std::string& id) {
    std::string status;
    eventually(
        [&] {
          auto body = parse(node_->get("/v1/orders/" + id, who.auth));
          status = body.contains("status") && body["status"].is_string()
                       ? body["status"].get<std::string>()
                       : std::string{};
          return status == "confirmed" || status == "rejected" || status == "cancelled";
        },
        20s);
    return status;
  }

  /// The user's notifications as the API lists them (empty if the call failed).
  std::vector<json> listing(const session& who) {
    auto res = node_->get("/v1/users/" + who.id + "/notifications?limit=100", who.auth);
    EXPECT_EQ(res.status, 200) << res.body << res.error;
    auto items = parse(res)["items"];
    return items.is_array() ? items.get<std::vector<json>>() : std::vector<json>{};
  }

  /// Waits (bounded) until the listing has `n` rows, each in a final status (sent or
  /// dead); returns the last listing read.
  std::vector<json> settled_listing(const session& who, size_t n,
                                    std::chrono::milliseconds limit = 20s) {
    std::vector<json> items;
    eventually(
        [&] {
          items = listing(who);
          return items.size() == n && std::all_of(items.begin(), items.end(), [](const json& i) {
                   return i.value("status", "") == "sent" || i.value("status", "") == "dead";
                 });
        },
        limit, 50ms);
    return items;
  }

  /// Waits a short, fixed moment in which nothing more may arrive. Not a synchronisation:
  /// it bounds how long a stray duplicate or retry has to show up, which is a few polls of
  /// the dispatcher (200 ms each; retries here come after 100 ms).
  static void quiet_period(std::chrono::milliseconds d = 600ms) { std::this_thread::sleep_for(d); }

  /// The user's POSTs after a quiet period.
  std::vector<hook_post> after_quiet_period(const session& who,
                                            std::chrono::milliseconds d = 600ms) {
    quiet_period(d);
    return hook_->posts_for(who.id);
  }

  /// Checks that `posts` delivered each notification in `items` exactly once, with a
  /// matching event, channel, subject and recipient.
  static void expect_each_delivered_once(const std::vector<json>& items,
                                         const std::vector<hook_post>& posts) {
    std::map<std::string, int> by_id;
    for (const auto& p : posts)
      ++by_id[p.field("notification_id")];
    for (const auto& i : items) {
      auto id = i.value("id", "");
      EXPECT_EQ(by_id[id], 1) << "notification " << id << " (" << i.value("subject", "") << ", "
                              << i.value("channel", "") << ") POSTed " << by_id[id]
                              << " times:" << describe(posts);
      for (const auto& p : posts)
        if (p.field("notification_id") == id) {
          EXPECT_EQ(p.field("event_id"), i.value("event_id", ""));
          EXPECT_EQ(p.field("channel"), i.value("channel", ""));
          EXPECT_EQ(p.field("subject"), i.value("subject", ""));
          EXPECT_EQ(p.field("recipient"), i.value("recipient", ""));
        }
    }
    EXPECT_EQ(by_id.size(), items.size())
        << "POSTs of notifications not listed:" << describe(posts);
  }

  /// Checks that no (event, channel) has two rows.
  static void expect_one_row_per_event_and_channel(const std::vector<json>& items) {
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& i : items)
      EXPECT_TRUE(seen.emplace(i.value("event_id", ""), i.value("channel", "")).second)
          << "two notifications for one event and channel: " << i.dump();
  }

  std::unique_ptr<webhook_receiver> hook_;
  std::unique_ptr<running_node> node_;
};

TEST_F(notification_flow, a_registration_sends_exactly_one_welcome_email) {
  start_receiver();
  ASSERT_NO_FATAL_FAILURE(start_node());
  auto user = new_user("welcome");
  auto items = settled_listing(user, 1);
  ASSERT_EQ(items.size(), 1u) << json(items).dump();
  auto& n = items[0];
  EXPECT_EQ(n["channel"], "email");
  EXPECT_EQ(n["subject"], "Welcome to Troupe");
  EXPECT_EQ(n["recipient"], user.email);
  EXPECT_EQ(n["status"], "sent");
  EXPECT_EQ(n["attempts"], 1);
  EXPECT_FALSE(n.contains("last_error")) << n.dump();
  EXPECT_FALSE(n.value("event_id", "").empty());
  EXPECT_FALSE(n.value("created_at", "").empty());

  auto posts = after_quiet_period(user);
  ASSERT_EQ(posts.size(), 1u) << describe(posts);
  auto& got = posts[0];
  EXPECT_EQ(got.field("notification_id"), n["id"]);
  EXPECT_EQ(got.field("event_id"), n["event_id"]);
  EXPECT_EQ(got.field("user_id"), user.id);
  EXPECT_EQ(got.field("channel"), "email");
  EXPECT_EQ(got.field("recipient"), user.email);
  EXPECT_EQ(got.field("subject"), "Welcome to Troupe");
  EXPECT_NE(got.field("body").find("Fan welcome"), std::string::npos) << got.body.dump();
  EXPECT_EQ(got.body.value("attempt", 0), 1);
}

TEST_F(notification_flow, order_outcomes_notify_on_their_channels_exactly_once) {
  start_receiver();
  ASSERT_NO_FATAL_FAILURE(start_node());
  auto sku = stocked_sku(10);
  auto buyer = new_user("buyer");
  auto confirmed = place_order(buyer, sku);
  auto declined = place_order(buyer, sku, "tok_decline");
  ASSERT_EQ(final_status(buyer, confirmed), "confirmed");
  ASSERT_EQ(final_status(buyer, declined), "rejected");
  auto cancel = node_->send("POST", "/v1/orders/" + confirmed + "/cancel", "", buyer.auth);
  ASSERT_EQ(cancel.status, 200) << cancel.body << cancel.error;
  ASSERT_EQ(final_status(buyer, confirmed), "cancelled");

  std::vector<std::pair<std::string, std::string>> expected{
      {"Order cancelled", "email"}, {"Order confirmed", "email"}, {"Order confirmed", "push"},
      {"Order rejected", "email"},  {"Order rejected", "sms"},    {"Welcome to Troupe", "email"}};
  auto items = settled_listing(buyer, expected.size());
  EXPECT_EQ(kinds_of(items), expected) << json(items).dump(1);
  expect_one_row_per_event_and_channel(items);
  for (const auto& i : items) {
    EXPECT_EQ(i["status"], "sent") << i.dump();
    EXPECT_EQ(i["attempts"], 1) << i.dump();
    EXPECT_EQ(i["recipient"], i["channel"] == "email" ? buyer.email : "user:" + buyer.id)
        << i.dump();
  }
  // One event per outcome: the confirmed order's email and push share theirs.
  std::map<std::string, std::set<std::string>> events_by_subject;
  for (const auto& i : items)
    events_by_subject[i.value("subject", "")].insert(i.value("event_id", ""));
  for (const auto& [subject, ids] : events_by_subject)
    EXPECT_EQ(ids.size(), 1u) << subject;

  // Final orders publish their events at once; a second is ample for a stray duplicate.
  auto posts = after_quiet_period(buyer, 1s);
  EXPECT_EQ(kinds_of(bodies_of(posts)), expected) << describe(posts);
  expect_each_delivered_once(items, posts);
  for (const auto& p : posts) {
    EXPECT_EQ(p.body.value("attempt", 0), 1) << p.body.dump();
    auto subject = p.field("subject");
    auto order = subject == "Order rejected" ? declined : confirmed;
    if (subject != "Welcome to Troupe") {
      EXPECT_NE(p.field("body").find(order), std::string::npos) << p.body.dump();
    }
  }
}

TEST_F(notification_flow, preferences_turn_channels_off_and_only_their_owner_may_touch_them) {
  start_receiver();
  ASSERT_NO_FATAL_FAILURE(start_node());
  auto sku = stocked_sku(5);
  auto fan = new_user("prefs");
  auto stranger = new_user("stranger");
  // The welcome is out before email is turned off, so it cannot race the change.
  ASSERT_EQ(settled_listing(fan, 1).size(), 1u);
  auto prefs = "/v1/users/" + fan.id + "/notification-preferences";

  auto initial = node_->get(prefs, fan.auth);
  ASSERT_EQ(initial.status, 200) << initial.body;
  EXPECT_EQ(parse(initial),
            (json{{"user_id", fan.id}, {"email", true}, {"push", true}, {"sms", true}}));

  json only_push_and_sms{{"email", false}, {"push", true}, {"sms", true}};
  auto put = node_->send("PUT", prefs, only_push_and_sms.dump(), fan.auth);
  ASSERT_EQ(put.status, 200) << put.body;
  auto stored = only_push_and_sms;
  stored["user_id"] = fan.id;
  EXPECT_EQ(parse(put), stored);
  EXPECT_EQ(parse(node_->get(prefs, fan.auth)), stored);
  EXPECT_EQ(parse(node_->get(prefs, admin())), stored) << "an admin may read them";

  for (const auto& bad : {json{{"email", false}, {"push", true}},
                          json{{"email", "false"}, {"push", true}, {"sms", true}},
                          json{{"email", false}, {"push", 1}, {"sms", true}},
                          json{{"email", false}, {"push", true}, {"sms", nullptr}}, json::object()})
    expect_problem(node_->send("PUT", prefs, bad.dump(), fan.auth), 400);
  expect_problem(node_->send("PUT", prefs, "[true]", fan.auth), 400);
  EXPECT_EQ(parse(node_->get(prefs, fan.auth)), stored) << "a refused PUT changed them";

  expect_problem(node_->get(prefs, stranger.auth), 403);
  expect_problem(node_->send("PUT", prefs, only_push_and_sms.dump(), stranger.auth), 403);
  expect_problem(node_->get("/v1/users/" + fan.id + "/notifications", stranger.auth), 403);
  expect_problem(node_->get(prefs), 401);
  expect_problem(node_->send("PUT", prefs, only_push_and_sms.dump()), 401);
  expect_problem(node_->get("/v1/users/" + fan.id + "/notifications"), 401);

  auto order = place_order(fan, sku);
  ASSERT_EQ(final_status(fan, order), "confirmed");
  // Email and push rows are created in one transaction: once push is listed, no email
  // row for the order can appear later.
  auto items = settled_listing(fan, 2);
  EXPECT_EQ(kinds_of(items), (std::vector<std::pair<std::string, std::string>>{
                                 {"Order confirmed", "push"}, {"Welcome to Troupe", "email"}}))
      << json(items).dump(1);
  auto posts = after_quiet_period(fan);
  EXPECT_EQ(kinds_of(bodies_of(posts)),
            (std::vector<std::pair<std::string, std::string>>{{"Order confirmed", "push"},
                                                              {"Welcome to Troupe", "email"}}))
      << describe(posts);
  expect_each_delivered_once(items, posts);
  auto theirs = settled_listing(stranger, 1);
  EXPECT_EQ(kinds_of(theirs),
            (std::vector<std::pair<std::string, std::string>>{{"Welcome to Troupe", "email"}}))
      << "another user's preferences changed what the stranger gets";
}

TEST_F(notification_flow, a_receiver_that_keeps_failing_makes_a_dead_letter_after_max_attempts) {
  // Every attempt gets a 500; the second is held back so the test can read the
  // notification while it is `failed` and being retried.
  start_receiver([](const json&, size_t seen_before) {
    return hook_answer{500, seen_before == 1 ? 800ms : 0ms};
  });
  ASSERT_NO_FATAL_FAILURE(
      start_node({{"--notify-max-attempts", "3"}, {"--notify-retry-ms", "100"}}));
  auto user = new_user("down");

  ASSERT_TRUE(hook_->wait_until(
      [&](const auto& posts) {
        return std::count_if(posts.begin(), posts.end(), [&](const hook_post& p) {
                 return p.field("user_id") == user.id;
               }) >= 2;
      },
      15s))
      << describe(hook_->posts()) << node_->proc.err();
  auto retrying = listing(user);
  ASSERT_EQ(retrying.size(), 1u) << json(retrying).dump();
  EXPECT_EQ(retrying[0]["status"], "failed") << retrying[0].dump();
  EXPECT_EQ(retrying[0]["attempts"], 1) << retrying[0].dump();
  EXPECT_NE(retrying[0].value("last_error", "").find("500"), std::string::npos)
      << retrying[0].dump();

  auto items = settled_listing(user, 1);
  ASSERT_EQ(items.size(), 1u) << json(items).dump();
  auto& n = items[0];
  EXPECT_EQ(n["status"], "dead") << n.dump();
  EXPECT_EQ(n["attempts"], 3) << n.dump();
  auto error = n.value("last_error", "");
  EXPECT_NE(error.find("500"), std::string::npos) << n.dump();
  EXPECT_EQ(error.find("path-secret"), std::string::npos) << "the URL's path leaked: " << error;

  auto posts = after_quiet_period(user);
  ASSERT_EQ(posts.size(), 3u) << "a dead letter was attempted again:" << describe(posts);
  for (size_t i = 0; i < posts.size(); ++i) {
    EXPECT_EQ(posts[i].field("notification_id"), n["id"]);
    EXPECT_EQ(posts[i].body.value("attempt", 0), static_cast<int>(i + 1)) << describe(posts);
  }
}

TEST_F(notification_flow, an_unreachable_receiver_makes_a_dead_letter_after_max_attempts) {
  auto closed = "http://127.0.0.1:" + std::to_string(loopback_server::unused_port()) + hook_path;
  ASSERT_NO_FATAL_FAILURE(start_node({{"--notify-webhook-url", closed},
                                      {"--notify-max-attempts", "3"},
                                      {"--notify-retry-ms", "100"}}));
  auto user = new_user("closed");
  auto items = settled_listing(user, 1);
  ASSERT_EQ(items.size(), 1u) << json(items).dump();
  EXPECT_EQ(items[0]["status"], "dead") << items[0].dump();
  EXPECT_EQ(items[0]["attempts"], 3) << items[0].dump();
  auto error = items[0].value("last_error", "");
  EXPECT_FALSE(error.empty()) << items[0].dump();
  EXPECT_EQ(error.find("path-secret"), std::string::npos) << "the URL's path leaked: " << error;
}

TEST_F(notification_flow, a_receiver_that_recovers_gets_the_notification_once) {
  start_receiver(
      [](const json&, size_t seen_before) { return hook_answer{seen_before < 2 ? 500u : 200u}; });
  ASSERT_NO_FATAL_FAILURE(
      start_node({{"--notify-max-attempts", "5"}, {"--notify-retry-ms", "100"}}));
  auto user = new_user("recover");
  auto items = settled_listing(user, 1);
  ASSERT_EQ(items.size(), 1u) << json(items).dump();
  EXPECT_EQ(items[0]["status"], "sent") << items[0].dump();
  EXPECT_EQ(items[0]["attempts"], 3) << items[0].dump();
  EXPECT_FALSE(items[0].contains("last_error")) << "a delivered notification keeps an error";

  auto posts = after_quiet_period(user);
  ASSERT_EQ(posts.size(), 3u) << describe(posts);
  std::vector<unsigned> statuses;
  for (size_t i = 0; i < posts.size(); ++i) {
    EXPECT_EQ(posts[i].field("notification_id"), items[0]["id"]);
    EXPECT_EQ(posts[i].body.value("attempt", 0), static_cast<int>(i + 1)) << describe(posts);
    statuses.push_back(posts[i].status);
  }
  EXPECT_EQ(statuses, (std::vector<unsigned>{500, 500, 200}));
}

/// Restarts on one database and receiver while events are in flight.
class notification_flow_restart : public notification_flow {
protected:
  /// A short webhook timeout keeps the lease of a claim lost with a node short (the node
  /// makes it twice the timeout plus 5 s).
  static std::map<std::string, std::string> flags() { return {{"--notify-timeout-ms", "500"}}; }

  struct shopper {
    session who;
    std::string order;
  };

  /// Registers users who each order once, with every webhook answer held back a little,
  /// and returns as soon as an attempt is in flight.
  void busy_node(std::vector<shopper>& out) {
    start_receiver([](const json&, size_t) { return hook_answer{200, 150ms}; });
    ASSERT_NO_FATAL_FAILURE(start_node(flags()));
    auto sku = stocked_sku(10);
    for (int i = 0; i < 3; ++i) {
      auto who = new_user("restart");
      auto order = place_order(who, sku);
      ASSERT_FALSE(who.id.empty() || order.empty());
      out.push_back({who, order});
    }
    ASSERT_TRUE(eventually([&] { return hook_->holding(); }, 15s, 2ms))
        << "no attempt was ever in flight" << node_->proc.err();
  }

  /// Waits until every shopper's order is confirmed and notified; returns their listings.
  std::vector<std::vector<json>> settle(const std::vector<shopper>& shoppers) {
    std::vector<std::vector<json>> out;
    for (const auto& s : shoppers) {
      EXPECT_EQ(final_status(s.who, s.order), "confirmed");
      // The lease of a claim lost with the node may have to run out first.
      out.push_back(settled_listing(s.who, 3, 30s));
    }
    return out;
  }

  static void expect_all_sent(const std::vector<json>& items) {
    EXPECT_EQ(kinds_of(items),
              (std::vector<std::pair<std::string, std::string>>{{"Order confirmed", "email"},
                                                                {"Order confirmed", "push"},
                                                                {"Welcome to Troupe", "email"}}))
        << json(items).dump(1);
    expect_one_row_per_event_and_channel(items);
    for (const auto& i : items)
      EXPECT_EQ(i["status"], "sent") << i.dump();
  }
};

TEST_F(notification_flow_restart, a_graceful_restart_delivers_each_notification_exactly_once) {
  std::vector<shopper> shoppers;
  ASSERT_NO_FATAL_FAILURE(busy_node(shoppers));
  node_->proc.signal(SIGTERM);
  EXPECT_EQ(node_->proc.wait_exit(10s), 0) << node_->proc.err();
  auto first_log = node_->proc.err();
  ASSERT_NO_FATAL_FAILURE(start_node(flags()));

  auto listings = settle(shoppers);
  quiet_period();
  for (size_t i = 0; i < shoppers.size(); ++i) {
    SCOPED_TRACE("user " + shoppers[i].who.id);
    expect_all_sent(listings[i]);
    for (const auto& n : listings[i])
      EXPECT_EQ(n["attempts"], 1) << n.dump();
    auto posts = hook_->posts_for(shoppers[i].who.id);
    expect_each_delivered_once(listings[i], posts);
    for (const auto& p : posts)
      EXPECT_TRUE(p.replied && p.ok()) << p.body.dump();
  }
  if (HasFailure())
    ADD_FAILURE() << "log of the stopped node:\n" << first_log;
}

TEST_F(notification_flow_restart, a_killed_node_repeats_only_what_it_may_have_sent_before_dying) {
  std::vector<shopper> shoppers;
  ASSERT_NO_FATAL_FAILURE(busy_node(shoppers));
  node_->proc.signal(SIGKILL);
  node_->proc.wait_exit(10s);
  // Not the moment of the kill: a webhook request the dead node had already written may
  // still reach the receiver after it. Once the process is gone, only the next node posts.
  auto restarted_at = steady::now();
  ASSERT_NO_FATAL_FAILURE(start_node(flags()));

  auto listings = settle(shoppers);
  quiet_period();
  for (size_t i = 0; i < shoppers.size(); ++i) {
    SCOPED_TRACE("user " + shoppers[i].who.id);
    expect_all_sent(listings[i]);
    auto posts = hook_->posts_for(shoppers[i].who.id);
    std::map<std::string, std::vector<hook_post>> by_id;
    for (const auto& p : posts)
      by_id[p.field("notification_id")].push_back(p);
    EXPECT_EQ(by_id.size(), listings[i].size()) << describe(posts);
    for (const auto& n : listings[i]) {
      auto& tries = by_id[n.value("id", "")];
      ASSERT_FALSE(tries.empty()) << "never delivered: " << n.dump();
      EXPECT_TRUE(tries.back().ok() && tries.back().replied) << describe(tries);
      // A repeat is only excusable for an attempt the dead node had in flight.
      auto by_next_node = std::count_if(tries.begin(), tries.end(),
                                        [&](const hook_post& p) { return p.at > restarted_at; });
      EXPECT_LE(by_next_node, 1) << describe(tries);
      EXPECT_LE(tries.size(), 2u) << describe(tries);
      if (tries.size() > 1) {
        EXPECT_LT(tries.front().at, restarted_at) << describe(tries);
      }
    }
  }
}

} // namespace
} // namespace troupe::testing
