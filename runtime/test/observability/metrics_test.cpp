#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "troupe/observability/metrics.hpp"

namespace troupe::observability {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(metrics, counters_render_with_help_type_and_labels) {
  registry reg;
  auto& requests = reg.counters("x_requests_total", "Requests.", {"route", "status"});
  requests.with({"/a", "200"}).inc();
  requests.with({"/a", "200"}).inc(2);
  requests.with({"/b", "404"}).inc();
  auto text = reg.render();
  EXPECT_TRUE(contains(text, "# HELP x_requests_total Requests.\n")) << text;
  EXPECT_TRUE(contains(text, "# TYPE x_requests_total counter\n")) << text;
  EXPECT_TRUE(contains(text, "x_requests_total{route=\"/a\",status=\"200\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, "x_requests_total{route=\"/b\",status=\"404\"} 1\n")) << text;
}

TEST(metrics, label_values_are_escaped) {
  registry reg;
  reg.counters("x_total", "X.", {"v"}).with({"a\"b\\c\nd"}).inc();
  EXPECT_TRUE(contains(reg.render(), "x_total{v=\"a\\\"b\\\\c\\nd\"} 1\n")) << reg.render();
}

TEST(metrics, unlabelled_gauges_render_bare) {
  registry reg;
  auto& g = reg.gauges("x_active", "Active.").with({});
  g.set(5);
  g.add(-2);
  EXPECT_TRUE(contains(reg.render(), "# TYPE x_active gauge\nx_active 3\n")) << reg.render();
}

TEST(metrics, histograms_render_cumulative_buckets_sum_and_count) {
  registry reg;
  auto& h = reg.histograms("x_seconds", "Latency.", {"route"}, {0.1, 1}).with({"/a"});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(0.5);
  h.observe(3);
  auto text = reg.render();
  EXPECT_TRUE(contains(text, "x_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "x_seconds_bucket{route=\"/a\",le=\"1\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, "x_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n")) << text;
  EXPECT_TRUE(contains(text, "x_seconds_sum{route=\"/a\"} 4.05\n")) << text;
  EXPECT_TRUE(contains(text, "x_seconds_count{route=\"/a\"} 4\n")) << text;
}

TEST(metrics, the_same_name_returns_the_same_family) {
  registry reg;
  auto& a = reg.counters("x_total", "X.", {"k"});
  auto& b = reg.counters("x_total", "X.", {"k"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.with({"v"}), &b.with({"v"}));
}

TEST(metrics, concurrent_increments_are_not_lost) {
  registry reg;
  auto& fam = reg.counters("x_total", "X.", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i)
        fam.with({"same"}).inc();
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(fam.with({"same"}).value(), 40000u);
}

} // namespace
} // namespace troupe::observability
