#include "troupe/auth/jwt.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "troupe/core/error.hpp"

namespace troupe::auth {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::system_clock;

const std::string secret = "0123456789abcdef0123456789abcdef";
const clock_type::time_point t0 = clock_type::time_point{1'700'000'000s};

jwt_codec codec() {
  return jwt_codec{jwt_config{secret, 900s, 30s, "troupe"}};
}

// The tests forge tokens by hand, so they carry their own tiny base64url encoder.
std::string b64url(std::string_view in) {
  static constexpr std::string_view abc =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = acc << 8 | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += abc[acc >> bits & 63];
    }
  }
  if (bits > 0)
    out += abc[acc << (6 - bits) & 63];
  return out;
}

std::string mac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string{reinterpret_cast<const char*>(out), len};
}

// Builds header.payload.signature with any header and claims, signed with `md`.
std::string forge(const nlohmann::json& header, const nlohmann::json& payload,
                  const EVP_MD* md = EVP_sha256(), std::string_view key = secret) {
  auto signing_input = b64url(header.dump()) + "." + b64url(payload.dump());
  return signing_input + "." + b64url(mac(md, key, signing_input));
}

const nlohmann::json hs256 = {{"alg", "HS256"}, {"typ", "JWT"}};

nlohmann::json claims(int64_t iat, int64_t exp) {
  return {{"iss", "troupe"}, {"sub", "u1"}, {"role", "user"}, {"iat", iat}, {"exp", exp}};
}

nlohmann::json patched(nlohmann::json j, const nlohmann::json& patch) {
  j.update(patch);
  return j;
}

int64_t secs(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

void expect_unauthenticated(const caf::expected<jwt_claims>& result) {
  ASSERT_FALSE(result);
  EXPECT_TRUE(is(result.error(), errc::unauthenticated)) << describe(result.error());
}

TEST(auth_jwt, sign_then_verify_round_trips) {
  auto c = codec();
  auto token = c.sign("user-42", "admin", t0);
  auto got = c.verify(token, t0 + 10s);
  ASSERT_TRUE(got) << describe(got.error());
  EXPECT_EQ(got->subject, "user-42");
  EXPECT_EQ(got->role, "admin");
  EXPECT_EQ(got->issued_at, secs(t0));
  EXPECT_EQ(got->expires_at, secs(t0) + 900);
  EXPECT_EQ(c.ttl(), 900s);
}

TEST(auth_jwt, header_is_hs256_jwt) {
  auto token = codec().sign("u", "user", t0);
  EXPECT_EQ(token.substr(0, token.find('.')), b64url(R"({"alg":"HS256","typ":"JWT"})"));
}

TEST(auth_jwt, expiry_honours_leeway) {
  auto c = codec();
  auto token = c.sign("u", "user", t0);
  EXPECT_TRUE(c.verify(token, t0 + 900s + 29s));
  expect_unauthenticated(c.verify(token, t0 + 900s + 30s));
  expect_unauthenticated(c.verify(token, t0 + 24h));
}

TEST(auth_jwt, issued_in_the_future_beyond_leeway_is_rejected) {
  auto c = codec();
  EXPECT_TRUE(c.verify(c.sign("u", "user", t0 + 30s), t0));
  expect_unauthenticated(c.verify(c.sign("u", "user", t0 + 31s), t0));
}

TEST(auth_jwt, not_before_in_the_future_is_rejected_until_it_passes) {
  auto c = codec();
  auto now = secs(t0);
  auto early = forge(hs256, patched(claims(now, now + 600), {{"nbf", now + 120}}));
  expect_unauthenticated(c.verify(early, t0));
  // Within the leeway (30 s) of nbf the token is good, and stays good once remembered.
  EXPECT_TRUE(c.verify(early, t0 + 90s));
  EXPECT_TRUE(c.verify(early, t0 + 120s));
  auto past = forge(hs256, patched(claims(now, now + 600), {{"nbf", now - 5}}));
  EXPECT_TRUE(c.verify(past, t0));
  auto odd = forge(hs256, patched(claims(now, now + 600), {{"nbf", "soon"}}));
  expect_unauthenticated(c.verify(odd, t0));
}

TEST(auth_jwt, a_remembered_token_is_still_checked_for_not_before) {
  auto c = codec();
  auto now = secs(t0);
  auto early = forge(hs256, patched(claims(now, now + 600), {{"nbf", now + 120}}));
  ASSERT_TRUE(c.verify(early, t0 + 100s));
  expect_unauthenticated(c.verify(early, t0));
}

TEST(auth_jwt, stamp_is_carried_and_tracks_the_credential) {
  auto c = codec();
  auto a = c.stamp_of("$argon2id$hash-one");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, c.stamp_of("$argon2id$hash-one"));
  EXPECT_NE(a, c.stamp_of("$argon2id$hash-two"));
  EXPECT_EQ(a.find("argon"), std::string::npos);
  auto claims = c.verify(c.sign("u", "user", t0, a), t0);
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->stamp, a);
  auto plain = c.verify(c.sign("u", "user", t0), t0);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->stamp.empty());
}

TEST(auth_jwt, tampering_is_detected) {
  auto c = codec();
  auto token = c.sign("u1", "user", t0);
  auto dot1 = token.find('.');
  auto dot2 = token.rfind('.');
  // Same header and signature, payload claiming admin.
  auto elevated = token.substr(0, dot1 + 1) +
                  b64url(patched(claims(secs(t0), secs(t0) + 900), {{"role", "admin"}}).dump()) +
                  token.substr(dot2);
  expect_unauthenticated(c.verify(elevated, t0));
  auto bad_sig = token;
  bad_sig[dot2 + 1] = bad_sig[dot2 + 1] == 'A' ? 'B' : 'A';
  expect_unauthenticated(c.verify(bad_sig, t0));
  expect_unauthenticated(c.verify(token.substr(0, dot2 + 1), t0));
}

