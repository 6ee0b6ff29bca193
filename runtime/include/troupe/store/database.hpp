#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "troupe/core/blocking_pool.hpp"
#include "troupe/store/migrations.hpp"
#include "troupe/store/statement.hpp"

namespace pqxx {
class connection_base;
class transaction_base;
} // namespace pqxx

namespace troupe::observability {
class registry;
} // namespace troupe::observability

namespace troupe::store {

/// Where the database is and how the connection pool behaves.
struct database_config {
  /// libpq URL, e.g. "postgresql://user@host:5432/db"; the password never reaches a log.
  std::string url;
  /// Connections, one per worker thread.
  size_t pool_size = 4;
  /// Jobs waiting beyond this many are shed with `errc::overloaded`.
  size_t max_queue = 1024;
  /// Server-side limit per statement; exceeding it yields `errc::store_timeout`.
  std::chrono::milliseconds statement_timeout{5000};
  /// libpq connect timeout, rounded up to whole seconds (at least one).
  std::chrono::milliseconds connect_timeout{2000};
  /// First delay before reconnecting; doubles per failed attempt.
  std::chrono::milliseconds reconnect_initial{100};
  /// Longest delay between reconnect attempts.
  std::chrono::milliseconds reconnect_max{5000};
  /// Most writes (see `database::write`) that share one transaction and its COMMIT.
  size_t max_batch = 64;
  /// Most shared write transactions running at once; writes arriving meanwhile queue up and
  /// share the next one. At least one, at most `pool_size`.
  size_t write_batches = 2;
  /// Schema changes applied by the first connection before the pool reports ready.
  std::vector<migration> migrations;
};

namespace detail {

/// Configuration, status and metrics shared by the workers of one database.
struct database_state;

/// A step of `database::write` as the write queue sees it: code that `run`s in the shared
/// transaction, or `statements` sent with the batch and a `finish` that reads their rows. Either
/// returns its error value, if any; `output` then makes the job's result from the step's
/// error, the shared transaction's error or none.
struct write_step {
  std::function<caf::error(pqxx::transaction_base&)> run;
  std::vector<statement> statements;
  std::function<caf::error(std::vector<rows>&)> finish;
  std::function<troupe::detail::job_output(const caf::error&)> output;
};

/// Keeps the value of `result` in `value` and returns its error, if it has one.
template <class T>
caf::error keep(std::optional<T>& value, caf::expected<T> result) {
  if (!result)
    return std::move(result.error());
  value.emplace(std::move(*result));
  return caf::error{};
}

/// Makes a write's result from the value its step left in `value` and the error, if any.
template <class T>
std::function<troupe::detail::job_output(const caf::error&)>
output_of(std::shared_ptr<std::optional<T>> value) {
  return [value](const caf::error& err) {
    caf::error why = err;
    if (!why && !value->has_value())
      why = make_error(errc::store_failure, "write step produced no value");
    auto out = why ? std::make_shared<caf::expected<T>>(std::move(why))
                   : std::make_shared<caf::expected<T>>(std::move(**value));
    bool ok = static_cast<bool>(*out);
    return troupe::detail::job_output{std::move(out), ok};
  };
}

} // namespace detail

/// A PostgreSQL connection pool: each worker thread owns one connection and runs jobs on it.
///
/// Connects in the background, reconnects with backoff after a loss, and fails jobs at once
/// with `errc::store_unavailable` while no connection is usable. Stop it before the actor system.
class database {
public:
  /// Starts the workers; never blocks on the network.
  static std::shared_ptr<database>
  start(caf::actor_system& sys, database_config cfg,
        std::shared_ptr<observability::registry> metrics = nullptr);

  /// Runs `job` with a worker's connection and then `done(result)` inside `self`; libpqxx
  /// exceptions from `job` arrive as `errc` errors, never as exceptions.
  ///
  /// Reads go through a `pqxx::nontransaction`: under READ COMMITTED every statement takes
  /// its own snapshot with or without BEGIN around it, so a read transaction would answer the
  /// same after two more round trips (BEGIN and SET TRANSACTION READ ONLY) and a third after it.
  template <class T>
  void run(caf::event_based_actor* self,
           std::function<caf::expected<T>(pqxx::connection_base&)> job,
           std::function<void(caf::expected<T>)> done,
           caf::timespan timeout = std::chrono::seconds{10}) {
    pool_->run_erased<T>(
        self,
        [job = std::move(job), st = state_](void* context) {
          std::optional<caf::expected<T>> result;
          auto err = guarded(*st, context, [&](pqxx::connection_base& conn) {
            result.emplace(job(conn));
            return *result ? caf::error{} : result->error();
          });
          if (err && (!result || *result))
            result.emplace(std::move(err));
          bool ok = static_cast<bool>(*result);
          return troupe::detail::job_output{std::make_shared<caf::expected<T>>(std::move(*result)),
                                            ok};
        },
        std::move(done), timeout);
  }

