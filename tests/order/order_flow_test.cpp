// The order domain end to end: a real troupe-node on a real PostgreSQL, driven over HTTP
// as a client app would. Every saga is watched to its final status with bounded polling,
// and every test ends by checking that stock is conserved.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/node.hpp"
#include "support/postgres_suite.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using headers = std::map<std::string, std::string>;

const std::string secret = "an-order-flow-test-secret-of-32+chars";
const std::string admin_email = "root@example.org";
const std::string admin_password = "admin-password-1";

bool is_final(const std::string& status) {
  return status == "confirmed" || status == "rejected" || status == "cancelled";
}

/// A registered user and the bearer header of its session.
struct session {
  std::string id;
  headers auth;
};

/// `auth` plus an Idempotency-Key.
headers with_key(headers auth, const std::string& key) {
  auth["Idempotency-Key"] = key;
  return auth;
}

/// The body of a new order paid with the simulated provider.
json order_body(const std::vector<std::pair<std::string, int>>& lines,
                const std::string& token = "tok_ok") {
  auto items = json::array();
  for (const auto& [sku, quantity] : lines)
    items.push_back({{"sku", sku}, {"quantity", quantity}});
  return {{"items", items}, {"payment", {{"method", "sim"}, {"token", token}}}};
}

class order_flow : public postgres_suite {
protected:
  void SetUp() override {
    ASSERT_NE(pg_, nullptr);
    start_node();
  }

  /// Flags a fixture adds to every node it starts.
  virtual std::vector<std::string> extra_flags() const { return {}; }

  void start_node() {
    std::vector<std::string> flags{"--store", "postgres", "--database-url", pg_->url(),
                                   "--jwt-secret", secret, "--admin-email", admin_email,
                                   "--admin-password", admin_password, "--hash-threads", "2",
                                   // Hundreds of concurrent clients here all come from 127.0.0.1.
                                   "--http-max-connections-per-client", "1024"};
    for (auto& f : extra_flags())
      flags.push_back(f);
    node_ = std::make_unique<running_node>(std::move(flags));
    ASSERT_NE(node_->port, 0) << "exit code " << node_->proc.wait_exit(0ms).value_or(-1)
                              << " (-1: still running)\n"
                              << node_->proc.err();
    ASSERT_TRUE(node_->wait_ready()) << node_->proc.err();
  }

  static std::string unique(const std::string& tag) {
    static std::atomic<int> n{0};
    return tag + "-" + std::to_string(++n) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  }

  /// The body as a JSON object; an empty object if it is none, so lookups never throw.
  static json parse(const http_reply& res) {
    auto body = json::parse(res.body, nullptr, false);
    return body.is_object() ? body : json::object();
  }

