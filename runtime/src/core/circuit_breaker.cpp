#include "troupe/core/circuit_breaker.hpp"

#include <algorithm>

namespace troupe {

circuit_breaker::circuit_breaker() : circuit_breaker(config{}) {}

circuit_breaker::circuit_breaker(config cfg) : cfg_(cfg) {
  // A threshold or trial count of zero would never open, or never close again.
  cfg_.failure_threshold = std::max<uint32_t>(cfg_.failure_threshold, 1);
  cfg_.half_open_trials = std::max<uint32_t>(cfg_.half_open_trials, 1);
}

bool circuit_breaker::allow(time_point now) {
  if (state_ == state::open) {
    if (now < open_until_)
      return false;
    state_ = state::half_open;
    trials_in_flight_ = 0;
  }
  if (state_ == state::closed)
    return true;
  if (trials_in_flight_ >= cfg_.half_open_trials)
    return false;
  ++trials_in_flight_;
  return true;
}

void circuit_breaker::on_success() {
  // While open, only calls let through before the breaker opened can answer; they say
  // nothing about the dependency now, and the open period runs its course.
  if (state_ == state::open)
    return;
  state_ = state::closed;
  failures_ = 0;
  trials_in_flight_ = 0;
}

void circuit_breaker::on_failure(time_point now) {
  switch (state_) {
  case state::closed:
    if (++failures_ >= cfg_.failure_threshold)
      open(now);
    return;
  case state::half_open:
    open(now);
    return;
  case state::open:
    // A late answer from before the breaker opened; it must not stretch the period.
    return;
  }
}

circuit_breaker::state circuit_breaker::current(time_point now) const {
  if (state_ == state::open && now >= open_until_)
    return state::half_open;
  return state_;
}

namespace {

// Retry-After counts whole seconds; rounding down would invite the caller back too early.
std::chrono::milliseconds whole_seconds(circuit_breaker::clock::duration left) {
  return std::max<std::chrono::milliseconds>(std::chrono::ceil<std::chrono::seconds>(left),
                                             std::chrono::seconds{1});
}

} // namespace

std::chrono::milliseconds circuit_breaker::retry_after(time_point now) const {
  if (current(now) != state::open)
    return std::chrono::seconds{1};
  return whole_seconds(open_until_ - now);
}

void breaker_signal::publish(const circuit_breaker& b, circuit_breaker::time_point now) {
  auto until = b.current(now) == circuit_breaker::state::open ? b.open_until_
                                                              : circuit_breaker::time_point{};
  open_until_.store(until.time_since_epoch().count(), std::memory_order_relaxed);
}

std::optional<std::chrono::milliseconds>
breaker_signal::open_at(circuit_breaker::time_point now) const {
  circuit_breaker::time_point until{
      circuit_breaker::clock::duration{open_until_.load(std::memory_order_relaxed)}};
  if (now >= until)
    return std::nullopt;
  return whole_seconds(until - now);
}

void circuit_breaker::open(time_point now) {
  state_ = state::open;
  open_until_ = now + cfg_.open_duration;
  failures_ = 0;
  trials_in_flight_ = 0;
}

std::string_view to_string(circuit_breaker::state x) {
  switch (x) {
  case circuit_breaker::state::closed:
    return "closed";
  case circuit_breaker::state::open:
    return "open";
  case circuit_breaker::state::half_open:
    return "half_open";
  }
  return "unknown";
}

} // namespace troupe
