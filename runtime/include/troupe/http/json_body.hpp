#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "troupe/http/message.hpp"

namespace troupe::http {

namespace problem {
/// The request body is not of a media type the endpoint accepts.
inline constexpr std::string_view unsupported_media_type = "unsupported-media-type";
} // namespace problem

/// How deeply objects and arrays may nest in a request body; deeper bodies are rejected.
inline constexpr size_t max_json_depth = 32;

/// Parses the body of `req` as a JSON object, or returns the problem response to send.
///
/// 415 unless Content-Type is application/json (parameters such as charset allowed, any
/// case); 400 for an empty, malformed, too deeply nested or non-object body, and for U+0000
/// in any string or member name (the detail names the field).
std::variant<nlohmann::json, response> read_json_object(const request& req);

/// Returns the string member `field` of `obj` with `min_len`..`max_len` code points, or a 400.
///
/// Missing or null, not a string, invalid UTF-8, too short and too long each get a detail
/// naming the field.
std::variant<std::string, response>
required_string(const nlohmann::json& obj, std::string_view field, size_t min_len, size_t max_len);

/// Like `required_string`, but a missing or null member yields nullopt instead of a 400.
std::variant<std::optional<std::string>, response>
optional_string(const nlohmann::json& obj, std::string_view field, size_t min_len, size_t max_len);

/// Returns a 400 naming the first member of `obj` that is not in `known`, if any.
std::optional<response> reject_unknown_fields(const nlohmann::json& obj,
                                              std::initializer_list<std::string_view> known);

/// Returns the first problem (400/415) among parsed parts of a request, if any.
template <class... Parts>
std::optional<response> first_problem(Parts&... parts) {
  std::optional<response> found;
  auto check = [&found](auto& part) {
    if (auto* problem = std::get_if<response>(&part); problem && !found)
      found = std::move(*problem);
  };
  (check(parts), ...);
  return found;
}

/// Returns the number of UTF-8 code points in `s`, or nullopt if `s` is not valid UTF-8.
std::optional<size_t> utf8_length(std::string_view s);

} // namespace troupe::http