  static void expect_problem(const http_reply& res, int status) {
    EXPECT_EQ(res.status, status) << res.body << res.error;
    EXPECT_EQ(res.headers.count("content-type") ? res.headers.at("content-type") : "",
              "application/problem+json")
        << res.body;
    auto body = json::parse(res.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << res.body;
    EXPECT_EQ(body["status"], status);
    EXPECT_TRUE(body["type"].is_string() && body["title"].is_string()) << res.body;
  }

  /// Registers and logs in a fresh user.
  session new_user(const std::string& tag) {
    auto email = unique(tag) + "@example.org";
    auto reg = node_->send(
        "POST", "/v1/users",
        json{{"email", email}, {"password", "password-123"}, {"display_name", "Buyer " + tag}}
            .dump());
    EXPECT_EQ(reg.status, 201) << reg.body << reg.error;
    return {parse(reg).value("id", std::string{}), login(email, "password-123")};
  }

  headers login(const std::string& email, const std::string& password) {
    auto res = node_->send("POST", "/v1/auth/login",
                           json{{"email", email}, {"password", password}}.dump());
    EXPECT_EQ(res.status, 200) << res.body << res.error;
    return {{"Authorization", "Bearer " + parse(res).value("access_token", std::string{})}};
  }

  /// The admin's bearer header; the admin is ensured in the background after start.
  headers admin() {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    auto body = json{{"email", admin_email}, {"password", admin_password}}.dump();
    auto res = node_->send("POST", "/v1/auth/login", body);
    while (res.status != 200 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      res = node_->send("POST", "/v1/auth/login", body);
    }
    EXPECT_EQ(res.status, 200) << res.body << res.error << node_->proc.err();
    return {{"Authorization", "Bearer " + parse(res).value("access_token", std::string{})}};
  }

  void set_stock(const headers& admin_auth, const std::string& sku, int on_hand) {
    auto res =
        node_->send("PUT", "/v1/inventory/" + sku, json{{"on_hand", on_hand}}.dump(), admin_auth);
    ASSERT_EQ(res.status, 200) << res.body << res.error;
    auto body = parse(res);
    EXPECT_EQ(body["sku"], sku);
    EXPECT_EQ(body["on_hand"], on_hand);
    EXPECT_EQ(body["available"], on_hand - body.value("reserved", 0)) << res.body;
  }

  json stock(const headers& admin_auth, const std::string& sku) {
    auto res = node_->get("/v1/inventory/" + sku, admin_auth);
    EXPECT_EQ(res.status, 200) << res.body << res.error;
    return parse(res);
  }

  /// Expects `sku` to hold `on_hand` units with nothing reserved.
  void expect_stock(const headers& admin_auth, const std::string& sku, int on_hand) {
    auto s = stock(admin_auth, sku);
    EXPECT_EQ(s["on_hand"], on_hand) << sku << ": " << s.dump();
    EXPECT_EQ(s["reserved"], 0) << sku << ": " << s.dump();
    EXPECT_EQ(s["available"], on_hand) << sku << ": " << s.dump();
  }

  http_reply place(const session& who, const std::string& key, const json& body) {
    return node_->send("POST", "/v1/orders", body.dump(), with_key(who.auth, key));
  }

  /// Places an order that must be accepted as new; returns it.
  json place_new(const session& who, const json& body) {
    auto res = place(who, unique("key"), body);
    EXPECT_EQ(res.status, 201) << res.body << res.error;
    return parse(res);
  }

  /// Polls the order until its saga ends (or `limit` passes); returns what was seen last.
  json wait_final(const headers& auth, const std::string& id,
                  std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    json last;
    for (;;) {
      auto res = node_->get("/v1/orders/" + id, auth);
      // A non-200 (say, a 503 while an activation restarts) is only remembered: the
      // deadline decides, and the final expectation shows what was seen.
      if (res.status == 200) {
        last = parse(res);
        if (is_final(last.value("status", "")))
          return last;
      } else {
        last = {{"http_status", res.status}, {"body", res.body}, {"error", res.error}};
      }
      if (std::chrono::steady_clock::now() >= deadline)
        return last;
      std::this_thread::sleep_for(20ms);
    }
  }

  /// Every order `auth` may list with `query`, following next_cursor to the end.
  std::vector<json> list_all(const headers& auth, const std::string& query = "limit=100") {
    std::vector<json> out;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      auto res =
          node_->get("/v1/orders?" + query + (cursor.empty() ? "" : "&cursor=" + cursor), auth);
      EXPECT_EQ(res.status, 200) << res.body << res.error << "\n" << logged_errors();
      auto body = parse(res);
      if (res.status != 200)
        break;
      for (auto& o : body["items"])
        out.push_back(o);
      if (!body.contains("next_cursor"))
        break;
      cursor = body["next_cursor"].get<std::string>();
    }
    return out;
  }

  /// The node's error lines, to show with a failure that the node logged the cause of.
  std::string logged_errors() const {
    // The log line may trail the response it explains by a moment.
    node_->proc.wait_for_line(" error ", 500ms);
    std::string out, err = node_->proc.err();
    for (size_t pos = 0; pos < err.size();) {
      auto end = std::min(err.find('\n', pos), err.size());
      auto line = err.substr(pos, end - pos);
      if (line.find(" error ") != std::string::npos || line.find(" critical ") != std::string::npos)
        out += line + "\n";
      pos = end + 1;
    }
    return out;
  }

  static std::set<std::string> ids_of(const std::vector<json>& orders) {
    std::set<std::string> out;
    for (auto& o : orders)
      out.insert(o.value("id", ""));
    return out;
  }

  std::unique_ptr<running_node> node_;
};

