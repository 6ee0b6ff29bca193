#include "troupe/user/stamp_cache.hpp"

#include <gtest/gtest.h>

namespace troupe::user {
namespace {

using namespace std::chrono_literals;
using clock = stamp_cache::clock;

TEST(stamp_cache, a_stamp_is_believed_for_its_ttl_and_not_a_moment_longer) {
  stamp_cache cache{1s};
  auto t0 = clock::time_point{} + 100s;
  cache.put("u1", "stamp-a", t0);
  EXPECT_EQ(cache.find("u1", t0 + 999ms), "stamp-a");
  EXPECT_FALSE(cache.find("u1", t0 + 1s));
  EXPECT_FALSE(cache.find("u2", t0));
}

TEST(stamp_cache, a_deleted_user_is_remembered_as_an_empty_stamp) {
  stamp_cache cache{1s};
  auto t0 = clock::time_point{} + 100s;
  cache.put("gone", "", t0);
  auto found = cache.find("gone", t0);
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, "");
}

TEST(stamp_cache, a_newer_stamp_replaces_the_old_one) {
  stamp_cache cache{1s};
  auto t0 = clock::time_point{} + 100s;
  cache.put("u1", "old", t0);
  cache.put("u1", "new", t0 + 500ms);
  EXPECT_EQ(cache.find("u1", t0 + 1200ms), "new");
}

TEST(stamp_cache, a_zero_ttl_caches_nothing) {
  stamp_cache cache{0s};
  auto t0 = clock::time_point{} + 100s;
  cache.put("u1", "stamp", t0);
  EXPECT_FALSE(cache.find("u1", t0));
}

TEST(stamp_cache, memory_is_bounded_first_by_dropping_expired_entries) {
  stamp_cache cache{1s, 2};
  auto t0 = clock::time_point{} + 100s;
  cache.put("old", "a", t0);
  cache.put("fresh", "b", t0 + 900ms);
  cache.put("newest", "c", t0 + 1500ms); // full: "old" has expired and goes
  EXPECT_EQ(cache.find("fresh", t0 + 1500ms), "b");
  EXPECT_EQ(cache.find("newest", t0 + 1500ms), "c");
  cache.put("one-more", "d", t0 + 1600ms); // full of fresh entries: forgotten, not grown
  EXPECT_EQ(cache.find("one-more", t0 + 1600ms), "d");
  EXPECT_FALSE(cache.find("fresh", t0 + 1600ms));
}

} // namespace
} // namespace troupe::user
