#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace troupe {

/// Turns callers away from a failing dependency at once, instead of letting each wait for its
/// timeout, and lets a few trial calls find out when it has recovered.
///
/// Not thread-safe: it is meant to live inside one actor. Time is passed in, so tests (and
/// actors on CAF's simulated clock) decide what "now" is.
class circuit_breaker {
public:
  /// The clock of the times callers pass in; CAF's actor clock is this clock.
  using clock = std::chrono::steady_clock;

  /// A point in time on `clock`.
  using time_point = clock::time_point;

  /// Where the breaker stands.
  enum class state : uint8_t {
    /// Calls go through; consecutive failures are counted.
    closed,
    /// Calls fail fast until the open period has passed.
    open,
    /// A limited number of trial calls probe whether the dependency has recovered.
    half_open,
  };

  /// When the breaker opens and how it probes.
  struct config {
    /// Consecutive failures that open a closed breaker; 0 counts as 1.
    uint32_t failure_threshold = 5;
    /// How long the breaker stays open before it lets trial calls through.
    std::chrono::milliseconds open_duration = std::chrono::seconds{5};
    /// Trial calls let through at a time while half-open; 0 counts as 1.
    uint32_t half_open_trials = 1;
  };

  /// Makes a closed breaker with the default config.
  circuit_breaker();

  /// Makes a closed breaker.
  explicit circuit_breaker(config cfg);

  /// Returns whether a call may go out at `now`; each allowed call must later report its
  /// outcome through `on_success` or `on_failure`.
  bool allow(time_point now);

  /// Records a healthy answer: the failure count restarts and a half-open breaker closes.
  void on_success();

  /// Records a technical failure: it may open a closed breaker, and a half-open one opens
  /// again for a full period from `now`.
  void on_failure(time_point now);

  /// Returns the state at `now`; an open breaker whose period has passed is half-open.
  state current(time_point now) const;

  /// Returns how long a caller turned away at `now` should wait before trying again: the rest
  /// of the open period rounded up to whole seconds, never less than one second.
  std::chrono::milliseconds retry_after(time_point now) const;

  /// Returns the consecutive failures counted while closed.
  uint32_t failures() const noexcept { return failures_; }

private:
  friend class breaker_signal;

  void open(time_point now);

  config cfg_;
  state state_ = state::closed;
  uint32_t failures_ = 0;
  uint32_t trials_in_flight_ = 0;
  time_point open_until_{};
};

/// Whether a breaker that lives in one actor is open, readable by any thread without a message.
///
/// The owning actor publishes after each call it books; callers that only want to refuse new
/// work while the dependency fails check it, instead of asking the actor on every request.
class breaker_signal {
public:
  /// Publishes where `b` stands at `now`.
  void publish(const circuit_breaker& b, circuit_breaker::time_point now);

  /// Returns how long a caller turned away at `now` should wait (as
  /// `circuit_breaker::retry_after`) if the breaker is open then; nothing if it is not.
  std::optional<std::chrono::milliseconds> open_at(circuit_breaker::time_point now) const;

private:
  // The end of the open period in ticks of the breaker's clock; the epoch when not open.
  std::atomic<circuit_breaker::clock::rep> open_until_{0};
};

/// Returns the stable name of `x`, e.g. "half_open".
std::string_view to_string(circuit_breaker::state x);

} // namespace troupe
