#pragma once

#include <string_view>

#include <boost/beast/core/string_type.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace troupe::http {

/// An HTTP/1.1 request with its whole body in memory (bounded by `server_config::body_limit`).
using request = boost::beast::http::request<boost::beast::http::string_body>;

/// An HTTP/1.1 response with its whole body in memory.
using response = boost::beast::http::response<boost::beast::http::string_body>;

/// The status codes of a response, e.g. `status::not_found`.
using status = boost::beast::http::status;

/// The request methods, e.g. `verb::get`.
using verb = boost::beast::http::verb;

/// Views Beast's string view (boost::string_view in Boost 1.74) as a std::string_view.
inline std::string_view std_view(boost::beast::string_view s) noexcept {
  return {s.data(), s.size()};
}

/// Views a std::string_view as Beast's string view, e.g. for `fields::set`.
inline boost::beast::string_view beast_view(std::string_view s) noexcept {
  return {s.data(), s.size()};
}

} // namespace troupe::http
