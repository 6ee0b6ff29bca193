#pragma once

#include <functional>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "troupe/auth/jwt.hpp"

namespace troupe::auth {

/// Confirms that a genuine, current token still speaks for its subject: the subject exists
/// and has not changed its credentials since the token was issued.
///
/// A signature proves only who issued a token; this is what lets deleting a user or
/// changing a password end the tokens already out there. The domain that owns the subjects
/// implements it; routes of any domain call it before acting on a token.
class session_check {
public:
  /// What `confirm` calls: no error if the token stands, `errc::unauthenticated` if it was
  /// revoked, another error if that could not be found out.
  using verdict = std::function<void(const caf::error&)>;

  virtual ~session_check() = default;

  /// Finds out whether `claims` still stand and calls `done` inside `self`; never blocks.
  virtual void confirm(caf::event_based_actor* self, const jwt_claims& claims,
                       verdict done) const = 0;
};

} // namespace troupe::auth
