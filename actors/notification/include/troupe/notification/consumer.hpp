#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "troupe/events/event.hpp"
#include "troupe/events/outbox.hpp"
#include "troupe/events/relay.hpp"
#include "troupe/notification/handoff.hpp"
#include "troupe/notification/store.hpp"

namespace troupe::notification {

/// Returns what event `e` asks to tell its user, or nullopt if it notifies nobody:
/// user.registered → a welcome email; order.confirmed → email and push; order.rejected →
/// email and SMS; order.cancelled → email.
std::optional<notice> notice_for(const events::event& e);

/// The event types that notify someone.
std::vector<std::string> notice_types();

/// The relay subscription that turns domain events into notifications; a redelivered
/// event creates nothing new, so each event yields one notification per channel.
events::subscription notification_subscription(std::shared_ptr<notification_store> store);

/// The same consumer inside the transaction that appends each event (PostgreSQL): the
/// notifications commit with their event, born claimed for `lease` by this node, and go to
/// `to` (its dispatcher) after the commit, with no relay or claim poll between.
events::inline_consumer inline_notifications(std::chrono::milliseconds lease,
                                             std::shared_ptr<handoff> to);

} // namespace troupe::notification
