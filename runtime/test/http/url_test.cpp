#include "troupe/http/url.hpp"

#include <gtest/gtest.h>

namespace troupe::http {
namespace {

TEST(http_url, percent_decode_handles_escapes_and_rejects_bad_ones) {
  EXPECT_EQ(percent_decode("a%20b%2fc"), "a b/c");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("%e2%82%AC"), "\xe2\x82\xac");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("abc%2"));
  EXPECT_FALSE(percent_decode("%g0"));
}

TEST(http_url, target_splits_path_and_query) {
  EXPECT_EQ(target_path("/a/b?x=1#frag"), "/a/b");
  EXPECT_EQ(target_query("/a/b?x=1#frag"), "x=1");
  EXPECT_EQ(target_query("/a/b"), "");
}

TEST(http_url, parse_query_decodes_and_keeps_first_occurrence) {
  auto q = parse_query("/search?name=Ada+Lovelace&tag=a%26b&empty=&flag&name=other");
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(q["name"], "Ada Lovelace");
  EXPECT_EQ(q["tag"], "a&b");
  EXPECT_EQ(q["empty"], "");
  EXPECT_EQ(q["flag"], "");
  auto raw = parse_query("limit=10&&bad=%zz");
  EXPECT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw["limit"], "10");
  EXPECT_EQ(raw["bad"], "%zz");
  EXPECT_TRUE(parse_query("/no-query").empty());
}

} // namespace
} // namespace troupe::http
