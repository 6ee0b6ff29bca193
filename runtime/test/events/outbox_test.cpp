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

// A consumer that records each event it applies in a table of its own, in the same
// transaction, and after the commit counts it in `committed`.
const store::query record_applied{"test_record_applied",
                                  "insert into applied (event_id) values ($1)"};

inline_consumer recording(std::vector<std::string> types, std::shared_ptr<int> committed) {
  inline_consumer c;
  c.name = "recorder";
  c.types = std::move(types);
  c.apply = [committed](const event& e) {
    return planned{{store::bind(record_applied, e.event_id)},
                   [committed](std::vector<store::rows>& rows) -> after_commit {
                     if (rows.size() != 1 || rows[0].affected() != 1)
                       return {};
                     return [committed] { ++*committed; };
                   }};
  };
  return c;
}

// An outbox whose one inline consumer is `recording` into a fresh table `applied`.
struct recorder {
  std::shared_ptr<int> committed = std::make_shared<int>(0);
  outbox box;

  recorder(pqxx::connection& conn, std::vector<std::string> types) {
    pqxx::nontransaction{conn}.exec0("create table applied (event_id text primary key)");
    box.add_inline(recording(std::move(types), committed));
  }
};

TEST_F(events_test,
       an_inline_consumer_applies_an_event_in_its_transaction_and_it_is_born_delivered) {
  pqxx::connection conn{pg_->url()};
  recorder rec{conn, {"order.confirmed"}};
  auto& box = rec.box;
  auto& committed = rec.committed;

  auto undone = make_event("order", "o-1", "order.confirmed");
  {
    pqxx::work tx{conn};
    auto then = box.append(tx, undone);
    EXPECT_TRUE(then);
    tx.abort(); // rolled back: neither the event nor its effect exists, and `then` never runs
  }
  auto done = make_event("order", "o-2", "order.confirmed");
  auto other = make_event("order", "o-2", "order.shipped"); // wanted by nobody
  {
    pqxx::work tx{conn};
    auto then = box.append(tx, done);
    EXPECT_FALSE(box.append(tx, other)) << "no consumer of order.shipped, nothing to run";
    tx.commit();
    then();
  }
  EXPECT_EQ(*committed, 1);
  EXPECT_EQ(scalar("select count(*) from applied"), 1);
  EXPECT_EQ(scalar("select count(*) from applied where event_id = '" + done.event_id + "'"), 1);
  EXPECT_EQ(scalar("select count(*) from troupe_outbox"), 2);
  EXPECT_EQ(scalar("select count(*) from troupe_outbox where delivered_at is null"), 0)
      << "applied inline or wanted by nobody, no event waits for the relay";
}

TEST_F(events_test, an_event_a_relayed_consumer_wants_waits_for_the_relay_after_inline_ones) {
  pqxx::connection conn{pg_->url()};
  recorder rec{conn, {}};
  auto& box = rec.box;
  auto& committed = rec.committed;
  box.add_relayed({"user.registered"});
  auto relayed = make_event("user", "u-1", "user.registered");
  auto inline_only = make_event("order", "o-1", "order.confirmed");
  {
    pqxx::work tx{conn};
    auto first = box.append(tx, relayed);
    auto second = box.append(tx, inline_only);
    tx.commit();
    first();
    second();
  }
  EXPECT_EQ(*committed, 2);
  EXPECT_EQ(scalar("select count(*) from applied"), 2);
  EXPECT_EQ(
      scalar("select count(*) from troupe_outbox where delivered_at is null and event_id = '" +
             relayed.event_id + "'"),
      1);
  EXPECT_EQ(scalar("select count(*) from troupe_outbox where delivered_at is null"), 1);
}

TEST_F(events_test, effects_run_what_a_retried_step_appended_once) {
  pqxx::connection conn{pg_->url()};
  recorder rec{conn, {}};
  auto& box = rec.box;
  auto& committed = rec.committed;
  effects fx;
  auto e = make_event("order", "o-1", "order.confirmed");
  {
    pqxx::work tx{conn};
    fx.append(&box, tx, e);
    tx.abort(); // the batch failed; the step runs again
  }
  {
    pqxx::work tx{conn};
    fx.append(&box, tx, e);
    tx.commit();
  }
  fx.run();
  EXPECT_EQ(*committed, 1);
  effects plain; // without an outbox, the event is for the relay alone
  auto relayed = make_event("order", "o-2", "order.confirmed");
  {
    pqxx::work tx{conn};
    plain.append(nullptr, tx, relayed);
    tx.commit();
  }
  plain.run();
  EXPECT_EQ(*committed, 1);
  EXPECT_EQ(scalar("select count(*) from troupe_outbox where delivered_at is null"), 1);
}

} // namespace
} // namespace troupe::events::test
