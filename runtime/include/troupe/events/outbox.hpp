#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "troupe/events/event.hpp"
#include "troupe/store/statement.hpp"

namespace pqxx {
class transaction_base;
} // namespace pqxx

namespace troupe::events {

/// Writes `e` to the outbox inside `tx`, the transaction of the state change it describes, so
/// the event exists exactly when that change commits; the relay delivers it. libpqxx errors
/// propagate to the job.
void append(pqxx::transaction_base& tx, const event& e);

/// Records inside `tx` that `consumer` handles `event_id` and returns whether this transaction
/// is the first to do so; apply the effect in `tx` only when true, so a redelivery is a no-op.
bool claim(pqxx::transaction_base& tx, const std::string& consumer, const std::string& event_id);

/// What to do once the transaction that appended an event committed (e.g. hand what a
/// consumer wrote to a worker); never run if it did not. May be empty.
using after_commit = std::function<void()>;

/// Statements to run in the transaction of a state change, and what to make of their rows.
struct planned {
  std::vector<store::statement> statements;
  /// Reads the rows of `statements`, in order, and returns what to run after the commit. May
  /// be empty.
  std::function<after_commit(std::vector<store::rows>&)> then;
};

/// A consumer in the same process and database as the writer: it applies each event inside
/// the transaction that appends it, so the effect commits with the state change and no relay
/// poll stands between them.
struct inline_consumer {
  /// Stable consumer name, for logs.
  std::string name;
  /// Event types it applies; empty means every type.
  std::vector<std::string> types;
  /// The statements that write the event's effect (one that fails fails the write, as any
  /// statement's would) and what to do after the commit. They are sent with the state change,
  /// without waiting for its answer: they must not depend on it from the client side.
  std::function<planned(const event& e)> apply;
};

/// The outbox of one database, with its in-process consumers. Configure it before the first
/// `append`; from then on it is read-only and safe to share between threads.
class outbox {
public:
  /// Has `c` apply the events of its types inside the appending transaction.
  void add_inline(inline_consumer c);

  /// Declares that the relay also delivers events of `types` (empty: every type) to a
  /// consumer that is not inline: such events are stored undelivered, for the relay.
  void add_relayed(std::vector<std::string> types);

  /// The statements that write `e`, and every inline consumer of its type applies it with
  /// them. An event that no relayed consumer wants is stored already delivered: its row stays
  /// as the record of what happened, and the relay passes it by. Their `then` returns what the
  /// inline consumers do after the commit.
  planned plan(const event& e) const;

  /// Runs `plan(e)` inside `tx` and returns what to run once `tx` committed.
  after_commit append(pqxx::transaction_base& tx, const event& e) const;

private:
  std::vector<inline_consumer> inline_;
  std::vector<std::vector<std::string>> relayed_;
};

/// Carries what the appends of one write ask to run after the commit to that write's answer.
/// Capture one `std::shared_ptr<effects>` in both: the write appends through it, the answer
/// calls `run()` once the write committed.
class effects {
public:
  /// Adds to `stmts` the statements that append `e` through `box` (without one: for the relay
  /// alone); once `stmts` ran, hand all their rows to `read`.
  void plan(const outbox* box, const event& e, std::vector<store::statement>& stmts);

  /// Reads the rows of the statements `plan` added (`all` holds the rows of every statement of
  /// the write) and keeps what to run after the commit.
  void read(std::vector<store::rows>& all);

  /// Appends `e` inside `tx` through `box` (without one: for the relay alone) and keeps what
  /// to run after the commit.
  void append(const outbox* box, pqxx::transaction_base& tx, const event& e);

  /// Runs what the appends kept.
  void run() const;

private:
  // Statements `plan` added, not yet read: where they start in the write's, and how many.
  struct pending {
    std::string event_id;
    size_t first = 0;
    size_t count = 0;
    std::function<after_commit(std::vector<store::rows>&)> then;
  };

  // A write that runs again (a batch retried) appends the same events again; each is kept
  // once, by id.
  void keep(const std::string& event_id, after_commit next);

  std::vector<pending> pending_;
  std::vector<std::pair<std::string, after_commit>> then_;
};

} // namespace troupe::events
