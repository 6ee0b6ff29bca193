#include <algorithm>
#include <cctype>
#include <charconv>

#include <boost/asio/ip/address_v6.hpp>

#include "troupe/core/error.hpp"
#include "troupe/http/client.hpp"

namespace troupe::http {

namespace {

// The URL is left out of every message: webhook URLs often carry a secret in their path.
caf::error bad_url(std::string why) {
  return make_error(errc::invalid_argument, "invalid URL: " + std::move(why));
}

bool lower_equals(std::string_view a, std::string_view lower) {
  return a.size() == lower.size() &&
         std::equal(a.begin(), a.end(), lower.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == y;
         });
}

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

} // namespace

caf::expected<http_url> parse_http_url(std::string_view url) {
  // Spaces and control characters would end up in the request line or Host header.
  if (std::any_of(url.begin(), url.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
      }))
    return bad_url("it contains a space or a control character");
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return bad_url("expected http://host[:port]/path");
  auto scheme = url.substr(0, sep);
  if (lower_equals(scheme, "https"))
    return bad_url("https is not supported, only http://");
  if (!lower_equals(scheme, "http"))
    return bad_url("only http:// is supported");
  auto rest = url.substr(sep + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  auto tail = rest.substr(authority.size());
  if (authority.find('@') != std::string_view::npos)
    return bad_url("user information before the host is not supported");
  http_url out;
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return bad_url("unterminated IPv6 address");
    boost::system::error_code ec;
    auto host = authority.substr(1, close - 1);
    boost::asio::ip::make_address_v6(std::string{host}, ec);
    if (ec)
      return bad_url("invalid IPv6 address");
    out.host = std::string{host};
    auto after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':'))
      return bad_url("unexpected characters after the IPv6 address");
    if (after == ":")
      return bad_url("empty port");
    port = after.empty() ? after : after.substr(1);
  } else {
    auto colon = authority.rfind(':');
    auto host = authority.substr(0, colon);
    if (host.empty())
      return bad_url("missing host");
    if (!std::all_of(host.begin(), host.end(), is_host_char))
      return bad_url("invalid host name");
    out.host = std::string{host};
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty())
        return bad_url("empty port");
    }
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      return bad_url("port must be a number from 1 to 65535");
    out.port = static_cast<uint16_t>(value);
  }
  tail = tail.substr(0, tail.find('#'));
  if (tail.empty())
    out.target = "/";
  else if (tail.starts_with('?'))
    out.target = "/" + std::string{tail};
  else
    out.target = std::string{tail};
  return out;
}

} // namespace troupe::http
