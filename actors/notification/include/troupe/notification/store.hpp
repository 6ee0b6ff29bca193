#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "troupe/notification/provider.hpp"

namespace troupe::store {
class database;
struct migration;
} // namespace troupe::store

namespace troupe::notification {

/// Receives the outcome of a store call, always inside the calling actor.
template <class T>
using reply = std::function<void(caf::expected<T>)>;

/// Where a notification stands.
enum class delivery_status : uint8_t {
  /// Not attempted yet.
  pending,
  /// Delivered to the provider.
  sent,
  /// The last attempt failed; another is scheduled.
  failed,
  /// Every attempt failed; no more will be made (a dead letter).
  dead,
};

/// Returns the API's name of `s`, e.g. "dead".
const char* to_string(delivery_status s) noexcept;

/// One notification: one event over one channel to one user.
struct notification_record {
  /// Random UUID.
  std::string id;
  /// The domain event that caused it; with `channel`, unique.
  std::string event_id;
  /// How it is delivered.
  notification::channel channel = notification::channel::email;
  /// Whom it is for.
  std::string user_id;
  /// Where it goes on its channel.
  std::string recipient;
  /// A short title.
  std::string subject;
  /// The message.
  std::string body;
  /// Where it stands.
  delivery_status status = delivery_status::pending;
  /// Attempts made so far.
  uint32_t attempts = 0;
  /// Why the last attempt failed (empty otherwise).
  std::string last_error;
  /// Creation time, milliseconds since the Unix epoch.
  int64_t created_at_ms = 0;
  /// Time of the last change, milliseconds since the Unix epoch.
  int64_t updated_at_ms = 0;
};

/// Which channels a user accepts; every channel is on until the user turns it off.
struct preferences {
  /// The user.
  std::string user_id;
  /// Emails accepted.
  bool email = true;
  /// Push messages accepted.
  bool push = true;
  /// Text messages accepted.
  bool sms = true;
};

/// What one domain event asks to tell a user.
struct notice {
  /// The event, the key that makes creating its notifications idempotent.
  std::string event_id;
  /// Whom to tell.
  std::string user_id;
  /// The user's email address when the event carries it (kept as the user's contact).
  std::string email;
  /// The channels the event calls for, before the user's preferences apply.
  std::vector<notification::channel> channels;
  /// A short title.
  std::string subject;
  /// The message.
  std::string body;
};

/// Where notifications, contacts and preferences are stored.
class notification_store {
public:
  virtual ~notification_store() = default;

  /// Creates the notifications of `n` for the channels the user accepts, once per event
  /// and channel however often it is called; answers how many were new.
  virtual void record(caf::event_based_actor* self, notice n, reply<size_t> done) = 0;

  /// Claims up to `limit` notifications due for an attempt, for `lease` (so that only
  /// one dispatcher attempts each); answers them with `attempts` as made so far.
  virtual void claim_due(caf::event_based_actor* self, size_t limit,
                         std::chrono::milliseconds lease,
                         reply<std::vector<notification_record>> done) = 0;

  /// Records a delivered attempt of each of `ids`, all in one write; answers how many
  /// notifications it found.
  virtual void mark_sent(caf::event_based_actor* self, std::vector<std::string> ids,
                         reply<size_t> done) = 0;

  /// Records a failed attempt: `dead` ends the notification, else it is due again after
  /// `retry_in`.
  virtual void mark_failed(caf::event_based_actor* self, std::string id, std::string error,
                           bool dead, std::chrono::milliseconds retry_in, reply<bool> done) = 0;

  /// Returns a user's preferences (all channels on if never set).
  virtual void preferences_of(caf::event_based_actor* self, std::string user_id,
                              reply<preferences> done) = 0;

  /// Stores a user's preferences.
  virtual void set_preferences(caf::event_based_actor* self, preferences p,
                               reply<preferences> done) = 0;

  /// Lists a user's notifications, newest first.
  virtual void list(caf::event_based_actor* self, std::string user_id, size_t limit,
                    reply<std::vector<notification_record>> done) = 0;
};

/// An in-memory store with the same rules; loses everything on exit.
std::shared_ptr<notification_store> make_memory_notification_store();

/// The PostgreSQL store; its SQL lives in postgres_store.cpp.
std::shared_ptr<notification_store>
make_postgres_notification_store(std::shared_ptr<store::database> db);

/// The schema migrations of the notification domain.
std::vector<store::migration> notification_migrations();

} // namespace troupe::notification