TEST_F(order_flow, an_order_paid_with_tok_ok_is_confirmed_and_takes_its_stock) {
  auto root = admin();
  auto sku = unique("happy");
  set_stock(root, sku, 10);
  auto buyer = new_user("happy");

  auto res = place(buyer, unique("key"), order_body({{sku, 3}}));
  ASSERT_EQ(res.status, 201) << res.body << res.error;
  auto placed = parse(res);
  ASSERT_TRUE(placed.contains("id")) << res.body;
  auto id = placed["id"].get<std::string>();
  EXPECT_EQ(res.headers["location"], "/v1/orders/" + id);
  EXPECT_EQ(placed["status"], "pending");
  EXPECT_EQ(placed["user_id"], buyer.id);
  EXPECT_EQ(placed["items"], json::array({{{"sku", sku}, {"quantity", 3}}}));
  EXPECT_EQ(placed["payment"], json({{"method", "sim"}}));
  EXPECT_FALSE(placed.contains("reason")) << res.body;
  EXPECT_TRUE(placed["version"].is_number_integer()) << res.body;
  EXPECT_TRUE(placed["created_at"].is_string() && placed["updated_at"].is_string()) << res.body;
  EXPECT_EQ(res.body.find("tok_ok"), std::string::npos) << "the payment token leaked";

  auto done = wait_final(buyer.auth, id);
  ASSERT_EQ(done.value("status", ""), "confirmed") << done.dump();
  EXPECT_FALSE(done.contains("reason")) << done.dump();
  EXPECT_GT(done["version"].get<int>(), placed["version"].get<int>());
  EXPECT_EQ(done["created_at"], placed["created_at"]);
  EXPECT_GE(done["updated_at"].get<std::string>(), done["created_at"].get<std::string>());
  expect_stock(root, sku, 7);

  auto all = list_all(buyer.auth);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["id"], id);
  EXPECT_EQ(all[0]["status"], "confirmed");
  EXPECT_EQ(ids_of(list_all(buyer.auth, "status=confirmed")), std::set<std::string>{id});
  EXPECT_TRUE(list_all(buyer.auth, "status=pending").empty());
  EXPECT_EQ(list_all(buyer.auth, "user_id=" + buyer.id + "&status=confirmed").size(), 1u);
}

TEST_F(order_flow, a_declined_payment_rejects_the_order_and_returns_its_stock) {
  auto root = admin();
  auto sku = unique("decline");
  set_stock(root, sku, 5);
  auto buyer = new_user("decline");

  auto placed = place_new(buyer, order_body({{sku, 2}}, "tok_decline"));
  ASSERT_TRUE(placed.contains("id")) << placed.dump();
  auto done = wait_final(buyer.auth, placed["id"]);
  EXPECT_EQ(done.value("status", ""), "rejected") << done.dump();
  EXPECT_EQ(done.value("reason", ""), "payment_declined") << done.dump();
  expect_stock(root, sku, 5);
  EXPECT_EQ(list_all(buyer.auth, "status=rejected").size(), 1u);
}

TEST_F(order_flow, an_order_beyond_the_stock_is_rejected_and_holds_nothing) {
  auto root = admin();
  auto base = unique("oos");
  auto plenty = base + "-a", short_one = base + "-b", missing = base + "-c";
  set_stock(root, plenty, 10);
  set_stock(root, short_one, 1);
  auto buyer = new_user("oos");

  auto too_many = place_new(buyer, order_body({{plenty, 11}}));
  auto done = wait_final(buyer.auth, too_many.value("id", ""));
  EXPECT_EQ(done.value("status", ""), "rejected") << done.dump();
  EXPECT_EQ(done.value("reason", ""), "out_of_stock") << done.dump();
  expect_stock(root, plenty, 10);

  // Lines are taken in SKU order, after the payment: the first is taken before the second
  // comes up short, so the rejection has to void the payment and give the first one back.
  auto two_lines = place_new(buyer, order_body({{short_one, 2}, {plenty, 4}}));
  EXPECT_EQ(two_lines["items"][0]["sku"], plenty) << two_lines.dump();
  done = wait_final(buyer.auth, two_lines.value("id", ""));
  EXPECT_EQ(done.value("status", ""), "rejected") << done.dump();
  EXPECT_EQ(done.value("reason", ""), "out_of_stock") << done.dump();
  expect_stock(root, plenty, 10);
  expect_stock(root, short_one, 1);

  // A SKU nobody stocked is out of stock too, and stays unknown to inventory.
  auto unknown = place_new(buyer, order_body({{plenty, 1}, {missing, 1}}));
  done = wait_final(buyer.auth, unknown.value("id", ""));
  EXPECT_EQ(done.value("status", ""), "rejected") << done.dump();
  EXPECT_EQ(done.value("reason", ""), "out_of_stock") << done.dump();
  expect_stock(root, plenty, 10);
  expect_problem(node_->get("/v1/inventory/" + missing, root), 404);

  // What is left can still be sold, to the last unit.
  auto exact = place_new(buyer, order_body({{plenty, 10}, {short_one, 1}}));
  done = wait_final(buyer.auth, exact.value("id", ""));
  EXPECT_EQ(done.value("status", ""), "confirmed") << done.dump();
  expect_stock(root, plenty, 0);
  expect_stock(root, short_one, 0);
}

