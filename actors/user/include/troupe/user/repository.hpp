#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "troupe/user/messages.hpp"

namespace troupe::events {
class outbox;
} // namespace troupe::events

namespace troupe::store {
class database;
struct migration;
} // namespace troupe::store

namespace troupe::user {

/// Receives the outcome of a repository call, always inside the calling actor.
template <class T>
using reply = std::function<void(caf::expected<T>)>;

/// Where users are stored. Every method answers through `done` inside `self` (never on
/// another thread; the memory store answers before the call returns, the database
/// later). Writes are conditional on the version they carry.
class user_repository {
public:
  virtual ~user_repository() = default;

  /// Loads user `id`; `errc::no_such_record` if there is none.
  virtual void load(caf::event_based_actor* self, const std::string& id,
                    reply<user_record> done) = 0;

  /// Loads the user with normalised `email`; `errc::no_such_record` if there is none.
  virtual void find_by_email(caf::event_based_actor* self, const std::string& email,
                             reply<user_record> done) = 0;

  /// Stores a new user at version 1; `errc::already_exists` if the id or email is taken.
  virtual void insert(caf::event_based_actor* self, user_record rec, reply<user_record> done) = 0;

  /// Stores `rec` if the stored version still equals `rec.version`, and answers the
  /// stored record at the next version; `errc::version_conflict` otherwise.
  virtual void update(caf::event_based_actor* self, user_record rec, reply<user_record> done) = 0;

  /// Deletes user `id` if its stored version equals `version`.
  virtual void remove(caf::event_based_actor* self, const std::string& id, uint64_t version,
                      reply<bool> done) = 0;
};

/// An in-memory repository with the same rules (versions, unique emails); loses
/// everything on exit. For unit tests and `--store memory`.
std::shared_ptr<user_repository> make_memory_user_repository();

/// The PostgreSQL repository; its SQL lives in postgres_repository.cpp. Events go to
/// `outbox` with the change, where its inline consumers apply them (null: to the outbox
/// alone, for the relay).
std::shared_ptr<user_repository>
make_postgres_user_repository(std::shared_ptr<store::database> db,
                              std::shared_ptr<const events::outbox> outbox = nullptr);

/// The schema migrations of the user domain.
std::vector<store::migration> user_migrations();

} // namespace troupe::user
