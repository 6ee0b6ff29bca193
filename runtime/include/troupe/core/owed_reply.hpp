#pragma once

#include <any>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/message_id.hpp>

namespace troupe::detail {

/// What a finished job hands back: its typed result, erased, and whether it succeeded.
struct job_output {
  /// Holds a `std::shared_ptr<caf::expected<T>>` for the `T` of the job.
  std::any value;
  /// Whether the job produced a value rather than an error (for metrics).
  bool ok = true;
};

class reply_timer;

/// The answer a thread outside CAF owes to one actor's request: given at most once, as a
/// response message that the actor's handler for that request receives.
///
/// This is `request` without a receiving actor and without CAF's request timeout, which 0.17
/// never cancels: every answered request would still wake its caller once more when the
/// timeout fires. Here the deadline lives in a `reply_timer` and is forgotten the moment the
/// answer goes out.
class owed_reply {
public:
  /// Owes `to` the response to request `response_id`.
  owed_reply(caf::strong_actor_ptr to, caf::message_id response_id)
      : to_(std::move(to)), id_(response_id) {}

  /// Sends `x` unless an answer went out already; returns whether this call gave it.
  bool give(caf::expected<job_output> x);

  /// Returns whether the answer went out already (a late result is then dropped).
  bool given() const { return given_.load(); }

private:
  friend class reply_timer;

  std::atomic<bool> given_{false};
  // Keeps the caller alive until it has its answer: an actor awaiting a response may have
  // no other reference (the short-lived actor of one HTTP request has none).
  caf::strong_actor_ptr to_;
  caf::message_id id_;
  // The timer watching this reply, set before the reply is shared; `watched_` and `entry_`
  // are guarded by that timer's mutex.
  std::weak_ptr<reply_timer> timer_;
  bool watched_ = false;
  std::multimap<std::chrono::steady_clock::time_point, std::shared_ptr<owed_reply>>::iterator
      entry_;
};

/// One thread that answers `sec::request_timeout` for replies still owed at their deadline.
///
/// It sleeps until the earliest deadline and is woken only when a reply is due sooner than
/// that, so a steady stream of answered requests costs it nothing but a map entry each.
class reply_timer : public std::enable_shared_from_this<reply_timer> {
public:
  /// Starts the thread.
  static std::shared_ptr<reply_timer> start();

  /// Answers `r` with a timeout at `deadline` unless it was given before.
  void watch(const std::shared_ptr<owed_reply>& r, std::chrono::steady_clock::time_point deadline);

  /// Answers every reply still owed with `why` and joins the thread; idempotent.
  void stop(const caf::error& why);

  /// Calls `stop` with `errc::shutting_down`.
  ~reply_timer();

  reply_timer(const reply_timer&) = delete;
  reply_timer& operator=(const reply_timer&) = delete;

private:
  friend class owed_reply;
  using clock = std::chrono::steady_clock;

  reply_timer() = default;
  void forget(owed_reply& r);
  void loop();

  std::mutex mtx_;
  std::condition_variable cv_;
  std::multimap<clock::time_point, std::shared_ptr<owed_reply>> due_;
  // When the thread wakes next on its own; a reply due earlier must wake it.
  clock::time_point wakes_at_ = clock::time_point::max();
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace troupe::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::detail::job_output)