TEST_F(order_flow, owners_cancel_confirmed_orders_and_get_their_stock_back) {
  auto root = admin();
  auto sku = unique("cancel");
  set_stock(root, sku, 10);
  auto owner = new_user("cancel-owner");
  auto other = new_user("cancel-other");

  auto placed = place_new(owner, order_body({{sku, 4}}));
  auto id = placed.value("id", "");
  auto done = wait_final(owner.auth, id);
  ASSERT_EQ(done.value("status", ""), "confirmed") << done.dump();
  expect_stock(root, sku, 6);

  // Strangers can neither see nor cancel it, nor list the owner's orders; admins can see it.
  expect_problem(node_->get("/v1/orders/" + id, other.auth), 403);
  expect_problem(node_->send("POST", "/v1/orders/" + id + "/cancel", "", other.auth), 403);
  expect_problem(node_->get("/v1/orders?user_id=" + owner.id, other.auth), 403);
  EXPECT_TRUE(list_all(other.auth).empty());
  auto seen = node_->get("/v1/orders/" + id, root);
  EXPECT_EQ(seen.status, 200) << seen.body;
  EXPECT_EQ(ids_of(list_all(root, "user_id=" + owner.id)), std::set<std::string>{id});
  EXPECT_EQ(wait_final(owner.auth, id).value("status", ""), "confirmed");
  expect_stock(root, sku, 6);

  auto cancelled = node_->send("POST", "/v1/orders/" + id + "/cancel", "", owner.auth);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body << cancelled.error;
  auto first = parse(cancelled);
  EXPECT_EQ(first["id"], id);
  EXPECT_EQ(first["status"], "cancelled");
  expect_stock(root, sku, 10);

  auto again = node_->send("POST", "/v1/orders/" + id + "/cancel", "", owner.auth);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(parse(again), first) << "a repeated cancel changed the order";
  EXPECT_EQ(parse(node_->get("/v1/orders/" + id, owner.auth)), first);
  expect_stock(root, sku, 10);

  auto declined = place_new(owner, order_body({{sku, 1}}, "tok_decline"));
  auto rejected = wait_final(owner.auth, declined.value("id", ""));
  ASSERT_EQ(rejected.value("status", ""), "rejected") << rejected.dump();
  expect_problem(node_->send("POST", "/v1/orders/" + rejected["id"].get<std::string>() + "/cancel",
                             "", owner.auth),
                 409);
  EXPECT_EQ(wait_final(owner.auth, rejected["id"]).value("status", ""), "rejected");

  auto nobody = "00000000-0000-4000-8000-000000000000";
  expect_problem(node_->get(std::string{"/v1/orders/"} + nobody, owner.auth), 404);
  expect_problem(
      node_->send("POST", std::string{"/v1/orders/"} + nobody + "/cancel", "", owner.auth), 404);
  expect_problem(node_->get("/v1/orders/not-an-id", owner.auth), 404);
  expect_stock(root, sku, 10);
}

