#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "troupe/placement/entity.hpp"
#include "troupe/placement/snapshots.hpp"
#include "troupe/user/repository.hpp"

namespace troupe::user {

/// A committed user state as published for reads; its public JSON is rendered once,
/// by the first reader, and shared by every later one.
struct user_copy {
  /// The committed state.
  user_record record;
  /// Guards the one rendering of `body`.
  mutable std::once_flag rendered;
  /// The public JSON of `record`, once rendered.
  mutable std::string body;
  /// Guards the one computing of `stamp`.
  mutable std::once_flag stamped;
  /// The credential stamp of `record` (see `jwt_codec::stamp_of`), once computed.
  mutable std::string stamp;
};

/// Copies of the users active on this node, readable from any thread.
using user_snapshots = placement::snapshots<user_copy>;

/// The user entity kind: one activation per user id, loaded from `repo` on
/// activation, writing through it conditionally on the loaded version.
///
/// Messages are handled one at a time, including their store round trip, so an
/// activation never races itself. A version conflict means another writer got
/// there first: the activation answers the conflict and passivates, and the next
/// message loads the fresh state. With a `board`, each activation publishes a copy
/// of its state there for reads that need no message.
placement::entity_kind user_entity_kind(std::shared_ptr<user_repository> repo,
                                        caf::timespan idle_timeout,
                                        std::shared_ptr<user_snapshots> board = nullptr);

} // namespace troupe::user
