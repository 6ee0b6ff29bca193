#include "slo_guard.hpp"

#include <cstdio>

namespace troupe::chaos_harness {

std::optional<std::string> slo_guard::observe(time_point now, double error_rate,
                                              bool fault_expected) {
  if (fault_expected || error_rate <= limit_) {
    above_since_.reset();
    return std::nullopt;
  }
  if (!above_since_)
    above_since_ = now;
  if (now - *above_since_ <= window_)
    return std::nullopt;
  char why[160];
  std::snprintf(why, sizeof(why),
                "error rate above %.2f for more than %lld ms outside any fault window", limit_,
                static_cast<long long>(window_.count()));
  return why;
}

} // namespace troupe::chaos_harness
