#pragma once

#include <any>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "troupe/core/error.hpp"
#include "troupe/core/owed_reply.hpp"
#include "troupe/observability/log_context.hpp"

namespace troupe::observability {
class registry;
} // namespace troupe::observability

namespace troupe {

/// Per-thread state of a pool worker, such as a database connection; the default has none.
class pool_worker {
public:
  /// Releases the worker's state on its own thread when the pool stops.
  virtual ~pool_worker() = default;

  /// Makes the worker able to take jobs; returns zero when it is, else how long to wait before
  /// the next try. Runs on the worker thread and may block (e.g. on a connect).
  virtual std::chrono::milliseconds ready_up() { return std::chrono::milliseconds{0}; }

  /// Returns whether the worker can take jobs; false once it lost what `ready_up` set up.
  virtual bool usable() const { return true; }

  /// Returns what jobs on this worker receive as their context (e.g. its connection).
  virtual void* context() { return nullptr; }
};

namespace detail {

/// The queue, threads and metrics of a pool, shared by its threads.
struct pool_state;

/// A job with its type erased; receives the `pool_worker::context()` of the worker running it.
using erased_job = std::function<job_output(void*)>;

/// How a pool answers one job: called exactly once, on whichever thread ends it.
using job_reply = std::function<void(caf::expected<job_output>)>;

/// A job as a pool queues it.
struct job_request {
  /// The work itself.
  erased_job work;
  /// How long the caller waits; a job still queued past it is dropped unrun.
  caf::timespan timeout;
  /// If set, called when the pool answers an accepted job without running it (expired,
  /// stopped, no usable worker).
  std::function<void()> on_dropped;
  /// The trace of the work that asked; the job runs with it as its log context.
  observability::trace_context trace;
};

} // namespace detail

} // namespace troupe

namespace troupe {

/// Dedicated threads for blocking or CPU-heavy work, so no io or scheduler thread is parked.
///
/// Results come back as a response message to the calling actor, so `done` always runs inside
/// that actor. A job goes straight from the caller to the queue and its answer straight back,
/// with no actor in between and no CAF timeout left to fire later; the pool's `reply_timer`
/// answers a caller whose job is not done by its deadline. The caller's trace (its log
/// context's) goes with the job: lines the job and `done` log carry it. Stop the pool before
/// the actor system.
class blocking_pool : public std::enable_shared_from_this<blocking_pool> {
public:
  /// How a pool is sized and what its workers hold.
  struct config {
    /// Label of the pool in logs and metrics.
    std::string name;
    /// Number of worker threads.
    size_t threads = 2;
    /// Jobs waiting beyond this many are shed with `errc::overloaded`.
    size_t max_queue = 1024;
    /// Makes the state of worker `i` on its own thread; plain stateless workers if empty.
    std::function<std::unique_ptr<pool_worker>(size_t)> make_worker;
    /// If set, jobs offered while no worker is usable fail at once with this code; until
    /// every worker has tried to get ready once (at start), they wait for it instead.
    std::optional<errc> fail_fast_when_unusable;
  };

  /// Starts the threads and the timer of overdue replies.
  static std::shared_ptr<blocking_pool>
  start(caf::actor_system& sys, config cfg,
        std::shared_ptr<observability::registry> metrics = nullptr);

  /// Runs `job` on a pool thread and then `done(result)` inside `self`, never on the pool
  /// thread; a full queue, a stopped pool or an exception from `job` reach `done` as errors.
  template <class T>
  void run(caf::event_based_actor* self, std::function<caf::expected<T>()> job,
           std::function<void(caf::expected<T>)> done,
           caf::timespan timeout = std::chrono::seconds{10}) {
    run_erased<T>(
        self,
        [job = std::move(job)](void*) {
          auto result = std::make_shared<caf::expected<T>>(job());
          bool ok = static_cast<bool>(*result);
          return detail::job_output{std::move(result), ok};
        },
        std::move(done), timeout);
  }

  /// Like `run`, for a job already wrapped to return a `std::shared_ptr<caf::expected<T>>`.
  template <class T>
  void run_erased(caf::event_based_actor* self, detail::erased_job work,
                  std::function<void(caf::expected<T>)> done, caf::timespan timeout) {
    run_request<T>(self, detail::job_request{std::move(work), timeout, {}, {}}, std::move(done));
  }

  /// Like `run_erased`, for a request that may carry a drop hook.
  template <class T>
  void run_request(caf::event_based_actor* self, detail::job_request req,
                   std::function<void(caf::expected<T>)> done) {
    auto reply = owe<T>(self, std::move(done), req.timeout);
    req.trace = observability::current_log_context().trace;
    submit(std::move(req),
           [reply](caf::expected<detail::job_output> out) { reply->give(std::move(out)); });
  }

  /// Registers `done` as the handler of a new request of `self` and returns the reply that
  /// answers it; the pool's timer answers `sec::request_timeout` after `timeout`. For
  /// components that queue work of their own and answer it from a pool thread.
  template <class T>
  std::shared_ptr<detail::owed_reply> owe(caf::event_based_actor* self,
                                          std::function<void(caf::expected<T>)> done,
                                          caf::timespan timeout) {
    using result_ptr = std::shared_ptr<caf::expected<T>>;
    auto trace = observability::current_log_context().trace;
    auto id = self->new_request_id(caf::message_priority::normal).response_id();
    self->add_multiplexed_response_handler(
        id, caf::behavior{[done, trace](detail::job_output& out) {
                            observability::within_trace(trace, [&] {
                              auto* result = std::any_cast<result_ptr>(&out.value);
                              if (result == nullptr || !*result)
                                done(make_error(errc::invalid_argument,
                                                "pool job returned a foreign type"));
                              else
                                done(std::move(**result));
                            });
                          },
                          [done, trace](caf::error& err) {
                            observability::within_trace(trace, [&] { done(std::move(err)); });
                          }});
    auto reply =
        std::make_shared<detail::owed_reply>(caf::actor_cast<caf::strong_actor_ptr>(self), id);
    watch(reply, timeout);
    return reply;
  }

  /// Queues `req` and calls `reply` once with its outcome, on a pool thread or, if the pool
  /// refuses it (full, stopping, no usable worker), at once on this one.
  void submit(detail::job_request req, detail::job_reply reply);

  /// Returns how many workers can take jobs right now.
  size_t usable_workers() const;

  /// Stops taking jobs, answers queued ones with `errc::shutting_down`, lets running ones
  /// finish and joins the threads; idempotent.
  void stop();

  /// Calls `stop()`.
  ~blocking_pool();

  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

private:
  blocking_pool() = default;

  void watch(const std::shared_ptr<detail::owed_reply>& reply, caf::timespan timeout);

  std::shared_ptr<detail::pool_state> state_;
  std::shared_ptr<detail::reply_timer> timer_;
};

} // namespace troupe
