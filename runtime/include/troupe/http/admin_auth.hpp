#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "troupe/http/handler.hpp"

namespace troupe::http {

/// The `WWW-Authenticate` challenge sent with every admin 401.
inline constexpr std::string_view admin_challenge = R"(Bearer realm="troupe-admin")";

/// Compares two secrets in time independent of their content and length.
bool constant_time_equals(std::string_view a, std::string_view b);

/// Guards `inner` with `Authorization: Bearer <admin_token>`.
///
/// Without a (non-empty) token every call gets 403, saying how to enable admin
/// endpoints; a missing, malformed or wrong credential gets 401 with a challenge.
handler admin_only(std::optional<std::string> admin_token, handler inner);

} // namespace troupe::http
