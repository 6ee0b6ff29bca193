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

std::chrono::milliseconds circuit_breaker::retry_after(time_point now) const {
  constexpr std::chrono::seconds at_least{1};
  if (current(now) != state::open)
    return at_least;
  // Retry-After counts whole seconds; rounding down would invite the caller back too early.
  return std::max(std::chrono::ceil<std::chrono::seconds>(open_until_ - now), at_least);
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
