#include "troupe/notification/handoff.hpp"

#include <gtest/gtest.h>

namespace troupe::notification::test {
namespace {

std::vector<notification_record> rows(std::initializer_list<const char*> ids) {
  std::vector<notification_record> out;
  for (auto id : ids) {
    notification_record r;
    r.id = id;
    out.push_back(r);
  }
  return out;
}

std::vector<std::string> ids_of(const std::vector<notification_record>& taken) {
  std::vector<std::string> out;
  for (const auto& r : taken)
    out.push_back(r.id);
  return out;
}

TEST(handoff, hands_rows_over_oldest_first_and_wakes_the_dispatcher_on_each_push) {
  handoff h{10};
  int wakes = 0;
  h.push(rows({"a"})); // no dispatcher yet: queued all the same
  h.on_push([&] { ++wakes; });
  h.push(rows({"b", "c"}));
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(ids_of(h.take(2)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids_of(h.take(5)), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(h.take(5).empty());
}

TEST(handoff, holds_no_more_than_its_capacity) {
  handoff h{2};
  h.push(rows({"a", "b", "c"}));
  h.push(rows({"d"}));
  // The rest stay claimed in the store until their lease ends; a poll finds them then.
  EXPECT_EQ(ids_of(h.take(10)), (std::vector<std::string>{"a", "b"}));
  h.push(rows({"e"}));
  EXPECT_EQ(ids_of(h.take(10)), (std::vector<std::string>{"e"}));
}

} // namespace
} // namespace troupe::notification::test
