#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace troupe::auth {

/// What a verified access token says about its bearer.
struct jwt_claims {
  /// The `sub` claim: the id of the user the token was issued to.
  std::string subject;
  /// The `role` claim, e.g. "user" or "admin".
  std::string role;
  /// The `iat` claim in seconds since the Unix epoch.
  int64_t issued_at = 0;
  /// The `exp` claim in seconds since the Unix epoch.
  int64_t expires_at = 0;
  /// The `nbf` claim in seconds since the Unix epoch; 0 when the token has none.
  int64_t not_before = 0;
  /// The `stm` claim: the user's credential stamp when the token was issued; may be empty.
  std::string stamp;
};

/// The signing secret and the time rules of issued and accepted tokens.
struct jwt_config {
  /// The HMAC key; at least 32 random bytes (see `jwt_codec::make`).
  std::string secret;
  /// How long an issued token stays valid.
  std::chrono::seconds ttl{900};
  /// Clock skew tolerated when checking `exp`, `nbf` and `iat`.
  std::chrono::seconds leeway{30};
  /// The `iss` claim written on signing and required on verification.
  std::string issuer = "troupe";
};

/// Issues and verifies HS256 JSON Web Tokens (RFC 7519); no other algorithm is accepted.
class jwt_codec {
public:
  /// The shortest secret `make` accepts, in bytes: the HMAC-SHA256 output size.
  static constexpr size_t min_secret_size = 32;

  /// Checks `cfg` (secret length, positive ttl, non-negative leeway) before making a codec.
  static caf::expected<jwt_codec> make(jwt_config cfg);

  /// Makes a codec without checks; an empty secret makes every verification fail.
  explicit jwt_codec(jwt_config cfg);

  /// Issues a token for `subject` with `role`, valid from `now` for `ttl()`; a non-empty
  /// `stamp` is carried as the `stm` claim so a later credential change can void the token.
  std::string sign(const std::string& subject, const std::string& role,
                   std::chrono::system_clock::time_point now, const std::string& stamp = {}) const;

  /// Returns the stamp of a credential, e.g. a password hash: a short keyed digest that
  /// changes whenever the credential does and reveals nothing of it.
  std::string stamp_of(std::string_view credential) const;

  /// Returns the claims of a genuine, current token; `errc::unauthenticated` otherwise.
  /// Tokens verified before are recognised by their exact bytes and only their
  /// times are checked again, so a client reusing its token skips the HMAC and parse.
  caf::expected<jwt_claims> verify(std::string_view token,
                                   std::chrono::system_clock::time_point now) const;

  /// Returns how long issued tokens stay valid (the `expires_in` of a login answer).
  std::chrono::seconds ttl() const;

private:
  struct verified;

  caf::expected<jwt_claims> verify_fully(std::string_view token,
                                         std::chrono::system_clock::time_point now) const;
  caf::error check_times(const jwt_claims& claims, std::chrono::system_clock::time_point now) const;

  jwt_config cfg_;
  std::shared_ptr<verified> verified_;
};

} // namespace troupe::auth
