#include "troupe/auth/jwt.hpp"

#include <array>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/base64url.hpp"
#include "troupe/core/error.hpp"

namespace troupe::auth {

namespace {

using json = nlohmann::json;
using mac = std::array<unsigned char, 32>;

// Real tokens are a few hundred bytes; the cap bounds the work an attacker can cause.
constexpr size_t max_token_size = 8 * 1024;

// The fixed header of every token we issue: {"alg":"HS256","typ":"JWT"}.
const std::string& encoded_header() {
  static const std::string header = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  return header;
}

std::optional<mac> hmac_sha256(std::string_view key, std::string_view data) {
  mac out{};
  unsigned int len = 0;
  if (key.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    return std::nullopt;
  auto* ok =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  if (ok == nullptr || len != out.size())
    return std::nullopt;
  return out;
}

int64_t seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

caf::error reject(std::string reason) {
  return make_error(errc::unauthenticated, std::move(reason));
}

// Parses a base64url JSON object segment; nullopt on bad base64, bad JSON or a non-object.
std::optional<json> decode_object(std::string_view segment) {
  auto text = base64url_decode(segment);
  if (!text)
    return std::nullopt;
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::nullopt;
  return j;
}

// Reads an integer claim; floats, strings and values beyond int64 do not count.
std::optional<int64_t> int_claim(const json& payload, const char* name) {
  auto i = payload.find(name);
  if (i == payload.end())
    return std::nullopt;
  if (i->is_number_unsigned()) {
    auto v = i->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (i->is_number_integer())
    return i->get<int64_t>();
  return std::nullopt;
}

std::optional<std::string> string_claim(const json& payload, const char* name) {
  auto i = payload.find(name);
  if (i == payload.end() || !i->is_string())
    return std::nullopt;
  return i->get<std::string>();
}

} // namespace

caf::expected<jwt_codec> jwt_codec::make(jwt_config cfg) {
  if (cfg.secret.size() < min_secret_size)
    return make_error(errc::invalid_argument, "the JWT secret must have at least " +
                                                  std::to_string(min_secret_size) + " bytes");
  if (cfg.ttl.count() <= 0)
    return make_error(errc::invalid_argument, "the JWT lifetime must be positive");
  if (cfg.leeway.count() < 0)
    return make_error(errc::invalid_argument, "the JWT leeway must not be negative");
  return jwt_codec{std::move(cfg)};
}

jwt_codec::jwt_codec(jwt_config cfg)
    : cfg_(std::move(cfg)), verified_(std::make_shared<verified>()) {}

std::chrono::seconds jwt_codec::ttl() const {
  return cfg_.ttl;
}

std::string jwt_codec::sign(const std::string& subject, const std::string& role,
                            std::chrono::system_clock::time_point now,
                            const std::string& stamp) const {
  auto iat = seconds_since_epoch(now);
  json payload{{"iss", cfg_.issuer},
               {"sub", subject},
               {"role", role},
               {"iat", iat},
               {"exp", iat + cfg_.ttl.count()}};
  if (!stamp.empty())
    payload["stm"] = stamp;
  // Replacing invalid UTF-8 keeps signing from throwing on odd subjects.
  auto body = payload.dump(-1, ' ', false, json::error_handler_t::replace);
  auto token = encoded_header() + '.' + base64url_encode(body);
  // HMAC-SHA256 fails only if OpenSSL itself is broken; an unsigned token then fails verify.
  if (auto sig = hmac_sha256(cfg_.secret, token))
    token += '.' + base64url_encode({reinterpret_cast<const char*>(sig->data()), sig->size()});
  else
    token += '.';
  return token;
}

std::string jwt_codec::stamp_of(std::string_view credential) const {
  // A separate key derived from the secret, so a stamp is never a MAC an attacker could
  // reuse elsewhere; 96 bits are plenty to notice a change.
  static constexpr std::string_view label = "troupe credential stamp";
  auto key = hmac_sha256(cfg_.secret, label);
  auto mac =
      key ? hmac_sha256({reinterpret_cast<const char*>(key->data()), key->size()}, credential)
          : std::nullopt;
  if (!mac)
    return {};
  return base64url_encode({reinterpret_cast<const char*>(mac->data()), 12});
}

// Exact token bytes -> claims of tokens that passed every check. Bounded: it is
// emptied when full rather than evicting one by one, which costs one re-verify each.
struct jwt_codec::verified {
  static constexpr size_t capacity = 4096;
  std::shared_mutex mtx;
  std::unordered_map<std::string, jwt_claims> tokens;
};

caf::expected<jwt_claims> jwt_codec::verify(std::string_view token,
                                            std::chrono::system_clock::time_point now) const {
  if (verified_) {
    std::optional<jwt_claims> known;
    {
      std::shared_lock guard{verified_->mtx};
      if (auto i = verified_->tokens.find(std::string{token}); i != verified_->tokens.end())
        known = i->second;
    }
    if (known) {
      if (auto err = check_times(*known, now))
        return err;
      return *known;
    }
  }
  auto claims = verify_fully(token, now);
  if (claims && verified_) {
    std::unique_lock guard{verified_->mtx};
    if (verified_->tokens.size() >= verified::capacity)
      verified_->tokens.clear();
    verified_->tokens.emplace(std::string{token}, *claims);
  }
  return claims;
}

caf::error jwt_codec::check_times(const jwt_claims& claims,
                                  std::chrono::system_clock::time_point now) const {
  auto t = seconds_since_epoch(now);
  auto leeway = cfg_.leeway.count();
  // `exp` is the first second the token is invalid (RFC 7519 §4.1.4); comparing against
  // `t -/+ leeway` instead of adding to the claims keeps huge claims from overflowing.
  if (claims.expires_at <= t - leeway)
    return reject("token expired");
  if (claims.issued_at > t + leeway)
    return reject("token issued in the future");
  if (claims.not_before > t + leeway)
    return reject("token not valid yet");
  return caf::none;
}

caf::expected<jwt_claims> jwt_codec::verify_fully(std::string_view token,
                                                  std::chrono::system_clock::time_point now) const {
  if (cfg_.secret.empty())
    return reject("no token secret is configured");
  if (token.size() > max_token_size)
    return reject("token too large");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return reject("malformed token");
  auto header = decode_object(token.substr(0, dot1));
  if (!header)
    return reject("malformed token header");
  // Only HS256: trusting the header's choice is how "alg: none" forgeries get in.
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256")
    return reject("unsupported token algorithm");
  if (auto typ = header->find("typ");
      typ != header->end() && (!typ->is_string() || typ->get_ref<const std::string&>() != "JWT"))
    return reject("unsupported token type");
  auto signature = base64url_decode(token.substr(dot2 + 1));
  auto expected = hmac_sha256(cfg_.secret, token.substr(0, dot2));
  if (!signature || !expected || signature->size() != expected->size() ||
      CRYPTO_memcmp(signature->data(), expected->data(), expected->size()) != 0)
    return reject("invalid token signature");
  auto payload = decode_object(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload)
    return reject("malformed token payload");
  auto iss = string_claim(*payload, "iss");
  auto sub = string_claim(*payload, "sub");
  auto role = string_claim(*payload, "role");
  auto iat = int_claim(*payload, "iat");
  auto exp = int_claim(*payload, "exp");
  if (!iss || !sub || sub->empty() || !role || !iat || !exp)
    return reject("token claims missing or of the wrong type");
  // Optional claims, but a present one of the wrong type makes the token suspect.
  auto nbf = int_claim(*payload, "nbf");
  auto stm = string_claim(*payload, "stm");
  if ((payload->contains("nbf") && !nbf) || (payload->contains("stm") && !stm))
    return reject("token claims of the wrong type");
  if (*iss != cfg_.issuer)
    return reject("token issued by someone else");
  jwt_claims claims{std::move(*sub), std::move(*role), *iat, *exp,
                    nbf.value_or(0), stm.value_or("")};
  if (auto err = check_times(claims, now))
    return err;
  return claims;
}

} // namespace troupe::auth