TEST(auth_jwt, a_remembered_token_is_still_checked_for_time_and_exact_bytes) {
  auto c = codec();
  auto token = c.sign("u1", "user", t0);
  ASSERT_TRUE(c.verify(token, t0)); // now remembered
  auto bad_sig = token;
  bad_sig.back() = bad_sig.back() == 'A' ? 'B' : 'A';
  expect_unauthenticated(c.verify(bad_sig, t0));
  expect_unauthenticated(c.verify(token + "x", t0));
  EXPECT_TRUE(c.verify(token, t0 + 900s + 29s));
  expect_unauthenticated(c.verify(token, t0 + 900s + 30s));
  jwt_codec other{jwt_config{"another-secret-that-is-long-enough!", 900s, 30s, "troupe"}};
  expect_unauthenticated(other.verify(token, t0)); // codecs share nothing
}

TEST(auth_jwt, wrong_secret_is_rejected) {
  auto other = jwt_codec{jwt_config{std::string(32, 'x')}};
  expect_unauthenticated(codec().verify(other.sign("u", "user", t0), t0));
}

TEST(auth_jwt, alg_none_is_rejected) {
  auto payload = b64url(claims(secs(t0), secs(t0) + 900).dump());
  expect_unauthenticated(codec().verify(b64url(R"({"alg":"none"})") + "." + payload + ".", t0));
  expect_unauthenticated(
      codec().verify(b64url(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".", t0));
}

TEST(auth_jwt, other_algorithms_and_headers_are_rejected) {
  auto c = codec();
  auto good = claims(secs(t0), secs(t0) + 900);
  EXPECT_TRUE(c.verify(forge({{"alg", "HS256"}}, good), t0));
  expect_unauthenticated(
      c.verify(forge({{"alg", "HS512"}, {"typ", "JWT"}}, good, EVP_sha512()), t0));
  expect_unauthenticated(c.verify(forge({{"alg", "hs256"}}, good), t0));
  expect_unauthenticated(c.verify(forge({{"typ", "JWT"}}, good), t0));
  expect_unauthenticated(c.verify(forge({{"alg", 256}}, good), t0));
  expect_unauthenticated(c.verify(forge({{"alg", "HS256"}, {"typ", "JWE"}}, good), t0));
  expect_unauthenticated(c.verify(forge(nlohmann::json::array({"HS256"}), good), t0));
}

TEST(auth_jwt, claims_are_type_checked) {
  auto c = codec();
  auto t = secs(t0);
  auto with = [&](nlohmann::json patch) {
    return forge({{"alg", "HS256"}}, patched(claims(t, t + 900), patch));
  };
  expect_unauthenticated(c.verify(with({{"iss", "someone-else"}}), t0));
  expect_unauthenticated(c.verify(with({{"exp", "later"}}), t0));
  expect_unauthenticated(c.verify(with({{"exp", 1.7e9 + 900.5}}), t0));
  expect_unauthenticated(c.verify(with({{"iat", nullptr}}), t0));
  expect_unauthenticated(c.verify(with({{"sub", 42}}), t0));
  expect_unauthenticated(c.verify(with({{"sub", ""}}), t0));
  expect_unauthenticated(c.verify(with({{"role", nlohmann::json::array()}}), t0));
  expect_unauthenticated(c.verify(with({{"exp", 18446744073709551615ull}}), t0));
  expect_unauthenticated(c.verify(forge({{"alg", "HS256"}}, nlohmann::json::array({1, 2})), t0));
  // Extreme but well-typed times must not overflow into acceptance.
  expect_unauthenticated(c.verify(with({{"exp", INT64_MIN}}), t0));
  expect_unauthenticated(c.verify(with({{"iat", INT64_MAX}}), t0));
}

TEST(auth_jwt, garbage_is_rejected_without_throwing) {
  auto c = codec();
  auto token = c.sign("u", "user", t0);
  for (std::string bad :
       {std::string{}, std::string{"a.b"}, std::string{"a.b.c.d"}, std::string{".."},
        std::string{"..."}, std::string{"!!!.@@@.###"}, std::string{"a.b.c"}, token + ".",
        token + "=", "." + token, b64url("not json") + "." + b64url("{}") + ".x",
        std::string(100 * 1024, 'A'), std::string("\0.\0.\0", 5)}) {
    EXPECT_NO_THROW(expect_unauthenticated(c.verify(bad, t0))) << bad.substr(0, 40);
  }
}

TEST(auth_jwt, errors_do_not_leak_the_secret) {
  auto result = codec().verify("a.b.c", t0);
  ASSERT_FALSE(result);
  EXPECT_EQ(describe(result.error()).find(secret), std::string::npos);
}

TEST(auth_jwt, empty_secret_fails_closed) {
  auto c = jwt_codec{jwt_config{}};
  expect_unauthenticated(c.verify(c.sign("u", "user", t0), t0));
}

TEST(auth_jwt, make_checks_the_config) {
  EXPECT_TRUE(jwt_codec::make(jwt_config{secret}));
  auto short_secret = jwt_codec::make(jwt_config{"short"});
  ASSERT_FALSE(short_secret);
  EXPECT_TRUE(is(short_secret.error(), errc::invalid_argument));
  EXPECT_FALSE(jwt_codec::make(jwt_config{secret, 0s}));
  EXPECT_FALSE(jwt_codec::make(jwt_config{secret, 60s, -1s}));
}

} // namespace
} // namespace troupe::auth
