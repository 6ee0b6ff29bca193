#include "troupe/auth/bearer.hpp"

#include <chrono>

#include "troupe/core/error.hpp"

#include <boost/beast/http/field.hpp>

namespace troupe::auth {

namespace {

constexpr std::string_view scheme = "bearer";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    auto y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y)
      return false;
  }
  return true;
}

// token68 (RFC 9110 §11.2): the characters a bearer token may consist of.
bool token68(std::string_view t) {
  auto body = t.substr(0, t.find_last_not_of('=') + 1);
  if (body.empty())
    return false;
  for (char c : body) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok)
      return false;
  }
  return true;
}

} // namespace

std::optional<std::string_view> bearer_token(const troupe::http::request& req) {
  auto header = req.find(boost::beast::http::field::authorization);
  if (header == req.end())
    return std::nullopt;
  auto value = troupe::http::std_view(header->value());
  auto first = value.find_first_not_of(' ');
  if (first == std::string_view::npos)
    return std::nullopt;
  value = value.substr(first, value.find_last_not_of(' ') - first + 1);
  if (value.size() <= scheme.size() || !iequals(value.substr(0, scheme.size()), scheme) ||
      value[scheme.size()] != ' ')
    return std::nullopt;
  auto token = value.substr(scheme.size());
  token.remove_prefix(token.find_first_not_of(' '));
  if (!token68(token))
    return std::nullopt;
  return token;
}

caf::expected<jwt_claims> authenticate(const jwt_codec& tokens, const troupe::http::request& req) {
  auto token = bearer_token(req);
  if (!token)
    return make_error(errc::unauthenticated, "missing bearer token");
  return tokens.verify(*token, std::chrono::system_clock::now());
}

} // namespace troupe::auth
