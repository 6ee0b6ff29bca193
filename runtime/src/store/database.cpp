#include "troupe/store/database.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include <caf/sec.hpp>
#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/subtransaction>
#include <pqxx/transaction>
#include <spdlog/spdlog.h>

#include "store/conninfo.hpp"
#include "store/pqxx_errors.hpp"
#include "store/session.hpp"
#include "troupe/chaos/faults.hpp"
#include "troupe/core/error.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::store {

namespace detail {

using write_clock = std::chrono::steady_clock;

// One `database::write` from its submission until its batch ended.
struct write_item {
  write_step step;
  std::shared_ptr<troupe::detail::owed_reply> reply;
  write_clock::time_point deadline;
  // The step's own error or its batch's; none means it committed.
  caf::error result;

  void answer(const caf::error& err) { reply->give(step.output(err)); }
};

// Writes waiting to share a transaction, and the pool threads leading batches of them.
struct write_queue {
  std::mutex mtx;
  // In submission order.
  std::deque<std::shared_ptr<write_item>> items;
  // Lead jobs queued or running in the pool; each runs batches until the queue is empty.
  size_t leaders = 0;
  bool stopping = false;
};

struct database_state {
  database_config cfg;
  std::string conninfo;
  std::string endpoint;

  std::atomic<size_t> connected{0};
  std::atomic<bool> migrated{false};
  std::mutex migrate_mtx;

  mutable std::mutex status_mtx;
  std::string problem; // why the pool is not up, for status()
  std::chrono::steady_clock::time_point last_warning{};
  bool warned = false;

  write_queue writes;
  // The pool that runs the lead jobs; a leader whose connection broke hands over through it.
  std::weak_ptr<blocking_pool> pool;

  observability::gauge* up_metric = nullptr;
  observability::counter* commits_metric = nullptr;
  observability::histogram* batch_metric = nullptr;
  observability::counter* isolated_metric = nullptr;
  observability::counter* attempts_metric = nullptr;
  observability::family<observability::histogram>* seconds_metric = nullptr;

  void publish_up() {
    if (up_metric)
      up_metric->set(connected.load() > 0 ? 1 : 0);
  }

  void gained_one() {
    ++connected;
    publish_up();
  }

  void lost_one() {
    --connected;
    publish_up();
  }

  // One warning every few seconds is enough to tell an operator; more only floods the log.
  void note_problem(std::string text) {
    auto now = std::chrono::steady_clock::now();
    bool log = false;
    {
      std::lock_guard<std::mutex> guard{status_mtx};
      problem = text;
      if (!warned || now - last_warning >= std::chrono::seconds{5}) {
        warned = true;
        last_warning = now;
        log = true;
      }
    }
    if (log)
      spdlog::warn("store: {}", text);
  }

  caf::error ensure_migrated(pqxx::connection_base& conn) {
    std::lock_guard<std::mutex> guard{migrate_mtx};
    if (migrated)
      return caf::none;
    if (auto err = migrate(conn, cfg.migrations))
      return err;
    migrated = true;
    return caf::none;
  }
};

namespace {

// One connection per worker thread, replaced as a whole after a loss.
class connection_worker : public pool_worker {
public:
  explicit connection_worker(std::shared_ptr<database_state> st)
      : st_(std::move(st)), backoff_(st_->cfg.reconnect_initial), rng_(std::random_device{}()) {}

  ~connection_worker() override { drop(); }

  std::chrono::milliseconds ready_up() override {
    drop();
    ++attempt_;
    if (st_->attempts_metric)
      st_->attempts_metric->inc();
    std::unique_ptr<pqxx::connection> conn;
    try {
      conn = std::make_unique<pqxx::connection>(st_->conninfo);
      pqxx::nontransaction tx{*conn};
      tx.exec("set statement_timeout = " + std::to_string(st_->cfg.statement_timeout.count()));
      // Nothing is acknowledged before it is durable, whatever the server default says.
      tx.exec("set synchronous_commit = on");
    } catch (const std::exception& ex) {
      st_->note_problem("connecting to " + st_->endpoint + " (attempt " + std::to_string(attempt_) +
                        "): " + short_reason(ex.what()));
      return next_delay();
    }
    if (auto err = st_->ensure_migrated(*conn)) {
      st_->note_problem("migrating " + st_->endpoint + " (attempt " + std::to_string(attempt_) +
                        "): " + describe(err));
      return next_delay();
    }
    if (attempt_ > 1)
      spdlog::info("store: connected to {} after {} attempts", st_->endpoint, attempt_);
    attempt_ = 0;
    backoff_ = st_->cfg.reconnect_initial;
    conn_ = std::move(conn);
    session_ = std::make_unique<session>();
    session_->conn = conn_.get();
    st_->gained_one();
    return std::chrono::milliseconds{0};
  }