  /// Runs `step` as part of a write transaction and then `done(result)` inside `self`.
  ///
  /// Writes queued at the same moment (from any actor) share one transaction and one COMMIT,
  /// so they share one WAL flush. They wait in a queue of their own; a pool thread takes the
  /// lead and runs batch after batch while writes keep coming (at most `write_batches`
  /// threads at once) and answers each writer itself, so a write costs no pool job of its
  /// own and no thread hop between its COMMIT and its answer. Each `step` runs in its own
  /// SAVEPOINT: an error value it returns, or an exception it throws, rolls back its own effects
  /// only; the other steps of the batch commit together. `done` receives a value only after the
  /// shared COMMIT succeeded, so an acknowledged write is durable. If the transaction itself fails
  /// (lost connection, a COMMIT whose outcome is unknown), every step of the batch gets that error.
  ///
  /// `step` must not commit or abort `tx`; it may run more than once only if the caller
  /// retries. Prepare statements inside it on `tx.conn()` (e.g. with `prepare_once`). Steps of
  /// one batch run one after another on one connection, so a step should be short: a few
  /// statements on the rows of one entity. Reads that need no durability belong in `run`.
  template <class T>
  void write(caf::event_based_actor* self,
             std::function<caf::expected<T>(pqxx::transaction_base&)> step,
             std::function<void(caf::expected<T>)> done,
             caf::timespan timeout = std::chrono::seconds{10}) {
    // The value waits here between the step and the COMMIT that makes it true.
    auto value = std::make_shared<std::optional<T>>();
    detail::write_step erased;
    erased.run = [step = std::move(step), value](pqxx::transaction_base& tx) {
      return detail::keep(*value, step(tx));
    };
    erased.output = detail::output_of(value);
    queue_write(std::move(erased), pool_->owe<T>(self, std::move(done), timeout), timeout);
  }

  /// Runs a write made of `stmts` and then `done(result)` inside `self`, with the guarantees
  /// of the `write` above. It costs the fewest round trips: when every write of a batch is
  /// made of statements, the batch is BEGIN, all their statements and COMMIT in two round
  /// trips. `interpret` reads the statements' rows on the pool thread before the COMMIT.
  ///
  /// A statement that fails, or an error value from `interpret`, rolls back this write alone,
  /// but makes its batch run again with a savepoint per write: keep both for what is rare. A
  /// duplicate or a fenced row that the SQL simply does not write (ON CONFLICT DO NOTHING, a
  /// version in the WHERE) is better told as a value.
  template <class T>
  void write(caf::event_based_actor* self, std::vector<statement> stmts,
             std::function<caf::expected<T>(std::vector<rows>&)> interpret,
             std::function<void(caf::expected<T>)> done,
             caf::timespan timeout = std::chrono::seconds{10}) {
    auto value = std::make_shared<std::optional<T>>();
    detail::write_step erased;
    erased.statements = std::move(stmts);
    erased.finish = [interpret = std::move(interpret), value](std::vector<rows>& rs) {
      return detail::keep(*value, interpret(rs));
    };
    erased.output = detail::output_of(value);
    queue_write(std::move(erased), pool_->owe<T>(self, std::move(done), timeout), timeout);
  }

  /// Returns whether a connection is up and the migrations are applied (for /readyz).
  bool ready() const;

  /// Returns one line for logs and readiness detail, e.g. "connecting to h:5432 (attempt 3): ...".
  std::string status() const;

  /// Stops the workers and closes the connections; queued jobs fail with `errc::shutting_down`.
  void stop();

  /// Calls `stop()`.
  ~database();

  database(const database&) = delete;
  database& operator=(const database&) = delete;

private:
  database() = default;

  // Runs `body` on the connection of `context`, turning every exception into an error and
  // noting a lost connection so its worker reconnects.
  static caf::error guarded(detail::database_state& st, void* context,
                            const std::function<caf::error(pqxx::connection_base&)>& body);

  // Starts a lead job in the pool: it runs batches of queued writes until none is left.
  static void start_leader(const std::shared_ptr<detail::database_state>& st);

  // The loop of a lead job, on a pool thread with the connection `context`.
  static void lead_writes(const std::shared_ptr<detail::database_state>& st, void* context);

  // A lead job that never ran; fails the queue if no other leader is left to run it.
  static void leader_lost(detail::database_state& st, const caf::error& why);

  // Queues `step` for the next shared write transaction; `reply` answers its caller.
  void queue_write(detail::write_step step, std::shared_ptr<troupe::detail::owed_reply> reply,
                   caf::timespan timeout);

  std::shared_ptr<detail::database_state> state_;
  std::shared_ptr<blocking_pool> pool_;
};

} // namespace troupe::store
