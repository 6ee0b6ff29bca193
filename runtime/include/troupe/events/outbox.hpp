#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "troupe/events/event.hpp"

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

/// A consumer in the same process and database as the writer: it applies each event inside
/// the transaction that appends it, so the effect commits with the state change and no relay
/// poll stands between them.
struct inline_consumer {
  /// Stable consumer name, for logs.
  std::string name;
  /// Event types it applies; empty means every type.
  std::vector<std::string> types;
  /// Writes the event's effect in `tx` (libpqxx errors fail the write, as any statement's
  /// would) and returns what to do after the commit.
  std::function<after_commit(pqxx::transaction_base& tx, const event& e)> apply;
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

  /// Writes `e` inside `tx`, and every inline consumer of its type applies it there too. An
  /// event that no relayed consumer wants is stored already delivered: its row stays as the
  /// record of what happened, and the relay passes it by. Returns what the inline consumers
  /// do after the commit: the caller runs it once `tx` committed.
  after_commit append(pqxx::transaction_base& tx, const event& e) const;

private:
  std::vector<inline_consumer> inline_;
  std::vector<std::vector<std::string>> relayed_;
};

/// Carries what the appends of one write step ask to run after the commit to that write's
/// answer. Capture one `std::shared_ptr<effects>` in both: the step appends through it, the
/// answer calls `run()` once the write committed.
class effects {
public:
  /// Appends `e` inside `tx` through `box` (without one: for the relay alone) and keeps what
  /// to run after the commit. A step that runs again (a batch retried) appends the same
  /// events again; each is kept once, by id.
  void append(const outbox* box, pqxx::transaction_base& tx, const event& e);

  /// Runs what the appends kept.
  void run() const;

private:
  std::vector<std::pair<std::string, after_commit>> then_;
};

} // namespace troupe::events
