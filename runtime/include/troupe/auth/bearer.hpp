#pragma once

#include <optional>
#include <string_view>

#include <caf/expected.hpp>

#include "troupe/auth/jwt.hpp"
#include "troupe/http/message.hpp"

namespace troupe::auth {

/// Returns the token of `Authorization: Bearer <token>` (scheme case-insensitive, surrounding
/// spaces trimmed); nullopt when the header is missing, of another scheme or malformed.
///
/// The view points into `req`, so it lives as long as the request's header.
std::optional<std::string_view> bearer_token(const troupe::http::request& req);

/// Returns the verified claims of the request's bearer token; `errc::unauthenticated` when
/// it is missing or not genuine and current.
caf::expected<jwt_claims> authenticate(const jwt_codec& tokens, const troupe::http::request& req);

} // namespace troupe::auth
