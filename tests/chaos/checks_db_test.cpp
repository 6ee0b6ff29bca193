// The database side of the checks against a throwaway PostgreSQL with the project's schema.

#include <chrono>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "checks.hpp"
#include "invariants.hpp"
#include "support/postgres_suite.hpp"
#include "troupe/events/schema.hpp"
#include "troupe/notification/store.hpp"
#include "troupe/order/orders.hpp"
#include "troupe/store/migrations.hpp"
#include "troupe/user/repository.hpp"

namespace troupe::chaos_harness {
namespace {

using json = nlohmann::json;

const std::string user_id = "00000000-0000-4000-8000-000000000001";
const std::string order_id = "00000000-0000-4000-8000-0000000000a1";

class chaos_checks_db : public testing::postgres_suite {
protected:
  void SetUp() override {
    ASSERT_NE(pg_, nullptr);
    conn_ = std::make_unique<pqxx::connection>(pg_->url());
    std::vector<store::migration> all;
    for (auto part : {events::outbox_migrations(), user::user_migrations(),
                      order::order_migrations(), notification::notification_migrations()})
      all.insert(all.end(), part.begin(), part.end());
    ASSERT_FALSE(store::migrate(*conn_, all));
  }

  void sql(const std::string& statement) {
    pqxx::work tx{*conn_};
    tx.exec0(statement);
    tx.commit();
  }

  // One user who ordered 3 units of sku1, confirmed, with its events and notifications.
  void seed(const std::string& order_status) {
    sql("INSERT INTO users VALUES ('" + user_id +
        "', 'a@x', 'h', 'chaos 2', 'user', 3, now(), now())");
    sql("INSERT INTO orders (id, user_id, status, items, payment_method, payment_token, "
        "idempotency_key, request_hash, version, created_at, updated_at) VALUES ('" +
        order_id + "', '" + user_id + "', '" + order_status +
        "', '[{\"sku\":\"sku1\",\"quantity\":3}]', 'sim', 'tok_ok', 'k1', 'h', 4, now(), now())");
    sql("INSERT INTO stock VALUES ('sku1', 97, 0, 3)");
    sql("INSERT INTO stock_reservations VALUES ('sku1', '" + order_id + "', 3, 'taken')");
    sql("INSERT INTO notification_preferences VALUES ('" + user_id +
        "', true, false, true, now() - interval '1 hour')");
    sql("INSERT INTO troupe_outbox (event_id, stream, stream_key, type, payload, delivered_at) "
        "VALUES ('00000000-0000-4000-8000-0000000000e1', 'user', 'u', 'user.registered', "
        "'{\"user_id\":\"" +
        user_id +
        "\"}', now()), "
        "('00000000-0000-4000-8000-0000000000e2', 'order', 'o', 'order.confirmed', "
        "'{\"user_id\":\"" +
        user_id + "\",\"order_id\":\"" + order_id + "\"}', now())");
    for (auto [event, channel] : {std::pair{"e1", "email"}, std::pair{"e2", "email"}})
      sql(std::string{"INSERT INTO notifications (id, event_id, channel, user_id, recipient, "
                      "subject, body, status, next_attempt_at, created_at, updated_at) VALUES "
                      "(gen_random_uuid(), '00000000-0000-4000-8000-0000000000"} +
          event + "', '" + channel + "', '" + user_id +
          "', 'a@x', 's', 'b', 'sent', now(), "
          "now(), now())");
  }

  std::unique_ptr<pqxx::connection> conn_;
};

TEST_F(chaos_checks_db, the_snapshot_reads_every_table_the_checks_need) {
  seed("authorized");
  std::string why;
  auto started = std::chrono::steady_clock::now();
  auto db = load_snapshot(pg_->url(), 300, why);
  ASSERT_TRUE(db) << why;
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(300))
      << "an unfinished saga is waited for";
  EXPECT_EQ(db->unfinished_orders, 1);
  EXPECT_EQ(db->undelivered_events, 0);
  ASSERT_EQ(db->orders.size(), 1u);
  EXPECT_EQ(db->orders[0].id, order_id);
  EXPECT_EQ(db->orders[0].idempotency_key, "k1");
  EXPECT_EQ(db->orders[0].lines, (std::map<std::string, std::int64_t>{{"sku1", 3}}));
  EXPECT_EQ(db->stock["sku1"].on_hand, 97);
  EXPECT_EQ(db->stock["sku1"].taken, 3);
  EXPECT_EQ(db->users[user_id], "chaos 2");
  ASSERT_EQ(db->events.size(), 2u);
  EXPECT_TRUE(db->events[1].delivered);
  EXPECT_EQ(db->events[1].order_id, order_id);
  EXPECT_EQ(db->notifications.size(), 2u);
  ASSERT_TRUE(db->prefs.count(user_id));
  EXPECT_FALSE(db->prefs[user_id].push);
  EXPECT_LT(db->prefs[user_id].updated, db->events[0].created);
}

TEST_F(chaos_checks_db, a_settled_database_that_matches_the_record_passes_every_invariant) {
  seed("confirmed");
  run_record run;
  run.converged_after_ms = 10;
  auto add = [&](std::string kind, std::string key, int status, json detail) {
    operation o;
    o.kind = std::move(kind);
    o.key = std::move(key);
    o.node = "n1";
    o.sent = static_cast<micros>(run.operations.size()) * 1000;
    o.answered = o.sent + 500;
    o.status = status;
    o.detail = std::move(detail);
    run.operations.push_back(std::move(o));
  };
  add("put_stock", "sku1", 200, {{"on_hand", 100}, {"phase", "prepare"}});
  add("register", user_id, 201, {{"user_id", user_id}, {"seq", 0}});
  add("update_profile", user_id, 200, {{"seq", 1}});
  add("update_profile", user_id, 200, {{"seq", 2}});
  add("get_profile", user_id, 200, {{"seq", 2}});
  add("create_order", order_id, 201,
      {{"order_id", order_id}, {"idempotency_key", "k1"}, {"user_id", user_id}});
  EXPECT_TRUE(check_invariants(run, pg_->url()));
  ASSERT_EQ(run.invariants.size(), 7u);
  for (const auto& r : run.invariants)
    EXPECT_TRUE(r.passed) << r.name << ": " << r.detail;
  EXPECT_EQ(run.figures["acknowledged_operations"], 6);
  EXPECT_EQ(run.figures["lost_operations"], 0);
  EXPECT_EQ(run.figures["orders_final"], 1);

  // The same record against a database that lost the last write.
  sql("UPDATE users SET display_name = 'chaos 1'");
  run.invariants.clear();
  EXPECT_FALSE(check_invariants(run, pg_->url()));
  EXPECT_EQ(run.figures["lost_operations"], 1);
}

} // namespace
} // namespace troupe::chaos_harness
