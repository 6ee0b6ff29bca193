#pragma once

#include <memory>
#include <optional>

#include "troupe/events/event.hpp"
#include "troupe/events/relay.hpp"
#include "troupe/notification/store.hpp"

namespace troupe::notification {

/// Returns what event `e` asks to tell its user, or nullopt if it notifies nobody:
/// user.registered → a welcome email; order.confirmed → email and push; order.rejected →
/// email and SMS; order.cancelled → email.
std::optional<notice> notice_for(const events::event& e);

/// The relay subscription that turns domain events into notifications; a redelivered
/// event creates nothing new, so each event yields one notification per channel.
events::subscription notification_subscription(std::shared_ptr<notification_store> store);

} // namespace troupe::notification
