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

/// The queue, threads and metrics of a pool, shared by its threads and its front actor.
struct pool_state;

/// What a finished job hands back: its typed result, erased, and whether it succeeded.
struct job_output {
  /// Holds a `std::shared_ptr<caf::expected<T>>` for the `T` of the job.
  std::any value;
  /// Whether the job produced a value rather than an error (for metrics).
  bool ok = true;
};

/// A job with its type erased; receives the `pool_worker::context()` of the worker running it.
using erased_job = std::function<job_output(void*)>;

/// The message that carries a job to a pool.
struct job_request {
  /// The work itself.
  erased_job work;
  /// How long the caller waits; a job still queued past it is dropped unrun.
  caf::timespan timeout;
  /// If set, called once the pool accepted the job, before any worker can take it; runs
  /// under the pool's lock, so it must be quick and must not call into the pool.
  std::function<void()> on_queued;
  /// If set, called when the pool answers an accepted job without running it (expired,
  /// stopped, no usable worker).
  std::function<void()> on_dropped;
  /// The trace of the work that asked; the job runs with it as its log context.
  observability::trace_context trace;
};

} // namespace detail

} // namespace troupe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::detail::job_output)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::detail::job_request)

namespace troupe {

/// Dedicated threads for blocking or CPU-heavy work, so no io or scheduler thread is parked.
///
/// Results come back as a response message to the calling actor, so `done` always runs inside
/// that actor and CAF's request timeout applies. The caller's trace (its log context's) goes
/// with the job: lines the job and `done` log carry it. Stop the pool before the actor system.
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

  /// Starts the threads and the actor that hands jobs to them.
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
    run_request<T>(self, detail::job_request{std::move(work), timeout, {}, {}, {}},
                   std::move(done));
  }

  /// Like `run_erased`, for a request that may carry queue hooks.
  template <class T>
  void run_request(caf::event_based_actor* self, detail::job_request req,
                   std::function<void(caf::expected<T>)> done) {
    using result_ptr = std::shared_ptr<caf::expected<T>>;
    auto timeout = req.timeout;
    auto trace = req.trace = observability::current_log_context().trace;
    self->request(front_, timeout, std::move(req))
        .then(
            [done, trace](detail::job_output& out) {
              observability::within_trace(trace, [&] {
                auto* result = std::any_cast<result_ptr>(&out.value);
                if (result == nullptr || !*result)
                  done(make_error(errc::invalid_argument, "pool job returned a foreign type"));
                else
                  done(std::move(**result));
              });
            },
            [done, trace](caf::error& err) {
              observability::within_trace(trace, [&] { done(std::move(err)); });
            });
  }

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

  std::shared_ptr<detail::pool_state> state_;
  caf::actor front_;
};

} // namespace troupe
