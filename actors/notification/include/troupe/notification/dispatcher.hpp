#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "troupe/notification/handoff.hpp"
#include "troupe/notification/provider.hpp"
#include "troupe/notification/store.hpp"
#include "troupe/supervision/spec.hpp"

namespace troupe::observability {
class registry;
} // namespace troupe::observability

namespace troupe::notification {

/// How notifications are attempted, retried and given up on.
struct dispatcher_config {
  /// Most attempts in flight at once.
  size_t batch = 32;
  /// Time between looks for due notifications: new ones come through `handoff`, so the
  /// poll finds retries, and what a stopped node had claimed once its lease ran out.
  std::chrono::milliseconds poll_interval{200};
  /// Where notifications written with their event arrive without a poll; optional.
  std::shared_ptr<notification::handoff> handoff;
  /// How long a claimed notification stays this dispatcher's; must exceed the provider's
  /// timeout, or another node could attempt it meanwhile.
  std::chrono::milliseconds lease{30'000};
  /// Attempts before a notification becomes a dead letter.
  uint32_t max_attempts = 5;
  /// Delay after the first failed attempt; doubles per failure.
  std::chrono::milliseconds retry_initial{1000};
  /// Longest delay between attempts.
  std::chrono::milliseconds retry_max{60'000};
  /// How long a stopping dispatcher waits for attempts in flight to be recorded; should
  /// exceed the provider's timeout, or the next node repeats what was sent.
  std::chrono::milliseconds drain_timeout{6000};
};

/// A worker that attempts due notifications through `provider`, retries failures with
/// exponential backoff and turns a notification dead after `max_attempts`; counts outcomes
/// in `troupe_notifications_total{channel,outcome}`.
supervision::child_spec dispatcher_child(std::shared_ptr<notification_store> store,
                                         std::shared_ptr<provider> provider, dispatcher_config cfg,
                                         std::shared_ptr<observability::registry> metrics);

} // namespace troupe::notification