TEST_F(order_flow, an_idempotency_key_makes_one_order_and_bad_requests_make_none) {
  auto root = admin();
  auto sku = unique("idem");
  set_stock(root, sku, 20);
  auto buyer = new_user("idem");
  auto key = unique("key");
  auto body = order_body({{sku, 2}});

  auto first = place(buyer, key, body);
  ASSERT_EQ(first.status, 201) << first.body << first.error;
  auto id = parse(first)["id"].get<std::string>();
  auto replay = place(buyer, key, body);
  EXPECT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(parse(replay)["id"], id);
  EXPECT_EQ(replay.headers["location"], "/v1/orders/" + id);

  auto done = wait_final(buyer.auth, id);
  ASSERT_EQ(done.value("status", ""), "confirmed") << done.dump();
  auto late = place(buyer, key, body);
  EXPECT_EQ(late.status, 200) << late.body;
  EXPECT_EQ(parse(late), done) << "a replay must answer the stored order";

  // Same key, different request: refused, whatever differs.
  expect_problem(place(buyer, key, order_body({{sku, 3}})), 422);
  expect_problem(place(buyer, key, order_body({{sku, 2}}, "tok_decline")), 422);
  // Keys belong to their user: another user's identical key is a new order of theirs.
  auto other = new_user("idem-other");
  auto theirs = place(other, key, body);
  EXPECT_EQ(theirs.status, 201) << theirs.body;
  EXPECT_NE(parse(theirs).value("id", ""), id);
  EXPECT_EQ(wait_final(other.auth, parse(theirs).value("id", "")).value("status", ""), "confirmed");

  expect_problem(node_->send("POST", "/v1/orders", body.dump(), buyer.auth), 400);
  expect_problem(node_->send("POST", "/v1/orders", body.dump(), with_key(buyer.auth, "")), 400);
  expect_problem(
      node_->send("POST", "/v1/orders", body.dump(), with_key(buyer.auth, std::string(201, 'k'))),
      400);

  auto line = [&](json quantity) { return json{{"sku", sku}, {"quantity", quantity}}; };
  auto pay = json{{"method", "sim"}, {"token", "tok_ok"}};
  auto items = [&](std::initializer_list<json> lines) {
    auto out = json::array();
    for (const auto& l : lines)
      out.push_back(l);
    return out;
  };
  std::vector<json> malformed{
      json::object(),
      {{"payment", pay}},
      {{"items", json::array()}, {"payment", pay}},
      {{"items", "abc"}, {"payment", pay}},
      {{"items", items({1})}, {"payment", pay}},
      {{"items", items({line(0)})}, {"payment", pay}},
      {{"items", items({line(-1)})}, {"payment", pay}},
      {{"items", items({line(10001)})}, {"payment", pay}},
      {{"items", items({line(6000), line(6000)})}, {"payment", pay}},
      {{"items", items({line("2")})}, {"payment", pay}},
      {{"items", items({line(1.5)})}, {"payment", pay}},
      {{"items", items({line(nullptr)})}, {"payment", pay}},
      {{"items", items({json{{"sku", 42}, {"quantity", 1}}})}, {"payment", pay}},
      {{"items", items({json{{"sku", ""}, {"quantity", 1}}})}, {"payment", pay}},
      {{"items", items({json{{"quantity", 1}}})}, {"payment", pay}},
      {{"items", items({line(1)})}},
      {{"items", items({line(1)})}, {"payment", "sim"}},
      {{"items", items({line(1)})}, {"payment", json{{"method", "sim"}}}},
      {{"items", items({line(1)})}, {"payment", json{{"method", "sim"}, {"token", 42}}}},
      {{"items", items({line(1)})}, {"payment", json{{"method", ""}, {"token", "tok_ok"}}}},
      {{"items", items({line(1)})}, {"payment", pay}, {"coupon", "FREE"}},
  };

  for (const auto& bad : malformed) {
    SCOPED_TRACE(bad.dump());
    expect_problem(place(buyer, unique("bad"), bad), 400);
  }
  expect_problem(node_->send("POST", "/v1/orders", "[1,2]", with_key(buyer.auth, unique("k"))),
                 400);
  expect_problem(
      node_->send("POST", "/v1/orders", "{\"items\":", with_key(buyer.auth, unique("k"))), 400);
  auto as_text = with_key(buyer.auth, unique("k"));
  as_text["Content-Type"] = "text/plain";
  expect_problem(node_->send("POST", "/v1/orders", body.dump(), as_text), 415);

  // Inventory is the admin's, and everything wants a token.
  expect_problem(
      node_->send("PUT", "/v1/inventory/" + sku, json{{"on_hand", 1000}}.dump(), buyer.auth), 403);
  expect_problem(node_->get("/v1/inventory/" + sku, buyer.auth), 403);
  expect_problem(node_->send("PUT", "/v1/inventory/" + sku, json{{"on_hand", 1000}}.dump()), 401);
  expect_problem(node_->send("PUT", "/v1/inventory/" + sku, json{{"on_hand", -1}}.dump(), root),
                 400);
  expect_problem(node_->send("PUT", "/v1/inventory/" + sku, json{{"on_hand", "9"}}.dump(), root),
                 400);
  expect_problem(
      node_->send("PUT", "/v1/inventory/" + sku, json{{"on_hand", 9}, {"x", 1}}.dump(), root), 400);
  expect_problem(node_->send("POST", "/v1/orders", body.dump(), {{"Idempotency-Key", unique("k")}}),
                 401);
  expect_problem(
      node_->send("POST", "/v1/orders", body.dump(),
                  {{"Idempotency-Key", unique("k")}, {"Authorization", "Bearer not-a-token"}}),
      401);
  expect_problem(node_->get("/v1/orders"), 401);
  expect_problem(node_->get("/v1/orders/" + id), 401);
  expect_problem(node_->send("POST", "/v1/orders/" + id + "/cancel", ""), 401);

  // None of that made an order or moved stock: 2 + 2 units sold, nothing else.
  auto mine = list_all(buyer.auth);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]["id"], id);
  expect_stock(root, sku, 16);

  // A client retrying impatiently: ten copies of one new request at once make one order.
  auto raced_key = unique("race");
  std::vector<http_reply> replies(10);
  std::vector<std::thread> clients;
  for (auto& reply : replies)
    clients.emplace_back([&] {
      auto h = with_key(buyer.auth, raced_key);
      h["Content-Type"] = "application/json";
      reply = http_call(node_->port, "POST", "/v1/orders", h, body.dump(), 30s);
    });
  for (auto& t : clients)
    t.join();
  std::set<std::string> raced_ids;
  int created = 0;
  for (auto& r : replies) {
    EXPECT_TRUE(r.status == 201 || r.status == 200) << r.status << " " << r.body << r.error;
    created += r.status == 201;
    raced_ids.insert(parse(r).value("id", ""));
  }
  EXPECT_EQ(created, 1);
  ASSERT_EQ(raced_ids.size(), 1u);
  EXPECT_EQ(wait_final(buyer.auth, *raced_ids.begin()).value("status", ""), "confirmed");
  EXPECT_EQ(list_all(buyer.auth).size(), 2u);
  expect_stock(root, sku, 14);
}

