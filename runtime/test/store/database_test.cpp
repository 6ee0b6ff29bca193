#include "troupe/store/database.hpp"

#include <algorithm>
#include <memory>
#include <thread>

#include <pqxx/pqxx>

#include "store/database_fixture.hpp"

namespace troupe::store::test {
namespace {

TEST_F(database_test, job_runs_and_returns_rows) {
  start(config());
  ASSERT_TRUE(wait_ready()) << db_->status();
  EXPECT_NE(db_->status().find("connected to 127.0.0.1:" + std::to_string(pg_->port())),
            std::string::npos)
      << db_->status();
  auto sum = run_job<int64_t>([](pqxx::connection_base& conn) -> caf::expected<int64_t> {
    prepare_once(conn, "series", "select generate_series(1, $1::int) as n");
    prepare_once(conn, "series", "select generate_series(1, $1::int) as n");
    pqxx::work tx{conn};
    int64_t total = 0;
    for (const auto& row : tx.exec_prepared("series", 4))
      total += row["n"].as<int64_t>();
    tx.commit();
    return total;
  });
  ASSERT_TRUE(sum) << describe(sum.error());
  EXPECT_EQ(*sum, 10);
  auto settings =
      run_job<std::string>([](pqxx::connection_base& conn) -> caf::expected<std::string> {
        pqxx::work tx{conn};
        auto row = tx.exec1("select current_setting('statement_timeout') || ' ' || "
                            "current_setting('synchronous_commit')");
        return row[0].as<std::string>();
      });
  ASSERT_TRUE(settings) << describe(settings.error());
  EXPECT_EQ(*settings, "5s on");
  EXPECT_EQ(metrics_->gauges("troupe_store_up", "").with({}).value(), 1);
}

TEST_F(database_test, array_literals_bind_any_strings_and_numbers) {
  start(config());
  ASSERT_TRUE(wait_ready()) << db_->status();
  std::vector<std::string> texts{"plain",       "",         "NULL", "a,b", "{x}", "say \"hi\"",
                                 "back\\slash", " padded ", "ünï"};
  auto back = run_job<std::vector<std::string>>(
      [texts](pqxx::connection_base& conn) -> caf::expected<std::vector<std::string>> {
        prepare_once(conn, "unnest_text", "select unnest($1::text[])");
        pqxx::nontransaction tx{conn};
        std::vector<std::string> out;
        for (const auto& row : tx.exec_prepared("unnest_text", array_literal(texts)))
          out.push_back(row[0].is_null() ? "<null>" : row[0].as<std::string>());
        return out;
      });
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_EQ(*back, texts);
  auto sums = run_job<std::string>([](pqxx::connection_base& conn) -> caf::expected<std::string> {
    prepare_once(conn, "sum_bigint",
                 "select coalesce(sum(x), 0)::text || ' ' || count(*) from unnest($1::bigint[]) x");
    pqxx::nontransaction tx{conn};
    auto some = tx.exec_prepared1(
        "sum_bigint", array_literal(std::vector<int64_t>{-5, 0, 4'000'000'000'000'000'000, 7}));
    auto none = tx.exec_prepared1("sum_bigint", array_literal(std::vector<int64_t>{}));
    return some[0].as<std::string>() + " / " + none[0].as<std::string>();
  });
  ASSERT_TRUE(sums) << describe(sums.error());
  EXPECT_EQ(*sums, "4000000000000000002 4 / 0 0");
}

TEST_F(database_test, migrations_apply_once) {
  std::vector<migration> ms{
      {2, "notes", "create table notes (id int primary key, body text)"},
      {1, "people", "create table people (id int primary key)"},
  };
  pqxx::connection conn{pg_->url()};
  ASSERT_FALSE(migrate(conn, ms));
  // Re-running either CREATE would fail, so success here means nothing ran again.
  ASSERT_FALSE(migrate(conn, ms));
  pqxx::work tx{conn};
  auto rows = tx.exec("select version, name from troupe_schema_migrations order by applied_at, "
                      "version");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].as<int>(), 1); // in version order, whatever the list order
  EXPECT_EQ(rows[1][1].as<std::string>(), "notes");
  tx.commit();

  ms.push_back({3, "broken", "create table nonsense ("});
  auto err = migrate(conn, ms);
  EXPECT_TRUE(is(err, errc::store_failure)) << describe(err);
  EXPECT_NE(describe(err).find("migration 3 (broken)"), std::string::npos) << describe(err);
}

