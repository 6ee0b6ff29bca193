#include "troupe/store/database.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <spdlog/spdlog.h>

#include "store/conninfo.hpp"
#include "store/database_state.hpp"
#include "store/pqxx_errors.hpp"
#include "store/session.hpp"
#include "store/write_queue.hpp"
#include "troupe/chaos/faults.hpp"
#include "troupe/core/error.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::store {

namespace detail {

namespace {

// Opens connections as libpqxx's direct policy does, and keeps each one's libpq handle in the
// slot its session reads: pipelines need the handle, and libpqxx 6.4 has no accessor for it.
class handle_policy final : public pqxx::connect_direct {
public:
  // The slot of the connection being constructed on this thread.
  static thread_local std::shared_ptr<void*> next_slot;

  explicit handle_policy(const std::string& opts) : connect_direct(opts), slot_(next_slot) {}

  handle do_startconnect(handle h) override { return keep(connect_direct::do_startconnect(h)); }
  handle do_completeconnect(handle h) override {
    return keep(connect_direct::do_completeconnect(h));
  }
  handle do_dropconnect(handle h) noexcept override {
    keep(nullptr);
    return connect_direct::do_dropconnect(h);
  }
  handle do_disconnect(handle h) noexcept override {
    keep(nullptr);
    return connect_direct::do_disconnect(h);
  }

private:
  handle keep(handle h) noexcept {
    if (slot_)
      *slot_ = h;
    return h;
  }

  std::shared_ptr<void*> slot_;
};

thread_local std::shared_ptr<void*> handle_policy::next_slot;

using handle_connection = pqxx::basic_connection_base<handle_policy>;

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
    std::unique_ptr<handle_connection> conn;
    auto raw = std::make_shared<void*>(nullptr);
    try {
      handle_policy::next_slot = raw;
      conn = std::make_unique<handle_connection>(st_->conninfo);
      handle_policy::next_slot.reset();
      pqxx::nontransaction tx{*conn};
      tx.exec("set statement_timeout = " + std::to_string(st_->cfg.statement_timeout.count()));
      // Nothing is acknowledged before it is durable, whatever the server default says.
      tx.exec("set synchronous_commit = on");
    } catch (const std::exception& ex) {
      handle_policy::next_slot.reset();
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
    session_->raw = std::move(raw);
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
  std::unique_ptr<handle_connection> conn_;
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