TEST_F(order_flow, two_hundred_concurrent_orders_for_fifty_units_sell_exactly_fifty) {
  constexpr int units = 50, orders = 200, buyers = 4;
  auto root = admin();
  auto sku = unique("rush");
  set_stock(root, sku, units);
  std::vector<session> users;
  for (int u = 0; u < buyers; ++u)
    users.push_back(new_user("rush"));

  std::vector<http_reply> replies(orders);
  std::vector<std::thread> clients;
  auto body = order_body({{sku, 1}}).dump();
  for (int i = 0; i < orders; ++i)
    clients.emplace_back([&, i] {
      auto h = with_key(users[i % buyers].auth, "rush-" + std::to_string(i));
      h["Content-Type"] = "application/json";
      replies[i] = http_call(node_->port, "POST", "/v1/orders", h, body, 30s);
    });
  for (auto& t : clients)
    t.join();
  std::set<std::string> acknowledged;
  for (int i = 0; i < orders; ++i) {
    EXPECT_EQ(replies[i].status, 201) << i << ": " << replies[i].body << replies[i].error;
    acknowledged.insert(parse(replies[i]).value("id", ""));
  }
  ASSERT_EQ(acknowledged.size(), static_cast<size_t>(orders));

  // The listing reads the store, so polling it does not itself drive any saga.
  std::vector<json> seen;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    seen.clear();
    for (auto& u : users)
      for (auto& o : list_all(u.auth))
        seen.push_back(o);
    auto unfinished = std::count_if(seen.begin(), seen.end(),
                                    [](const json& o) { return !is_final(o.value("status", "")); });
    if ((seen.size() == static_cast<size_t>(orders) && unfinished == 0) ||
        std::chrono::steady_clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(ids_of(seen), acknowledged);
  int confirmed = 0, out_of_stock = 0;
  for (auto& o : seen) {
    if (o["status"] == "confirmed")
      ++confirmed;
    else if (o["status"] == "rejected" && o.value("reason", "") == "out_of_stock")
      ++out_of_stock;
    else
      ADD_FAILURE() << "unexpected outcome: " << o.dump();
  }
  EXPECT_EQ(confirmed, units);
  EXPECT_EQ(out_of_stock, orders - units);
  expect_stock(root, sku, 0);
}

TEST_F(order_flow, newest_first_pages_follow_next_cursor_without_duplicates) {
  auto root = admin();
  auto sku = unique("pages");
  set_stock(root, sku, 100);
  auto buyer = new_user("pages");
  std::vector<std::string> placed; // oldest first
  for (int i = 0; i < 5; ++i)
    placed.push_back(place_new(buyer, order_body({{sku, i + 1}})).value("id", ""));

  std::vector<json> listed;
  std::vector<size_t> page_sizes;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto res =
        node_->get("/v1/orders?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), buyer.auth);
    ASSERT_EQ(res.status, 200) << res.body << "\n" << logged_errors();
    auto body = parse(res);
    page_sizes.push_back(body["items"].size());
    for (auto& o : body["items"])
      listed.push_back(o);
    if (!body.contains("next_cursor"))
      break;
    cursor = body["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{2, 2, 1}));
  ASSERT_EQ(listed.size(), 5u);
  EXPECT_EQ(ids_of(listed), std::set<std::string>(placed.begin(), placed.end()));
  for (size_t i = 1; i < listed.size(); ++i) {
    auto newer = listed[i - 1]["created_at"].get<std::string>();
    auto older = listed[i]["created_at"].get<std::string>();
    EXPECT_GE(newer, older) << "page order is not newest first at " << i;
    // Orders placed one after another are listed in reverse, unless the clock did not tick.
    auto pos = [&](const json& o) {
      return std::find(placed.begin(), placed.end(), o.value("id", "")) - placed.begin();
    };
    if (newer != older) {
      EXPECT_GT(pos(listed[i - 1]), pos(listed[i]));
    }
  }

  expect_problem(node_->get("/v1/orders?limit=0", buyer.auth), 400);
  expect_problem(node_->get("/v1/orders?limit=101", buyer.auth), 400);
  expect_problem(node_->get("/v1/orders?limit=two", buyer.auth), 400);
  expect_problem(node_->get("/v1/orders?cursor=garbage", buyer.auth), 400);
  expect_problem(node_->get("/v1/orders?status=shipped", buyer.auth), 400);
  expect_problem(node_->get("/v1/orders?sort=asc", buyer.auth), 400);
  for (auto& id : placed)
    EXPECT_TRUE(is_final(wait_final(buyer.auth, id).value("status", "")));
  expect_stock(root, sku, 100 - (1 + 2 + 3 + 4 + 5));
}

/// Nodes whose payment provider takes half a second, so sagas are caught mid-flight.
class order_flow_slow_payment : public order_flow {
protected:
  std::vector<std::string> extra_flags() const override { return {"--payment-latency-ms", "500"}; }
};

/// Every token but tok_ok and tok_decline fails at the provider.
class order_flow_failing_payment : public order_flow {
protected:
  std::vector<std::string> extra_flags() const override { return {"--payment-failure-rate", "1"}; }
};

TEST_F(order_flow_failing_payment, an_open_breaker_refuses_new_orders_with_retry_after) {
  auto root = admin();
  auto sku = unique("breaker");
  set_stock(root, sku, 100);
  auto buyer = new_user("breaker");
  // Five technical failures in a row (the gateway's threshold) open the breaker.
  for (int i = 0; i < 5; ++i) {
    auto placed = place_new(buyer, order_body({{sku, 1}}, "tok_flaky"));
    auto done = wait_final(buyer.auth, placed.value("id", ""));
    EXPECT_EQ(done.value("status", ""), "rejected") << done.dump();
    EXPECT_EQ(done.value("reason", ""), "payment_failed") << done.dump();
  }
  auto stored = list_all(buyer.auth).size();
  auto refused = place(buyer, unique("key"), order_body({{sku, 1}}, "tok_ok"));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("/problems/unavailable"), std::string::npos) << refused.body;
  ASSERT_EQ(refused.headers.count("retry-after"), 1u);
  auto retry = std::stoi(refused.headers["retry-after"]);
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 5);
  EXPECT_EQ(list_all(buyer.auth).size(), stored) << "a refused order is not stored";
  expect_stock(root, sku, 100); // every rejection gave its unit back
}

TEST_F(order_flow_slow_payment, sagas_cut_short_by_kill_9_finish_on_the_next_node) {
  constexpr int units = 30, orders = 20, each = 2;
  auto root = admin();
  auto sku = unique("restart");
  set_stock(root, sku, units);
  auto buyer = new_user("restart");
  std::set<std::string> acknowledged;
  for (int i = 0; i < orders; ++i)
    acknowledged.insert(place_new(buyer, order_body({{sku, each}})).value("id", ""));
  ASSERT_EQ(acknowledged.size(), static_cast<size_t>(orders));

  auto before = list_all(buyer.auth);
  auto in_flight = std::count_if(before.begin(), before.end(),
                                 [](const json& o) { return !is_final(o.value("status", "")); });
  ASSERT_GT(in_flight, 0) << "every saga ended before the kill; nothing was tested";
  node_->proc.signal(SIGKILL);
  ASSERT_EQ(node_->proc.wait_exit(10s), 128 + SIGKILL);

  start_node();
  // Only the listing is polled: it reads the store and wakes no order, so whatever
  // finishes the sagas is the new node's own recovery.
  std::vector<json> after;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    after = list_all(buyer.auth);
    auto unfinished = std::count_if(after.begin(), after.end(),
                                    [](const json& o) { return !is_final(o.value("status", "")); });
    if (unfinished == 0 || std::chrono::steady_clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(ids_of(after), acknowledged);
  int confirmed = 0;
  for (auto& o : after) {
    if (o["status"] == "confirmed") {
      ++confirmed;
    } else {
      EXPECT_TRUE(o["status"] == "rejected" && o.value("reason", "") == "out_of_stock") << o.dump();
    }
  }
  // tok_ok is always authorized, so the only lost sales are the units that were not there.
  EXPECT_EQ(confirmed, units / each);
  auto s = stock(root, sku);
  EXPECT_EQ(s["on_hand"], units - each * confirmed) << s.dump();
  EXPECT_EQ(s["reserved"], 0) << s.dump();
}

TEST_F(order_flow_slow_payment, an_order_cancelled_mid_saga_ends_cancelled_and_holds_nothing) {
  auto root = admin();
  auto sku = unique("midcancel");
  set_stock(root, sku, 5);
  auto buyer = new_user("midcancel");
  auto placed = place_new(buyer, order_body({{sku, 2}}));
  auto id = placed.value("id", "");
  // The payment takes 500 ms, so the saga is still short of confirmed here.
  auto cancelled = node_->send("POST", "/v1/orders/" + id + "/cancel", "", buyer.auth);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body << cancelled.error;
  EXPECT_EQ(parse(cancelled)["status"], "cancelled") << cancelled.body;
  auto done = wait_final(buyer.auth, id);
  EXPECT_EQ(done.value("status", ""), "cancelled") << done.dump();
  expect_stock(root, sku, 5);
}

/// What an order does when its activation crashes once after point `status` of its saga.
struct crash_case {
  std::string status;
  std::string token;
  std::string outcome;
  std::string reason;
};

void PrintTo(const crash_case& c, std::ostream* os) {
  *os << c.status << "/" << c.token;
}

/// Nodes whose order activations crash once after a given point of the saga.
class order_flow_crash_hook : public order_flow, public ::testing::WithParamInterface<crash_case> {
protected:
  std::vector<std::string> extra_flags() const override {
    return {"--order-crash-after", GetParam().status};
  }
};

TEST_P(order_flow_crash_hook, a_saga_resumes_after_its_activation_crashes) {
  auto& c = GetParam();
  auto root = admin();
  auto sku = unique("crash");
  set_stock(root, sku, 5);
  auto buyer = new_user("crash");
  auto placed = place_new(buyer, order_body({{sku, 2}}, c.token));
  auto done = wait_final(buyer.auth, placed.value("id", ""), 15s);
  EXPECT_EQ(done.value("status", ""), c.outcome) << done.dump();
  EXPECT_EQ(done.value("reason", ""), c.reason) << done.dump();
  expect_stock(root, sku, c.outcome == "confirmed" ? 3 : 5);
  // The hook must have fired, or this test proved nothing about resuming.
  EXPECT_TRUE(node_->proc.wait_for_line("crashing after " + c.status + " (test hook)", 1s))
      << node_->proc.err();
}

INSTANTIATE_TEST_SUITE_P(
    statuses, order_flow_crash_hook,
    ::testing::Values(crash_case{"pending", "tok_ok", "confirmed", ""},
                      crash_case{"authorized", "tok_ok", "confirmed", ""},
                      crash_case{"taken", "tok_ok", "confirmed", ""},
                      crash_case{"rejecting", "tok_decline", "rejected", "payment_declined"}),
    [](const ::testing::TestParamInfo<crash_case>& info) { return info.param.status; });

} // namespace
} // namespace troupe::testing