TEST_F(database_test, concurrent_migrations_apply_each_version_once) {
  std::vector<migration> ms{
      {1, "log", "create table applied_log (version int); insert into applied_log values (1)"},
      {2, "slow", "select pg_sleep(0.3); insert into applied_log values (2)"},
      {3, "more", "insert into applied_log values (3)"},
  };
  caf::error results[2];
  std::thread nodes[2];
  for (int i = 0; i < 2; ++i)
    nodes[i] = std::thread{[&, i] {
      pqxx::connection conn{pg_->url()};
      results[i] = migrate(conn, ms);
    }};
  for (auto& t : nodes)
    t.join();
  EXPECT_FALSE(results[0]) << describe(results[0]);
  EXPECT_FALSE(results[1]) << describe(results[1]);
  pqxx::connection conn{pg_->url()};
  pqxx::work tx{conn};
  auto log = tx.exec("select version from applied_log order by version");
  ASSERT_EQ(log.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(log[i][0].as<int>(), i + 1);
  EXPECT_EQ(tx.exec1("select count(*) from troupe_schema_migrations")[0].as<int>(), 3);
}

TEST_F(database_test, database_applies_migrations_before_ready) {
  auto cfg = config();
  cfg.migrations = {{1, "kv", "create table kv (k text primary key, v text)"}};
  start(cfg);
  ASSERT_TRUE(wait_ready()) << db_->status();
  auto count = exec_count("select count(*) from kv");
  ASSERT_TRUE(count) << describe(count.error());
  EXPECT_EQ(*count, 0);
}

TEST_F(database_test, unique_violation_is_already_exists) {
  auto cfg = config();
  cfg.migrations = {{1, "users", "create table users (email text primary key)"}};
  start(cfg);
  ASSERT_TRUE(wait_ready()) << db_->status();
  auto insert = [this] {
    return run_job<bool>([](pqxx::connection_base& conn) -> caf::expected<bool> {
      prepare_once(conn, "insert_user", "insert into users (email) values ($1)");
      pqxx::work tx{conn};
      tx.exec_prepared("insert_user", "a@example.org");
      tx.commit();
      return true;
    });
  };
  auto first = insert();
  ASSERT_TRUE(first) << describe(first.error());
  auto second = insert();
  ASSERT_FALSE(second);
  EXPECT_TRUE(is(second.error(), errc::already_exists)) << describe(second.error());
}

TEST_F(database_test, statement_timeout_is_store_timeout) {
  auto cfg = config();
  cfg.statement_timeout = 200ms;
  cfg.pool_size = 1;
  start(cfg);
  ASSERT_TRUE(wait_ready()) << db_->status();
  auto before = std::chrono::steady_clock::now();
  auto slow = exec_count("select count(*) from pg_sleep(3)");
  auto took = std::chrono::steady_clock::now() - before;
  ASSERT_FALSE(slow);
  EXPECT_TRUE(is(slow.error(), errc::store_timeout)) << describe(slow.error());
  EXPECT_LT(took, 2s);
  // The connection survives a cancelled statement.
  auto next = exec_count("select 1");
  ASSERT_TRUE(next) << describe(next.error());
}

TEST_F(database_test, unreachable_at_start_then_ready_once_the_server_is_up) {
  pg_->stop();
  auto cfg = config();
  // Trust authentication ignores the password; it is here to prove it never leaks.
  cfg.url =
      "postgresql://postgres:s3cret@127.0.0.1:" + std::to_string(pg_->port()) + "/troupe_test";
  start(cfg);
  run_for(300ms);
  EXPECT_FALSE(db_->ready());
  auto status = db_->status();
  EXPECT_NE(status.find("connecting to 127.0.0.1:" + std::to_string(pg_->port()) + " (attempt"),
            std::string::npos)
      << status;
  EXPECT_EQ(status.find("s3cret"), std::string::npos) << status;
  auto before = std::chrono::steady_clock::now();
  auto early = exec_count("select 1");
  EXPECT_LT(std::chrono::steady_clock::now() - before, 500ms);
  ASSERT_FALSE(early);
  EXPECT_TRUE(is(early.error(), errc::store_unavailable)) << describe(early.error());

  pg_->start();
  ASSERT_TRUE(wait_ready()) << db_->status();
  auto later = exec_count("select 41 + 1");
  ASSERT_TRUE(later) << describe(later.error());
  EXPECT_EQ(*later, 42);
  EXPECT_GT(metrics_->counters("troupe_store_connect_attempts_total", "").with({}).value(), 2u);
}

TEST_F(database_test, reconnects_after_the_server_restarts) {
  start(config());
  ASSERT_TRUE(wait_ready()) << db_->status();
  ASSERT_TRUE(exec_count("select 1"));
  pg_->stop();
  auto lost = exec_count("select 1");
  ASSERT_FALSE(lost);
  EXPECT_TRUE(is(lost.error(), errc::store_unavailable)) << describe(lost.error());
  // Each stale connection fails one job, then submissions fail fast until the server is back.
  for (int i = 0; i < 3; ++i) {
    auto again = exec_count("select 1");
    ASSERT_FALSE(again);
    EXPECT_TRUE(is(again.error(), errc::store_unavailable)) << describe(again.error());
  }
  EXPECT_TRUE(run_until([&] { return !db_->ready(); }, 2s));

  pg_->start();
  auto deadline = std::chrono::steady_clock::now() + 15s;
  caf::expected<int64_t> back = make_error(errc::store_unavailable);
  while (!back && std::chrono::steady_clock::now() < deadline) {
    back = exec_count("select 7");
    if (!back) {
      EXPECT_TRUE(is(back.error(), errc::store_unavailable)) << describe(back.error());
      run_for(20ms);
    }
  }
  ASSERT_TRUE(back) << describe(back.error()) << " / " << db_->status();
  EXPECT_EQ(*back, 7);
  EXPECT_TRUE(wait_ready()) << db_->status();
}

} // namespace
} // namespace troupe::store::test
