#include "troupe/core/blocking_pool.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include "troupe/observability/metrics.hpp"

namespace troupe {

namespace {

using clock_type = std::chrono::steady_clock;

// A job waiting for a worker, with the answer it owes.
struct queued_job {
  detail::job_reply reply;
  detail::erased_job work;
  clock_type::time_point deadline;
  std::function<void()> on_dropped;
  observability::trace_context trace;

  void dropped() {
    if (on_dropped)
      on_dropped();
  }
};

} // namespace

namespace detail {

struct pool_state {
  blocking_pool::config cfg;

  std::mutex mtx;
  std::condition_variable cv;
  std::deque<queued_job> queue;
  bool stopping = false;
  size_t usable = 0;
  // Workers whose first ready_up has not finished. While some are still getting ready for the
  // first time (connecting, migrating), jobs wait for them instead of failing fast: a clean
  // start is not an outage. Set by `start` before any thread runs.
  size_t untried = 0;
  std::vector<std::thread> threads;

  observability::gauge* depth_metric = nullptr;
  observability::family<observability::counter>* jobs_metric = nullptr;
  observability::histogram* seconds_metric = nullptr;

  void count(const char* outcome) {
    if (jobs_metric)
      jobs_metric->with({cfg.name, outcome}).inc();
  }

  void publish_depth() {
    if (depth_metric)
      depth_metric->set(static_cast<int64_t>(queue.size()));
  }

  // The error, if any, becomes the caller's result at once.
  caf::error offer(job_request& req, job_reply& reply) {
    std::unique_lock<std::mutex> guard{mtx};
    if (stopping) {
      guard.unlock();
      count("shutting_down");
      return make_error(errc::shutting_down, "pool " + cfg.name + " is stopping");
    }
    if (cfg.fail_fast_when_unusable && usable == 0 && untried == 0) {
      guard.unlock();
      count("unusable");
      return make_error(*cfg.fail_fast_when_unusable, "pool " + cfg.name + " has no usable worker");
    }
    if (queue.size() >= cfg.max_queue) {
      guard.unlock();
      count("overloaded");
      return make_error(errc::overloaded, "pool " + cfg.name + " queue is full");
    }
    queue.push_back(queued_job{std::move(reply), std::move(req.work),
                               clock_type::now() + req.timeout, std::move(req.on_dropped),
                               req.trace});
    publish_depth();
    guard.unlock();
    cv.notify_one();
    return caf::none;
  }

  static void complete(queued_job& job, caf::expected<job_output> out) {
    if (job.reply)
      job.reply(std::move(out));
  }

  // Without a usable worker nothing would ever take the queued jobs; answering them now
  // keeps callers from waiting out their whole timeout.
  void fail_queued_if_unusable() {
    if (!cfg.fail_fast_when_unusable)
      return;
    std::deque<queued_job> failed;
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (usable != 0 || untried != 0)
        return;
      failed.swap(queue);
      publish_depth();
    }
    for (auto& job : failed) {
      job.dropped();
      count("unusable");
      complete(job,
               make_error(*cfg.fail_fast_when_unusable, "pool " + cfg.name + " lost its workers"));
    }
  }

  void set_usable(bool& counted, bool now) {
    if (counted == now)
      return;
    counted = now;
    {
      std::lock_guard<std::mutex> guard{mtx};
      usable += now ? 1 : size_t(-1);
    }
    if (!now)
      fail_queued_if_unusable();
  }

  // Called once per worker when its first ready_up has finished, whatever its outcome; the
  // jobs that waited for it fail if nobody became usable.
  void tried(bool& first) {
    if (!first)
      return;
    first = false;
    {
      std::lock_guard<std::mutex> guard{mtx};
      --untried;
    }
    fail_queued_if_unusable();
  }

