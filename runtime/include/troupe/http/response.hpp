#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "troupe/http/message.hpp"

namespace troupe::http {

/// Stable suffixes of problem `type` URIs; clients may switch on them.
namespace problem {
/// No route matches the path.
inline constexpr std::string_view not_found = "not-found";
/// The path exists but not for this method.
inline constexpr std::string_view method_not_allowed = "method-not-allowed";
/// The body exceeds the configured limit.
inline constexpr std::string_view payload_too_large = "payload-too-large";
/// The header section exceeds the configured limit.
inline constexpr std::string_view header_too_large = "header-too-large";
/// The request is malformed.
inline constexpr std::string_view bad_request = "bad-request";
/// Credentials are missing or wrong.
inline constexpr std::string_view unauthorized = "unauthorized";
/// The caller may not use this resource.
inline constexpr std::string_view forbidden = "forbidden";
/// The server failed while handling the request.
inline constexpr std::string_view internal = "internal";
/// The service cannot take the request now; retry later.
inline constexpr std::string_view unavailable = "unavailable";
/// The request did not complete in time.
inline constexpr std::string_view timeout = "timeout";
/// A dependency of the service answered with a failure.
inline constexpr std::string_view bad_gateway = "bad-gateway";
/// The payment was declined; another payment method may succeed.
inline constexpr std::string_view payment_declined = "payment-declined";
/// Not enough stock for the request.
inline constexpr std::string_view out_of_stock = "out-of-stock";
/// The request conflicts with the current state, e.g. a duplicate or a stale version.
inline constexpr std::string_view conflict = "conflict";
/// The request is well-formed but cannot be processed as sent.
inline constexpr std::string_view unprocessable = "unprocessable";
/// Too many attempts in too little time; the `Retry-After` header says when to retry.
inline constexpr std::string_view too_many_requests = "too-many-requests";
} // namespace problem

/// The media type of RFC 9457 problem details.
inline constexpr std::string_view problem_content_type = "application/problem+json";

/// The prefix of every problem `type` URI.
inline constexpr std::string_view problem_type_base = "https://troupe.dev/problems/";

/// Returns the problem `type` URI for `type_suffix`, e.g. "https://troupe.dev/problems/not-found".
std::string problem_type_uri(std::string_view type_suffix);

/// Makes a response whose body is `body` serialized as `application/json`.
response json_response(status code, const nlohmann::json& body);

/// Makes a response with a plain body and the given content type.
response text_response(status code, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");

/// Makes an RFC 9457 `application/problem+json` response; empty `detail`/`instance` are omitted.
response problem_response(status code, std::string_view type_suffix, std::string title,
                          std::string detail = {}, std::string instance = {});

} // namespace troupe::http
