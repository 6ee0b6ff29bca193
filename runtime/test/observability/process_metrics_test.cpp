#include "troupe/observability/process_metrics.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "troupe/observability/metrics.hpp"

namespace troupe::observability {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(process_metrics, a_sample_reads_plausible_figures_of_this_process) {
  auto s = sample_process();
  EXPECT_GT(s.resident_bytes, 1024.0 * 1024);
  EXPECT_GE(s.virtual_bytes, s.resident_bytes);
  EXPECT_GE(s.open_fds, 3.0); // stdin, stdout, stderr at least
  EXPECT_GE(s.max_fds, s.open_fds);
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
  EXPECT_LE(s.start_time_seconds, now.count());
  EXPECT_GT(s.start_time_seconds, now.count() - 3600) << "this test process started long ago?";
}

TEST(process_metrics, an_opened_descriptor_is_counted) {
  auto before = sample_process().open_fds;
  int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  auto during = sample_process().open_fds;
  ::close(fd);
  EXPECT_EQ(during, before + 1);
}

TEST(process_metrics, cpu_time_grows_with_work) {
  auto before = sample_process().cpu_seconds;
  volatile double sink = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds{50};
  while (std::chrono::steady_clock::now() < until)
    sink = sink + 1;
  EXPECT_GT(sample_process().cpu_seconds, before);
}

TEST(process_metrics, the_registry_renders_them_at_every_scrape) {
  registry reg;
  add_process_metrics(reg);
  auto text = reg.render();
  for (auto name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                    "process_open_fds", "process_max_fds", "process_start_time_seconds"}) {
    EXPECT_TRUE(contains(text, std::string{"# HELP "} + name + " ")) << name;
    EXPECT_TRUE(contains(text, std::string{"\n"} + name + " ")) << name;
  }
  EXPECT_TRUE(contains(text, "# TYPE process_cpu_seconds_total counter\n")) << text;
  EXPECT_TRUE(contains(text, "# TYPE process_open_fds gauge\n")) << text;
}

TEST(process_metrics, build_info_is_one_series_set_to_one) {
  registry reg;
  add_build_info(reg, "0.1.0-3-gabc1234", "abc1234");
  EXPECT_TRUE(contains(reg.render(),
                       "troupe_build_info{version=\"0.1.0-3-gabc1234\",revision=\"abc1234\"} 1\n"))
      << reg.render();
}

} // namespace
} // namespace troupe::observability