  // Waits `delay` unless the pool stops first; returns whether it is stopping.
  bool sleep_unless_stopping(std::chrono::milliseconds delay) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, delay, [this] { return stopping; });
  }

  std::unique_ptr<pool_worker> make_worker(size_t index) {
    if (cfg.make_worker) {
      try {
        if (auto worker = cfg.make_worker(index))
          return worker;
      } catch (const std::exception& ex) {
        spdlog::error("pool {}: worker {} could not be made: {}", cfg.name, index, ex.what());
      }
    }
    return std::make_unique<pool_worker>();
  }

  void run_one(pool_worker& worker, queued_job& job) {
    if (clock_type::now() > job.deadline) {
      // The caller has given up already; running the job would only add load.
      job.dropped();
      count("expired");
      complete(job, caf::make_error(caf::sec::request_timeout));
      return;
    }
    auto started = clock_type::now();
    try {
      auto out = observability::within_trace(job.trace, [&] { return job.work(worker.context()); });
      count(out.ok ? "ok" : "error");
      observe(started);
      complete(job, std::move(out));
    } catch (const std::exception& ex) {
      count("exception");
      observe(started);
      complete(job, make_error(errc::store_failure, ex.what()));
    } catch (...) {
      count("exception");
      observe(started);
      complete(job, make_error(errc::store_failure, "unknown exception"));
    }
  }

  void observe(clock_type::time_point started) {
    if (seconds_metric)
      seconds_metric->observe(std::chrono::duration<double>(clock_type::now() - started).count());
  }

  void worker_loop(size_t index) {
    auto worker = make_worker(index);
    bool counted = false;
    bool first = true;
    for (;;) {
      if (!worker->usable()) {
        set_usable(counted, false);
        std::chrono::milliseconds delay{1000};
        try {
          delay = worker->ready_up();
        } catch (const std::exception& ex) {
          spdlog::error("pool {}: worker {} failed to get ready: {}", cfg.name, index, ex.what());
        }
        if (delay.count() > 0 || !worker->usable()) {
          tried(first);
          if (sleep_unless_stopping(std::max(delay, std::chrono::milliseconds{1})))
            break;
          continue;
        }
      }
      set_usable(counted, true);
      tried(first);
      std::unique_lock<std::mutex> guard{mtx};
      cv.wait(guard, [this] { return stopping || !queue.empty(); });
      if (stopping)
        break;
      auto job = std::move(queue.front());
      queue.pop_front();
      publish_depth();
      guard.unlock();
      run_one(*worker, job);
    }
    tried(first);
    set_usable(counted, false);
    // Destroyed here so that per-thread state (a connection) closes on its own thread.
    worker.reset();
  }
};

} // namespace detail

std::shared_ptr<blocking_pool>
blocking_pool::start(caf::actor_system&, config cfg,
                     std::shared_ptr<observability::registry> metrics) {
  if (cfg.threads == 0)
    cfg.threads = 1;
  auto st = std::make_shared<detail::pool_state>();
  st->cfg = std::move(cfg);
  if (metrics) {
    st->depth_metric = &metrics
                            ->gauges("troupe_pool_queue_depth",
                                     "Jobs waiting for a blocking pool thread.", {"pool"})
                            .with({st->cfg.name});
    st->jobs_metric =
        &metrics->counters("troupe_pool_jobs_total", "Jobs handled by a blocking pool, by outcome.",
                           {"pool", "outcome"});
    // Every outcome's series exists at 0 from the start, so rate() sees the first of each.
    for (auto outcome :
         {"ok", "error", "exception", "expired", "overloaded", "unusable", "shutting_down"})
      st->jobs_metric->with({st->cfg.name, outcome});
    st->seconds_metric =
        &metrics->histograms("troupe_pool_job_seconds", "Time a blocking pool job ran.", {"pool"})
             .with({st->cfg.name});
  }
  st->untried = st->cfg.threads;
  for (size_t i = 0; i < st->cfg.threads; ++i)
    st->threads.emplace_back([st, i] { st->worker_loop(i); });
  // The private constructor rules out make_shared.
  std::shared_ptr<blocking_pool> pool{new blocking_pool};
  pool->state_ = std::move(st);
  pool->timer_ = detail::reply_timer::start();
  return pool;
}

void blocking_pool::submit(detail::job_request req, detail::job_reply reply) {
  auto refused = state_->offer(req, reply);
  if (refused && reply)
    reply(std::move(refused));
}

void blocking_pool::watch(const std::shared_ptr<detail::owed_reply>& reply, caf::timespan timeout) {
  timer_->watch(reply, std::chrono::steady_clock::now() + timeout);
}

size_t blocking_pool::usable_workers() const {
  if (!state_)
    return 0;
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->usable;
}

void blocking_pool::stop() {
  // The state stays: callers on other threads may still offer jobs, which it refuses.
  auto& st = state_;
  if (!st)
    return;
  std::deque<queued_job> abandoned;
  {
    std::lock_guard<std::mutex> guard{st->mtx};
    if (st->stopping)
      return;
    st->stopping = true;
    abandoned.swap(st->queue);
    st->publish_depth();
  }
  st->cv.notify_all();
  for (auto& job : abandoned) {
    job.dropped();
    st->count("shutting_down");
    st->complete(job, make_error(errc::shutting_down, "pool " + st->cfg.name + " stopped"));
  }
  for (auto& t : st->threads) {
    // A job that stops its own pool must not join itself.
    if (t.get_id() == std::this_thread::get_id())
      t.detach();
    else if (t.joinable())
      t.join();
  }
  // Every job is answered by now; a reply still owed belongs to a caller of `owe` that did
  // not answer it, and hears that the pool stopped.
  timer_->stop(make_error(errc::shutting_down, "pool " + st->cfg.name + " stopped"));
}

blocking_pool::~blocking_pool() {
  stop();
}

} // namespace troupe