  bool usable() const override { return session_ && !session_->broken; }

  void* context() override { return session_.get(); }

private:
  void drop() {
    // A broken session was already counted as lost when it broke.
    if (session_ && !session_->broken)
      st_->lost_one();
    session_.reset();
    conn_.reset();
  }

  std::chrono::milliseconds next_delay() {
    auto base = backoff_;
    backoff_ = std::min(backoff_ * 2, st_->cfg.reconnect_max);
    // ±20 % jitter keeps a fleet of nodes from reconnecting in lockstep.
    std::uniform_real_distribution<double> jitter{0.8, 1.2};
    return std::chrono::milliseconds{std::max<int64_t>(
        1, static_cast<int64_t>(static_cast<double>(base.count()) * jitter(rng_)))};
  }

  std::shared_ptr<database_state> st_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<session> session_;
  std::chrono::milliseconds backoff_;
  int attempt_ = 0;
  std::mt19937 rng_;
};

// Keeps the thread's current session set exactly while a job runs.
class session_scope {
public:
  explicit session_scope(session* s) { set_current_session(s); }
  ~session_scope() { set_current_session(nullptr); }
  session_scope(const session_scope&) = delete;
  session_scope& operator=(const session_scope&) = delete;
};

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

// Runs every step of `batch` straight in one transaction, with no SAVEPOINT and RELEASE
// round trips per write: the usual case, where every write goes through. Returns false, with
// nothing kept, as soon as one fails (an error value or an exception) or the transaction did
// not commit (a step caught a statement's error and went on, and COMMIT of an aborted
// transaction is a rollback that libpqxx 6 does not report, hence BEGIN and COMMIT by hand and
// a probe before COMMIT).
// A lone write's failure is its answer (its own savepoint would have rolled back the same);
// an exception that broke the connection escapes and fails the whole batch.
bool run_together(pqxx::connection_base& conn,
                  const std::vector<std::shared_ptr<write_item>>& batch) {
  pqxx::nontransaction tx{conn};
  tx.exec0("BEGIN");
  caf::error err;
  try {
    for (const auto& item : batch)
      if ((err = item->step.run(tx)))
        break;
  } catch (...) {
    bool broken = false;
    err = map_current_exception(broken);
    if (broken)
      throw;
  }
  if (err) {
    tx.exec0("ROLLBACK");
    if (batch.size() > 1)
      return false;
    batch.front()->result = std::move(err);
    return true;
  }
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
void run_isolated(pqxx::connection_base& conn,
                  const std::vector<std::shared_ptr<write_item>>& batch) {
  pqxx::work tx{conn};
  for (const auto& item : batch) {
    auto name = conn.adorn_name("troupe_write");
    caf::error err;
    try {
      savepoint sp{tx, name};
      err = item->step.run(sp);
      if (err)
        sp.abort();
      else
        sp.commit();
    } catch (...) {
      bool broken = false;
      err = map_current_exception(broken);
      if (broken)
        throw;
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

std::string outcome_of(const caf::error& err) {
  if (!err)
    return "ok";
  if (err.category() == errc_category)
    return to_string(static_cast<errc>(err.code()));
  return "error";
}

} // namespace

} // namespace detail

std::shared_ptr<database> database::start(caf::actor_system& sys, database_config cfg,
                                          std::shared_ptr<observability::registry> metrics) {
  auto st = std::make_shared<detail::database_state>();
  st->cfg = std::move(cfg);
  st->cfg.pool_size = std::max<size_t>(1, st->cfg.pool_size);
  st->cfg.max_batch = std::max<size_t>(1, st->cfg.max_batch);
  st->cfg.write_batches = std::clamp<size_t>(st->cfg.write_batches, 1, st->cfg.pool_size);
  st->cfg.reconnect_initial = std::max(st->cfg.reconnect_initial, std::chrono::milliseconds{1});
  st->cfg.reconnect_max = std::max(st->cfg.reconnect_max, st->cfg.reconnect_initial);
  st->conninfo = detail::with_connect_timeout(st->cfg.url, st->cfg.connect_timeout);
  st->endpoint = detail::endpoint_of(st->cfg.url);
  st->problem = "connecting to " + st->endpoint;
  if (metrics) {
    st->up_metric =
        &metrics->gauges("troupe_store_up", "Whether a database connection is up.").with({});
    st->attempts_metric =
        &metrics->counters("troupe_store_connect_attempts_total", "Database connect attempts.")
             .with({});
    st->commits_metric =
        &metrics->counters("troupe_db_commits_total", "Shared write transactions committed.")
             .with({});
    st->batch_metric =
        &metrics
             ->histograms("troupe_db_batch_size", "Writes per shared write transaction.", {},
                          {1, 2, 4, 8, 16, 32, 64, 128})
             .with({});
    st->isolated_metric =
        &metrics
             ->counters("troupe_db_batches_isolated_total",
                        "Shared write transactions run again with a savepoint per write, "
                        "because one write failed.")
             .with({});
    st->seconds_metric = &metrics->histograms("troupe_store_query_seconds",
                                              "Time a database job ran, by outcome.", {"outcome"});
    st->publish_up();
  }
  blocking_pool::config pool_cfg;
  pool_cfg.name = "store";
  pool_cfg.threads = st->cfg.pool_size;
  pool_cfg.max_queue = st->cfg.max_queue;
  pool_cfg.make_worker = [st](size_t) { return std::make_unique<detail::connection_worker>(st); };
  pool_cfg.fail_fast_when_unusable = errc::store_unavailable;
  std::shared_ptr<database> db{new database};
  db->state_ = st;
  db->pool_ = blocking_pool::start(sys, std::move(pool_cfg), std::move(metrics));
  st->pool = db->pool_;
  return db;
}

caf::error database::guarded(detail::database_state& st, void* context,
                             const std::function<caf::error(pqxx::connection_base&)>& body) {
  auto* s = static_cast<detail::session*>(context);
  if (s == nullptr || s->broken)
    return make_error(errc::store_unavailable, "no connection to " + st.endpoint);
  auto started = std::chrono::steady_clock::now();
  caf::error err;
  // A chaos fault acts here, on the pool's own blocking thread, where a sleep holds up only
  // this connection.
  if (auto fault = chaos::faults::check_store(); fault.fault_id != 0) {
    if (fault.delay.count() > 0)
      std::this_thread::sleep_for(fault.delay);
    if (fault.fail)
      err =
          make_error(errc::store_unavailable, "no connection to " + st.endpoint + " (chaos fault " +
                                                  std::to_string(fault.fault_id) + ")");
  }
  if (!err) {
    detail::session_scope scope{s};
    try {
      err = body(*s->conn);
    } catch (...) {
      bool broken = false;
      err = detail::map_current_exception(broken);
      if (broken) {
        s->broken = true;
        st.lost_one();
        st.note_problem("lost connection to " + st.endpoint + ": " + describe(err));
      }
    }
  }
  if (st.seconds_metric)
    st.seconds_metric->with({detail::outcome_of(err)})
        .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return err;
}

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
    auto err = guarded(*st, context, [&](pqxx::connection_base& conn) {
      if (!detail::run_together(conn, batch)) {
        if (st->isolated_metric)
          st->isolated_metric->inc();
        detail::run_isolated(conn, batch);
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

bool database::ready() const {
  return state_ && state_->migrated && state_->connected.load() > 0;
}

std::string database::status() const {
  if (!state_)
    return "stopped";
  if (ready())
    return "connected to " + state_->endpoint + " (" + std::to_string(state_->connected.load()) +
           " of " + std::to_string(state_->cfg.pool_size) + " connections)";
  std::lock_guard<std::mutex> guard{state_->status_mtx};
  return state_->problem;
}

void database::stop() {
  if (!state_)
    return;
  {
    std::lock_guard<std::mutex> guard{state_->writes.mtx};
    state_->writes.stopping = true;
  }
  // Leaders finish the batch they run and take no other.
  if (pool_)
    pool_->stop();
  std::deque<std::shared_ptr<detail::write_item>> left;
  {
    std::lock_guard<std::mutex> guard{state_->writes.mtx};
    left.swap(state_->writes.items);
  }
  for (auto& item : left)
    item->answer(make_error(errc::shutting_down, "the database stopped"));
}

database::~database() {
  stop();
}

} // namespace troupe::store
