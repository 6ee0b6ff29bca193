#include "troupe/events/relay.hpp"

#include <algorithm>
#include <map>

#include <pqxx/pqxx>

#include "events/events_fixture.hpp"

namespace troupe::events::test {
namespace {

/// What subscribers saw, in delivery order; written inside the relay (the test thread).
struct journal {
  struct entry {
    std::string consumer;
    event ev;
  };
  std::vector<entry> entries;
  std::vector<ack_fn> held;

  std::vector<std::string> ids_of(const std::string& consumer) const {
    std::vector<std::string> result;
    for (auto& x : entries)
      if (x.consumer == consumer)
        result.push_back(x.ev.event_id);
    return result;
  }

  size_t index_of(const std::string& consumer, const std::string& event_id, size_t nth = 0) {
    for (size_t i = 0; i < entries.size(); ++i)
      if (entries[i].consumer == consumer && entries[i].ev.event_id == event_id && nth-- == 0)
        return i;
    return entries.size();
  }
};

/// A subscription that records each delivery and acks at once.
subscription recording(std::shared_ptr<journal> log, std::string consumer,
                       std::vector<std::string> types) {
  return {consumer, std::move(types),
          [log, consumer](caf::event_based_actor*, const event& e, ack_fn ack) {
            log->entries.push_back({consumer, e});
            ack(caf::error{});
          }};
}

/// A subscription that records each delivery and keeps the ack for the test to call.
subscription holding(std::shared_ptr<journal> log, std::string consumer) {
  return {consumer, {}, [log, consumer](caf::event_based_actor*, const event& e, ack_fn ack) {
            log->entries.push_back({consumer, e});
            log->held.push_back(std::move(ack));
          }};
}

int64_t counter_value(observability::registry& m, const std::string& name, const std::string& label,
                      const std::string& value) {
  return static_cast<int64_t>(m.counters(name, "", {label}).with({value}).value());
}

int64_t gauge_value(observability::registry& m, const std::string& name) {
  return m.gauges(name, "").with({}).value();
}

TEST_F(events_test, relay_delivers_committed_events_to_matching_subscribers) {
  auto log = std::make_shared<journal>();
  auto created = make_event("order", "o-1", "order.created", 1);
  auto shipped = make_event("order", "o-2", "order.shipped", 2);
  auto orphan = make_event("user", "u-1", "user.renamed", 3);
  write({created, shipped, orphan});
  write({make_event("order", "o-3", "order.created")}, false);
  start_relay(fast_config({recording(log, "billing", {"order.created"}),
                           recording(log, "audit", {"order.created", "order.shipped"}),
                           recording(log, "loyalty", {"user.deleted"})}));
  ASSERT_TRUE(run_real([&] { return delivered_rows() == 3; })) << delivered_rows();
  EXPECT_EQ(log->ids_of("billing"), std::vector<std::string>{created.event_id});
  EXPECT_EQ(log->ids_of("audit"), (std::vector<std::string>{created.event_id, shipped.event_id}));
  EXPECT_TRUE(log->ids_of("loyalty").empty()); // the unmatched event was marked all the same
  auto& got = log->entries.at(log->index_of("audit", shipped.event_id)).ev;
  EXPECT_EQ(got.stream, "order");
  EXPECT_EQ(got.stream_key, "o-2");
  EXPECT_EQ(got.type, "order.shipped");
  EXPECT_NE(got.payload_json.find("2"), std::string::npos) << got.payload_json;
  EXPECT_EQ(scalar("select count(*) from troupe_outbox"), 3); // the rolled-back one never existed

  // An event committed while the relay runs is picked up by a later poll.
  auto later = make_event("order", "o-1", "order.shipped", 4);
  write({later});
  ASSERT_TRUE(run_real([&] { return delivered_rows() == 4; }));
  run_real_for(100ms);
  EXPECT_EQ(log->ids_of("audit").size(), 3u); // nothing delivered twice
}

TEST_F(events_test, failed_head_holds_back_its_key_but_not_others) {
  auto log = std::make_shared<journal>();
  auto a1 = make_event("sku", "a", "stock.reserved", 1);
  auto a2 = make_event("sku", "a", "stock.released", 2);
  auto b1 = make_event("sku", "b", "stock.reserved", 3);
  auto b2 = make_event("sku", "b", "stock.released", 4);
  write({a1, a2, b1, b2});
  auto failures_left = std::make_shared<int>(3);
  subscription flaky{
      "ledger", {}, [log, a1, failures_left](caf::event_based_actor*, const event& e, ack_fn ack) {
        log->entries.push_back({"ledger", e});
        if (e.event_id == a1.event_id && (*failures_left)-- > 0)
          ack(make_error(errc::io_failure, "ledger down"));
        else
          ack(caf::error{});
      }};
  start_relay(fast_config({flaky}));
  ASSERT_TRUE(run_real([&] { return delivered_rows() == 4; }));
  auto ok_a1 = log->index_of("ledger", a1.event_id, 3); // the fourth attempt succeeded
  ASSERT_LT(ok_a1, log->entries.size());
  EXPECT_EQ(log->index_of("ledger", a1.event_id, 4), log->entries.size()) << "a1 retried again";
  EXPECT_GT(log->index_of("ledger", a2.event_id), ok_a1) << "a2 overtook the failing a1";
  EXPECT_LT(log->index_of("ledger", b2.event_id), ok_a1) << "key b waited for key a";
  EXPECT_EQ(log->ids_of("ledger").size(), 7u);
  EXPECT_EQ(counter_value(*metrics_, "troupe_outbox_delivery_failures_total", "consumer", "ledger"),
            3);
}

TEST_F(events_test, claim_makes_a_redelivered_event_take_effect_once) {
  exec("create table effects (event_id uuid not null)");
  auto log = std::make_shared<journal>();
  auto claimed = std::make_shared<std::vector<bool>>();
  auto db = db_;
  subscription mailer{"mailer",
                      {"user.registered"},
                      [log, claimed, db](caf::event_based_actor* self, const event& e, ack_fn ack) {
                        log->entries.push_back({"mailer", e});
                        db->run<bool>(
                            self,
                            [id = e.event_id](pqxx::connection_base& conn) -> caf::expected<bool> {
                              pqxx::work tx{conn};
                              bool first = claim(tx, "mailer", id);
                              if (first)
                                tx.exec_params("insert into effects values ($1::uuid)", id);
                              tx.commit();
                              return first;
                            },
                            [claimed, ack](caf::expected<bool> first) {
                              if (!first)
                                return ack(first.error());
                              claimed->push_back(*first);
                              ack(caf::error{});
                            });
                      }};
  auto e = make_event("user", "u-1", "user.registered");
  write({e});
  start_relay(fast_config({mailer}));
  ASSERT_TRUE(run_real([&] { return delivered_rows() == 1; }));
  // As if the relay crashed after delivering but before its mark committed.
  exec("update troupe_outbox set delivered_at = null");
  ASSERT_TRUE(run_real([&] { return log->entries.size() == 2 && delivered_rows() == 1; }));
  EXPECT_EQ(*claimed, (std::vector<bool>{true, false}));
  EXPECT_EQ(scalar("select count(*) from effects"), 1);
}

TEST_F(events_test, relay_survives_a_database_restart) {
  auto log = std::make_shared<journal>();
  start_relay(fast_config({recording(log, "audit", {})}));
  write({make_event("order", "o-1", "order.created")});
  ASSERT_TRUE(run_real([&] { return delivered_rows() == 1; }));
  pg_->stop();
  run_real_for(500ms); // several polls fail meanwhile
  pg_->start();
  auto after = make_event("order", "o-1", "order.cancelled");
  write({after});
  ASSERT_TRUE(run_real([&] { return delivered_rows() == 2; }, 15s)) << db_->status();
  EXPECT_EQ(log->ids_of("audit").back(), after.event_id);
}

TEST_F(events_test, relay_keeps_at_most_batch_events_in_flight) {
  auto log = std::make_shared<journal>();
  std::vector<event> events;
  for (int i = 0; i < 5; ++i)
    events.push_back(make_event("order", "o-" + std::to_string(i), "order.created", i));
  write(events);
  auto cfg = fast_config({holding(log, "slow")});
  cfg.batch = 2;
  start_relay(std::move(cfg));
  ASSERT_TRUE(run_real([&] { return log->held.size() == 2; }));
  run_real_for(200ms);
  EXPECT_EQ(log->held.size(), 2u);
  // Acks may come from any thread, long after delivery.
  for (size_t acked = 0; acked < 5; ++acked) {
    ASSERT_TRUE(run_real([&] { return log->held.size() > acked; })) << acked;
    log->held[acked](caf::error{});
  }
  ASSERT_TRUE(run_real([&] { return delivered_rows() == 5; }));
  EXPECT_EQ(log->entries.size(), 5u);
}

TEST_F(events_test, metrics_show_pending_lag_and_delivered) {
  auto log = std::make_shared<journal>();
  write({make_event("order", "o-1", "order.created")});
  start_relay(fast_config({holding(log, "slow")}));
  ASSERT_TRUE(run_real([&] { return log->held.size() == 1; }));
  exec("update troupe_outbox set created_at = now() - interval '90 seconds'");
  ASSERT_TRUE(run_real([&] {
    return gauge_value(*metrics_, "troupe_outbox_lag_seconds") >= 90 &&
           gauge_value(*metrics_, "troupe_outbox_pending") == 1;
  })) << metrics_->render();
  EXPECT_EQ(counter_value(*metrics_, "troupe_outbox_delivered_total", "type", "order.created"), 0);
  log->held[0](caf::error{});
  ASSERT_TRUE(run_real([&] {
    return counter_value(*metrics_, "troupe_outbox_delivered_total", "type", "order.created") ==
               1 &&
           gauge_value(*metrics_, "troupe_outbox_pending") == 0 &&
           gauge_value(*metrics_, "troupe_outbox_lag_seconds") == 0;
  })) << metrics_->render();
  auto text = metrics_->render();
  EXPECT_NE(text.find("troupe_outbox_delivered_total{type=\"order.created\"} 1"), std::string::npos)
      << text;
}

TEST_F(events_test, unacked_delivery_times_out_and_is_retried) {
  auto log = std::make_shared<journal>();
  write({make_event("order", "o-1", "order.created")});
  auto cfg = fast_config({holding(log, "slow")});
  cfg.ack_timeout = 100ms;
  start_relay(std::move(cfg));
  ASSERT_TRUE(run_real([&] { return log->held.size() == 2; }));
  log->held[0](caf::error{}); // too late: that attempt already counted as failed
  log->held[1](caf::error{});
  ASSERT_TRUE(run_real([&] { return delivered_rows() == 1; }));
  EXPECT_GE(counter_value(*metrics_, "troupe_outbox_delivery_failures_total", "consumer", "slow"),
            1);
}

TEST_F(events_test, invalid_configs_are_rejected) {
  relay_config cfg;
  EXPECT_FALSE(spawn_relay(sys_, cfg)); // no database
  cfg.db = db_;
  auto noop = [](caf::event_based_actor*, const event&, ack_fn ack) { ack(caf::error{}); };
  cfg.subscriptions = {{"a", {}, noop}, {"a", {}, noop}};
  auto dup = spawn_relay(sys_, cfg);
  ASSERT_FALSE(dup);
  EXPECT_TRUE(is(dup.error(), errc::invalid_argument));
  EXPECT_EQ(relay_child(fast_config({})).name, "outbox_relay");
}

} // namespace
} // namespace troupe::events::test
