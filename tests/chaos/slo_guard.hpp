#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace troupe::chaos_harness {

/// Stops a campaign whose error rate stays above a limit for longer than a window while no
/// fault explains it (none active, none just ended).
class slo_guard {
public:
  using time_point = std::chrono::steady_clock::time_point;

  slo_guard(double limit, std::chrono::milliseconds window) : limit_(limit), window_(window) {}

  /// Feeds one observation; returns why the campaign must stop, once it must.
  std::optional<std::string> observe(time_point now, double error_rate, bool fault_expected);

private:
  double limit_;
  std::chrono::milliseconds window_;
  std::optional<time_point> above_since_;
};

} // namespace troupe::chaos_harness
