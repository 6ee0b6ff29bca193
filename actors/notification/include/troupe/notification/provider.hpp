#pragma once

// Provider adapters: how one delivery attempt leaves the system. Retries, backoff and dead
// letters belong to the caller; a provider only reports how one attempt went.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe::notification {

/// The ways a notification reaches a user.
enum class channel : uint8_t {
  /// An email to an address.
  email,
  /// A push message to a device token.
  push,
  /// A text message to a phone number.
  sms,
};

/// Returns the stable name of `x`: "email", "push" or "sms".
std::string to_string(channel x);

/// Returns the channel named `name` (as `to_string` spells it), or nullopt.
std::optional<channel> parse_channel(std::string_view name);

/// One attempt to deliver one notification over one channel.
struct delivery {
  /// The notification's id; receivers deduplicate by it.
  std::string notification_id;
  /// The user the notification is for.
  std::string user_id;
  /// The channel this attempt uses (qualified: the member shares the type's name).
  notification::channel channel = notification::channel::email;
  /// Where it goes on that channel: an email address, a device token, a phone number.
  std::string recipient;
  /// A short title (the email subject; push and SMS may ignore it).
  std::string subject;
  /// The message itself.
  std::string body;
  /// The domain event that caused the notification.
  std::string event_id;
  /// Which attempt this is, counting from 1.
  uint32_t attempt = 1;
};

/// Receives the outcome of one attempt: an empty error means delivered.
using delivery_callback = std::function<void(caf::error)>;

/// Sends deliveries somewhere outside the system; shared by every caller on a node.
class provider {
public:
  virtual ~provider() = default;

  /// Attempts `d` once and calls `done` exactly once, possibly before returning and possibly
  /// on another thread; every failure is worth retrying later.
  virtual void send(const delivery& d, delivery_callback done) = 0;
};

/// Which provider a node uses, from its flags.
struct provider_config {
  /// "log" (one log line per delivery) or "webhook" (POSTs JSON to `webhook_url`).
  std::string kind = "log";
  /// The http:// URL the webhook provider POSTs to.
  std::string webhook_url;
  /// Time one webhook attempt may take, from sending to the answer's last byte.
  std::chrono::milliseconds timeout{5000};
};

/// Makes the provider `cfg` describes; `errc::invalid_argument` says what is wrong with it.
///
/// The webhook provider answers `errc::timeout` when the receiver is too slow and
/// `errc::io_failure` when it cannot be reached or answers other than 2xx, with the status
/// or cause in the detail. Destroying it fails attempts in flight with `errc::shutting_down`.
caf::expected<std::shared_ptr<provider>> make_provider(const provider_config& cfg);

} // namespace troupe::notification
