#include "troupe/events/outbox.hpp"

#include <pqxx/pqxx>

#include "events/events_fixture.hpp"

namespace troupe::events::test {
namespace {

TEST_F(events_test, append_exists_exactly_when_its_transaction_commits) {
  auto lost = make_event("order", "o-1", "order.created", 1);
  write({lost}, false);
  EXPECT_EQ(scalar("select count(*) from troupe_outbox"), 0);

  auto kept = make_event("order", "o-1", "order.confirmed", 7);
  write({kept}, true);
  pqxx::connection conn{pg_->url()};
  pqxx::work tx{conn};
  auto rows = tx.exec("select event_id::text, stream, stream_key, type, (payload->>'n')::int,"
                      " delivered_at is null from troupe_outbox");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<std::string>(), kept.event_id);
  EXPECT_EQ(rows[0][1].as<std::string>(), "order");
  EXPECT_EQ(rows[0][2].as<std::string>(), "o-1");
  EXPECT_EQ(rows[0][3].as<std::string>(), "order.confirmed");
  EXPECT_EQ(rows[0][4].as<int>(), 7);
  EXPECT_TRUE(rows[0][5].as<bool>());
}

TEST_F(events_test, duplicate_event_id_is_rejected) {
  auto e = make_event("order", "o-1", "order.created");
  write({e});
  EXPECT_THROW(write({e}), pqxx::unique_violation);
  EXPECT_EQ(scalar("select count(*) from troupe_outbox"), 1);
}

TEST_F(events_test, claim_succeeds_once_per_consumer_and_only_when_committed) {
  auto id = random_uuid();
  pqxx::connection conn{pg_->url()};
  {
    pqxx::work tx{conn};
    EXPECT_TRUE(claim(tx, "mailer", id));
    tx.abort(); // a rolled-back claim leaves the event unclaimed
  }
  {
    pqxx::work tx{conn};
    EXPECT_TRUE(claim(tx, "mailer", id));
    tx.commit();
  }
  {
    pqxx::work tx{conn};
    EXPECT_FALSE(claim(tx, "mailer", id));
    EXPECT_TRUE(claim(tx, "pusher", id)); // consumers dedupe independently
    tx.commit();
  }
  EXPECT_EQ(scalar("select count(*) from troupe_consumed"), 2);
}

} // namespace
} // namespace troupe::events::test
