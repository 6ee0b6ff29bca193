// Each invariant against a small hand-made record with one known fault in it.

#include <gtest/gtest.h>

#include "checks.hpp"
#include "invariants.hpp"

namespace troupe::chaos_harness {
namespace {

using json = nlohmann::json;

constexpr micros s = 1'000'000;

operation op(std::string kind, std::string key, micros sent, micros answered, int status,
             json detail = json::object(), std::string node = "n1") {
  operation o;
  o.kind = std::move(kind);
  o.key = std::move(key);
  o.sent = sent;
  o.answered = answered;
  o.status = status;
  o.node = std::move(node);
  o.detail = std::move(detail);
  return o;
}

operation registered(const std::string& user, micros at) {
  return op("register", user, at, at + 1000, 201,
            {{"user_id", user}, {"email", user + "@x"}, {"seq", 0}});
}

operation wrote(const std::string& user, std::int64_t seq, micros sent, micros answered,
                int status = 200) {
  return op("update_profile", user, sent, answered, status, {{"seq", seq}});
}

operation read(const std::string& user, std::int64_t seq, micros sent, std::string node = "n2") {
  return op("get_profile", user, sent, sent + 1000, 200, {{"seq", seq}}, std::move(node));
}

TEST(chaos_checks, a_read_older_than_an_acknowledged_write_is_stale) {
  run_record run;
  run.operations = {registered("u1", 1 * s),
                    wrote("u1", 1, 2 * s, 3 * s),
                    read("u1", 0, 2 * s + 500'000), // sent before the ack: either value is fine
                    read("u1", 0, 4 * s, "n3"),     // sent after the ack of seq 1: stale
                    read("u1", 1, 5 * s),
                    wrote("u1", 2, 6 * s, 6 * s + 1000, 0),
                    read("u1", 2, 7 * s)}; // an unacknowledged write may be read
  json figures;
  auto r = check_reads(run, figures);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(figures["stale_reads"], 1);
  EXPECT_EQ(figures["reads_checked"], 4);
  EXPECT_NE(r.detail.find("via n3 at 4.0 s"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("1 behind seq 1"), std::string::npos) << r.detail;

  run.operations.erase(run.operations.begin() + 3);
  EXPECT_TRUE(check_reads(run, figures).passed);
}

TEST(chaos_checks, a_final_name_older_than_the_last_acknowledged_write_is_a_lost_write) {
  run_record run;
  run.operations = {registered("u1", 1 * s), wrote("u1", 1, 2 * s, 3 * s),
                    wrote("u1", 2, 4 * s, 5 * s), wrote("u1", 3, 6 * s, 9 * s, 504),
                    registered("u2", 1 * s)};
  db_snapshot db;
  db.users = {{"u1", "chaos 2"}, {"u2", "chaos 0"}};
  json figures;
  EXPECT_TRUE(check_writes(run, db, figures).passed);
  db.users["u1"] = "chaos 3"; // the unacknowledged write landed after all: fine
  EXPECT_TRUE(check_writes(run, db, figures).passed);

  db.users["u1"] = "chaos 1";
  auto r = check_writes(run, db, figures);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(figures["writes_lost"], 1);
  EXPECT_NE(r.detail.find("user u1 holds seq 1 after seq 2"), std::string::npos) << r.detail;

  db.users = {{"u1", "chaos 9"}};
  r = check_writes(run, db, figures);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(figures["registrations_lost"], 1) << "u2 is gone";
  EXPECT_NE(r.detail.find("never written"), std::string::npos) << r.detail;
}

TEST(chaos_checks, errors_count_only_outside_fault_windows_and_their_grace) {
  run_record run;
  fault_window w;
  w.type = "partition";
  w.target = "n2";
  w.start = 10 * s;
  w.end = 12 * s;
  run.faults = {w};
  auto prepare = op("put_stock", "sku", 0, 1000, 503, {{"phase", "prepare"}});
  run.operations = {prepare, op("get_profile", "u", 11 * s, 11 * s + 1000, 503),
                    op("get_profile", "u", 14 * s, 14 * s + 200'000, 0),
                    op("get_profile", "u", 15 * s, 15 * s + 1000, 200)};
  json figures;
  auto r = check_errors(run, figures);
  EXPECT_TRUE(r.passed) << r.detail;
  EXPECT_EQ(figures["grace_ms"], 2200);

  run.operations.push_back(op("create_order", "k", 20 * s, 20 * s + 1000, 500, {}, "n3"));
  r = check_errors(run, figures);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(figures["errors_outside_fault_windows"], 1);
  EXPECT_EQ(figures["grace_ms"], 8001);
  EXPECT_NE(r.detail.find("create_order via n3 at 20.0 s (500)"), std::string::npos) << r.detail;
}

TEST(chaos_checks, a_kill_window_lasts_until_the_last_error_through_another_node) {
  run_record run;
  fault_window kill{"kill", "n1", 10 * s, 11 * s};
  fault_window kill2{"kill", "n2", 30 * s, 31 * s};
  run.faults = {kill, kill2};
  run.operations = {op("get_order", "o", 10 * s + 500'000, 10 * s + 600'000, 503, {}, "n2"),
                    op("get_order", "o", 12 * s, 12 * s + 300'000, 0, {}, "n3"),
                    op("get_order", "o", 13 * s, 14 * s, 0, {}, "n1"), // the killed node itself
                    op("get_order", "o", 31 * s, 31 * s + 1000, 200, {}, "n3")};
  json figures;
  measure_kill_windows(run, figures);
  EXPECT_EQ(figures["error_window_after_kill_ms"], (json{{"count", 2}, {"p50", 0}, {"max", 2300}}));
}

db_snapshot::order_row order(std::string id, std::string status,
                             std::map<std::string, std::int64_t> lines = {{"sku1", 1}}) {
  return {std::move(id), "u1", std::move(status), "k-" + id, std::move(lines)};
}

operation placed(const std::string& key, const std::string& id, int status = 201) {
  return op(
      "create_order", id, 1 * s, 1 * s + 1000, status,
      {{"idempotency_key", key}, {"user_id", "u1"}, {"order_id", id}, {"lines", {{"sku1", 1}}}});
}

db_snapshot::event_row event(std::string type, std::string order_id, std::string id) {
  return {std::move(id), std::move(type), "u1", std::move(order_id), 100, true};
}

TEST(chaos_checks, every_acknowledged_order_must_be_final_once_and_alone_for_its_key) {
  run_record run;
  run.operations = {placed("k1", "o1"), placed("k1", "o1", 200), placed("k2", "o2")};
  db_snapshot db;
  db.orders = {order("o1", "confirmed"), order("o2", "rejected")};
  db.events = {event("order.confirmed", "o1", "e1"), event("order.rejected", "o2", "e2")};
  json figures;
  auto r = check_orders(run, db, figures);
  EXPECT_TRUE(r.passed) << r.detail;
  EXPECT_EQ(figures["orders_acknowledged"], 2);
  EXPECT_EQ(figures["orders_final"], 2);

  auto broken = run;
  broken.operations.push_back(placed("k1", "o3", 200)); // a retry answered another order
  broken.operations.push_back(placed("k4", "o4"));      // acknowledged, never stored
  db.orders.push_back(order("o3", "pending"));
  db.events.push_back(event("order.confirmed", "o1", "e3")); // confirmed twice
  r = check_orders(broken, db, figures);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(figures["orders_lost"], 1);
  EXPECT_EQ(figures["orders_unfinished"], 1);
  EXPECT_NE(r.detail.find("key k1 answered 2 orders"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("order o1 confirmed 2 times"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("order o4 is not in the database"), std::string::npos) << r.detail;
}

TEST(chaos_checks, stock_on_hand_is_what_was_stocked_less_what_was_confirmed) {
  run_record run;
  run.operations = {
      op("put_stock", "sku1", 0, 1000, 200, {{"on_hand", 100}, {"phase", "prepare"}})};
  db_snapshot db;
  db.orders = {order("o1", "confirmed", {{"sku1", 3}}), order("o2", "cancelled", {{"sku1", 5}}),
               order("o3", "reserved", {{"sku1", 2}})};
  db.stock["sku1"] = {97, 2, 2, 3};
  json figures;
  auto r = check_stock(run, db, figures);
  EXPECT_TRUE(r.passed) << r.detail;
  EXPECT_EQ(figures["units_confirmed"], 3);

  db.stock["sku1"] = {98, 2, 2, 3};
  r = check_stock(run, db, figures);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.detail.find("sku1 has 98 on hand, 100 stocked - 3 confirmed = 97"), std::string::npos)
      << r.detail;
  db.stock["sku1"] = {97, 4, 2, 3};
  EXPECT_FALSE(check_stock(run, db, figures).passed) << "reserved beyond what is held";
}

TEST(chaos_checks, each_event_has_one_notification_per_channel_the_user_accepts) {
  db_snapshot db;
  db.events = {{"e1", "user.registered", "u1", "", 100, true},
               {"e2", "order.confirmed", "u1", "o1", 200, true},
               {"e3", "order.confirmed", "u2", "o2", 300, true},
               {"e4", "order.rejected", "u3", "o3", 400, true}};
  db.notifications = {{{"e1", "email"}, 1}, {{"e2", "email"}, 1}, {{"e2", "push"}, 1},
                      {{"e3", "email"}, 1}, {{"e4", "email"}, 1}, {{"e4", "sms"}, 1}};
  // u2 turned push off before its order; u3 turned sms off only after its event, so the
  // SMS may or may not have gone out.
  db.prefs["u2"] = {true, false, true, 250};
  db.prefs["u3"] = {true, true, false, 450};
  json figures;
  auto r = check_notifications(db, figures);
  EXPECT_TRUE(r.passed) << r.detail;

  db.notifications[{"e2", "push"}] = 2;
  db.notifications[{"e3", "push"}] = 1;
  db.notifications.erase({"e1", "email"});
  r = check_notifications(db, figures);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(figures["duplicate_notifications"], 1);
  EXPECT_EQ(figures["notifications_missing"], 1);
  EXPECT_EQ(figures["notifications_despite_opt_out"], 1);
  EXPECT_NE(r.detail.find("order.confirmed e2 over push x2"), std::string::npos) << r.detail;

  db_snapshot waiting;
  waiting.undelivered_events = 3;
  EXPECT_FALSE(check_notifications(waiting, figures).passed);
}

TEST(chaos_checks, the_cluster_must_converge) {
  run_record run;
  EXPECT_FALSE(check_converged(run).passed);
  run.converged_after_ms = 1200;
  EXPECT_TRUE(check_converged(run).passed);
}

TEST(chaos_checks, an_unreachable_database_is_reported_not_thrown) {
  // Port 1 on loopback refuses at once; the loader retries until its deadline.
  std::string why;
  EXPECT_FALSE(load_snapshot("postgresql://nobody@127.0.0.1:1/none", 300, why));
  EXPECT_FALSE(why.empty());
}

} // namespace
} // namespace troupe::chaos_harness
