#include "troupe/http/admin_auth.hpp"

#include <array>
#include <memory>

#include <boost/beast/http/field.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "troupe/http/response.hpp"

namespace troupe::http {

namespace {

using digest = std::array<unsigned char, 32>;

std::optional<digest> sha256(std::string_view in) {
  digest out{};
  unsigned int len = 0;
  if (EVP_Digest(in.data(), in.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size())
    return std::nullopt;
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] - 'A' + 'a' : a[i];
    auto y = b[i] >= 'A' && b[i] <= 'Z' ? b[i] - 'A' + 'a' : b[i];
    if (x != y)
      return false;
  }
  return true;
}

// Extracts <t> from "Bearer <t>" (scheme case-insensitive, RFC 9110); empty when malformed.
std::string_view bearer_token(std::string_view value) {
  auto space = value.find(' ');
  if (space == std::string_view::npos || !iequals(value.substr(0, space), "bearer"))
    return {};
  auto token = value.substr(space);
  auto first = token.find_first_not_of(' ');
  if (first == std::string_view::npos)
    return {};
  token = token.substr(first);
  while (!token.empty() && token.back() == ' ')
    token.remove_suffix(1);
  if (token.find_first_of(" \t") != std::string_view::npos)
    return {};
  return token;
}

response unauthorized(std::string detail) {
  auto res = problem_response(status::unauthorized, problem::unauthorized, "Unauthorized",
                              std::move(detail));
  res.set(boost::beast::http::field::www_authenticate, beast_view(admin_challenge));
  return res;
}

} // namespace

bool constant_time_equals(std::string_view a, std::string_view b) {
  // Hashing first gives both sides the same length, so the comparison time says nothing
  // about the secret's length or about where the first difference is.
  auto x = sha256(a);
  auto y = sha256(b);
  // Failing closed: two failed digests must never compare equal.
  return x && y && CRYPTO_memcmp(x->data(), y->data(), x->size()) == 0;
}

handler admin_only(std::optional<std::string> admin_token, handler inner) {
  if (!admin_token || admin_token->empty()) {
    return [](request_context ctx, responder res) {
      res(problem_response(status::forbidden, problem::forbidden, "Forbidden",
                           "admin endpoints are disabled; start the node with --admin-token or "
                           "set TROUPE_ADMIN_TOKEN to enable them",
                           std::string{std_view(ctx.req.target())}));
    };
  }
  auto expected = std::make_shared<const std::string>(std::move(*admin_token));
  return [expected, inner = std::move(inner)](request_context ctx, responder res) {
    auto header = ctx.req.find(boost::beast::http::field::authorization);
    if (header == ctx.req.end()) {
      res(unauthorized("this endpoint needs an admin token: Authorization: Bearer <token>"));
      return;
    }
    auto token = bearer_token(std_view(header->value()));
    if (token.empty()) {
      res(unauthorized("malformed Authorization header; expected: Bearer <token>"));
      return;
    }
    if (!constant_time_equals(token, *expected)) {
      res(unauthorized("the admin token is not valid"));
      return;
    }
    inner(std::move(ctx), std::move(res));
  };
}

} // namespace troupe::http
