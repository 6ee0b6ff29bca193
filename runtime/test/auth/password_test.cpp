#include "troupe/auth/password.hpp"

#include <gtest/gtest.h>

#include "troupe/core/error.hpp"

namespace troupe::auth {
namespace {

TEST(auth_password, hash_then_verify) {
  auto hash = hash_password("correct horse battery staple");
  ASSERT_TRUE(hash) << describe(hash.error());
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_TRUE(verify_password(*hash, "correct horse battery staple"));
  EXPECT_FALSE(verify_password(*hash, "correct horse battery stapler"));
  EXPECT_FALSE(verify_password(*hash, ""));
}

TEST(auth_password, salts_make_every_hash_unique) {
  auto a = hash_password("same password");
  auto b = hash_password("same password");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(verify_password(*b, "same password"));
}

TEST(auth_password, passwords_may_contain_any_bytes) {
  std::string pw{"nul\0inside \xff", 12};
  auto hash = hash_password(pw);
  ASSERT_TRUE(hash);
  EXPECT_TRUE(verify_password(*hash, pw));
  EXPECT_FALSE(verify_password(*hash, "nul"));
}

TEST(auth_password, malformed_hashes_never_verify) {
  EXPECT_FALSE(verify_password("", "x"));
  EXPECT_FALSE(verify_password("plain-text", "plain-text"));
  EXPECT_FALSE(verify_password("$argon2id$v=19$m=65536,t=2,p=1$garbage", "x"));
  EXPECT_FALSE(verify_password(std::string("$argon2id$\0", 11), "x"));
  EXPECT_FALSE(verify_password(std::string(1000, '$'), "x"));
}

} // namespace
} // namespace troupe::auth
