#include "store/write_queue.hpp"

#include <algorithm>
#include <functional>
#include <iterator>

#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/subtransaction>
#include <pqxx/transaction>

#include <caf/sec.hpp>

#include "store/database_state.hpp"
#include "store/pipeline.hpp"
#include "store/pqxx_errors.hpp"
#include "store/session.hpp"
#include "troupe/core/error.hpp"

namespace troupe::store {

namespace detail {

// Takes up to `max` queued writes, oldest first, off the queue into `batch`; writes whose
// caller has given up go to `late` instead of being run.
void take_batch(write_queue& q, size_t max, std::vector<std::shared_ptr<write_item>>& batch,
                std::vector<std::shared_ptr<write_item>>& late) {
  auto now = write_clock::now();
  while (!q.items.empty() && batch.size() < max) {
    auto item = std::move(q.items.front());
    q.items.pop_front();
    if (item->deadline <= now || item->reply->given())
      late.push_back(std::move(item));
    else
      batch.push_back(std::move(item));
  }
}

namespace {

// A savepoint that exists on the server from its construction. libpqxx 6 issues a
// subtransaction's SAVEPOINT lazily on its first `exec`, which `exec_prepared` bypasses: a
// step of prepared statements alone would run outside any savepoint.
class savepoint final : public pqxx::subtransaction {
public:
  savepoint(pqxx::dbtransaction& tx, const std::string& name)
      : pqxx::internal::namedclass{"subtransaction", name}, pqxx::subtransaction{tx, name} {
    Begin();
  }
};

// The error of the exception being handled (call only inside a catch block); one that broke
// the connection is thrown on, to fail the whole batch.
caf::error caught() {
  bool broken = false;
  auto err = map_current_exception(broken);
  if (broken)
    throw;
  return err;
}

// After `rollback`: a lone write's failure is its answer (its own savepoint would have rolled
// back the same), so the batch is done; a failure among several means running them isolated.
bool failed_together(const std::vector<std::shared_ptr<write_item>>& batch, caf::error err,
                     const std::function<void()>& rollback) {
  rollback();
  if (batch.size() > 1)
    return false;
  batch.front()->result = std::move(err);
  return true;
}

bool made_of_statements(const write_item& item) {
  return !item.step.statements.empty();
}

// Runs one write in the transaction (or savepoint) `tx` has open on `s`: its code, or its
// statements in one round trip and then what reads their rows.
caf::error run_step(session& s, pqxx::transaction_base& tx, write_item& item) {
  if (!made_of_statements(item))
    return item.step.run(tx);
  std::vector<const statement*> mine;
  for (const auto& st : item.step.statements)
    mine.push_back(&st);
  auto out = run_pipeline(s, {}, mine);
  if (out.failed < mine.size())
    return out.error;
  return item.step.finish(out.rows);
}

// Runs a batch made of statements alone in two round trips: BEGIN and every statement, then
// COMMIT once their rows are read. As `run_together`, returns false with nothing kept if one
// write failed.
bool run_pipelined(session& s, const std::vector<std::shared_ptr<write_item>>& batch) {
  std::vector<const statement*> all;
  for (const auto& item : batch)
    for (const auto& st : item->step.statements)
      all.push_back(&st);
  auto out = run_pipeline(s, "BEGIN", all);
  caf::error err = out.failed < all.size() ? out.error : caf::error{};
  try {
    for (size_t i = 0, at = 0; !err && i < batch.size(); ++i) {
      auto n = batch[i]->step.statements.size();
      std::vector<rows> mine(std::make_move_iterator(out.rows.begin() + at),
                             std::make_move_iterator(out.rows.begin() + at + n));
      at += n;
      err = batch[i]->step.finish(mine);
    }
  } catch (...) {
    // A reader that threw fails its write like an error value; the transaction open on the
    // server must end here either way.
    err = caught();
  }
  if (err)
    return failed_together(batch, std::move(err), [&] { run_command(s, "ROLLBACK"); });
  run_command(s, "COMMIT");
  for (const auto& item : batch)
    item->result = caf::error{};
  return true;
}

} // namespace

// Runs every step of `batch` straight in one transaction, with no SAVEPOINT and RELEASE
// round trips per write: the usual case, where every write goes through. Returns false, with
// nothing kept, as soon as one fails (an error value or an exception) or the transaction did
// not commit (a step caught a statement's error and went on, and COMMIT of an aborted
// transaction is a rollback that libpqxx 6 does not report, hence BEGIN and COMMIT by hand and
// a probe before COMMIT).
// A lone write's failure is its answer (its own savepoint would have rolled back the same);
// an exception that broke the connection escapes and fails the whole batch.
bool run_together(session& s, const std::vector<std::shared_ptr<write_item>>& batch) {
  if (std::all_of(batch.begin(), batch.end(), [](const auto& i) { return made_of_statements(*i); }))
    return run_pipelined(s, batch);
  pqxx::nontransaction tx{*s.conn};
  tx.exec0("BEGIN");
  caf::error err;
  try {
    for (const auto& item : batch)
      if ((err = run_step(s, tx, *item)))
        break;
  } catch (...) {
    err = caught();
  }
  if (err)
    return failed_together(batch, std::move(err), [&] { tx.exec0("ROLLBACK"); });
  try {
    // Any statement fails in an aborted transaction; sent with COMMIT, it costs no round trip.
    tx.exec0("SELECT 1; COMMIT");
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const pqxx::in_doubt_error&) {
    throw;
  } catch (const pqxx::sql_error&) {
    tx.exec0("ROLLBACK");
    return false;
  }
  for (const auto& item : batch)
    item->result = caf::error{};
  return true;
}

// Runs every step of `batch` in its own savepoint of one transaction and commits it once: for
// a batch in which a write failed. A step's error value or exception stays its own; an
// exception that broke the connection, or a savepoint that cannot be rolled back, escapes and
// fails the whole batch.
void run_isolated(session& s, const std::vector<std::shared_ptr<write_item>>& batch) {
  pqxx::work tx{*s.conn};
  for (const auto& item : batch) {
    auto name = s.conn->adorn_name("troupe_write");
    caf::error err;
    try {
      savepoint sp{tx, name};
      err = run_step(s, sp, *item);
      if (err)
        sp.abort();
      else
        sp.commit();
    } catch (...) {
      err = caught();
    }
    // libpqxx swallows a failed rollback, and a step may have caught a statement's error and
    // gone on; rolling back here again leaves the transaction usable, or fails the batch
    // rather than letting COMMIT of an aborted transaction quietly roll everything back.
    if (err)
      tx.exec0("ROLLBACK TO SAVEPOINT " + tx.quote_name(name));
    item->result = std::move(err);
  }
  tx.commit();
}

} // namespace detail

void database::queue_write(detail::write_step step,
                           std::shared_ptr<troupe::detail::owed_reply> reply,
                           caf::timespan timeout) {
  auto item = std::make_shared<detail::write_item>();
  item->step = std::move(step);
  item->reply = std::move(reply);
  item->deadline = detail::write_clock::now() + timeout;
  auto& q = state_->writes;
  caf::error refused;
  bool lead = false;
  {
    std::lock_guard<std::mutex> guard{q.mtx};
    if (q.stopping) {
      refused = make_error(errc::shutting_down, "the database is stopping");
    } else if (q.items.size() >= state_->cfg.max_queue) {
      refused = make_error(errc::overloaded, "too many writes waiting for a batch");
    } else {
      q.items.push_back(item);
      lead = q.leaders < state_->cfg.write_batches;
      if (lead)
        ++q.leaders;
    }
  }
  if (refused)
    return item->answer(refused);
  if (lead)
    start_leader(state_);
}

void database::start_leader(const std::shared_ptr<detail::database_state>& st) {
  auto pool = st->pool.lock();
  troupe::detail::job_request req;
  // The writes carry their own deadlines; the job that runs them has none to miss.
  req.timeout = std::chrono::hours{24};
  req.work = [st](void* context) {
    lead_writes(st, context);
    return troupe::detail::job_output{};
  };
  auto refused = [st](caf::expected<troupe::detail::job_output> out) {
    if (!out)
      leader_lost(*st, out.error());
  };
  if (!pool)
    return refused(make_error(errc::shutting_down, "the database is stopped"));
  pool->submit(std::move(req), std::move(refused));
}

void database::leader_lost(detail::database_state& st, const caf::error& why) {
  // The pool refused or dropped a lead job before it ran. Another leader still running takes
  // the queue on; with none left, nobody would, so the waiting writes hear why now.
  std::deque<std::shared_ptr<detail::write_item>> failed;
  {
    std::lock_guard<std::mutex> guard{st.writes.mtx};
    if (--st.writes.leaders == 0)
      failed.swap(st.writes.items);
  }
  for (auto& item : failed)
    item->answer(why);
}

void database::lead_writes(const std::shared_ptr<detail::database_state>& st, void* context) {
  auto& q = st->writes;
  for (;;) {
    std::vector<std::shared_ptr<detail::write_item>> batch, late;
    bool handover = false;
    {
      std::lock_guard<std::mutex> guard{q.mtx};
      if (!q.stopping)
        detail::take_batch(q, st->cfg.max_batch, batch, late);
      if (batch.empty())
        --q.leaders;
    }
    for (auto& item : late)
      item->answer(caf::make_error(caf::sec::request_timeout));
    if (batch.empty())
      return;
    auto err = guarded(*st, context, [&](pqxx::connection_base&) {
      auto& s = *static_cast<detail::session*>(context);
      if (!detail::run_together(s, batch)) {
        if (st->isolated_metric)
          st->isolated_metric->inc();
        detail::run_isolated(s, batch);
      }
      return caf::error{};
    });
    if (!err && st->commits_metric) {
      st->commits_metric->inc();
      st->batch_metric->observe(static_cast<double>(batch.size()));
    }
    // Each writer hears from here, the thread that committed, with no other thread between.
    for (auto& item : batch)
      item->answer(err ? err : item->result);
    // A broken connection cannot run the next batch: another worker takes the lead while
    // this one reconnects.
    auto* s = static_cast<detail::session*>(context);
    if (s == nullptr || s->broken) {
      {
        std::lock_guard<std::mutex> guard{q.mtx};
        handover = !q.items.empty() && !q.stopping;
        if (!handover)
          --q.leaders;
      }
      if (handover)
        start_leader(st);
      return;
    }
  }
}

} // namespace troupe::store
