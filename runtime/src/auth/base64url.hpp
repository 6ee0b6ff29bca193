#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace troupe::auth {

/// Encodes `in` as base64url (RFC 4648 §5) without padding, as JWTs require.
std::string base64url_encode(std::string_view in);

/// Decodes unpadded base64url; nullopt on a foreign character, padding, an impossible length
/// or non-zero leftover bits (so every byte string has exactly one accepted encoding).
std::optional<std::string> base64url_decode(std::string_view in);

} // namespace troupe::auth
