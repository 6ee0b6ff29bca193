#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include <gtest/gtest.h>

#include "report.hpp"
#include "report_html.hpp"
#include "report_stats.hpp"
#include "sample_run.hpp"

namespace troupe::chaos_harness {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(chaos_report, percentile_is_nearest_rank) {
  std::vector<std::int64_t> four = {4, 1, 3, 2};
  EXPECT_EQ(percentile(four, 0.5), 2);
  std::vector<std::int64_t> hundred(100);
  std::iota(hundred.begin(), hundred.end(), 1);
  EXPECT_EQ(percentile(hundred, 0.99), 99);
  EXPECT_EQ(percentile(hundred, 1.0), 100);
  std::vector<std::int64_t> one = {7};
  EXPECT_EQ(percentile(one, 0.5), 7);
  std::vector<std::int64_t> none;
  EXPECT_FALSE(percentile(none, 0.5));
}

TEST(chaos_report, result_has_the_campaign_figures) {
  auto result = result_json(sample_run());
  EXPECT_EQ(result["passed"], false);
  EXPECT_EQ(result["seed"], 42);
  EXPECT_TRUE(result["aborted"].is_null());
  EXPECT_EQ(result["faults_injected"], 4);
  EXPECT_EQ(result["faults_by_type"],
            (nlohmann::json{{"kill", 2}, {"partition", 1}, {"latency", 1}}));
  EXPECT_EQ(result["acknowledged_operations"], 2210);
  EXPECT_EQ(result["lost_operations"], 0);
  EXPECT_EQ(result["stale_reads"], 0);
  EXPECT_EQ(result["duplicate_notifications"], 2);
  EXPECT_EQ(result["error_window_after_kill_ms"], (nlohmann::json{{"p50", 1500}, {"max", 5500}}));
  EXPECT_EQ(result["converged_after_ms"], 1800);
  EXPECT_EQ(result["grace_ms"], 2000) << "every figure of the checks is copied";
  ASSERT_EQ(result["invariants"].size(), 4u);
  EXPECT_EQ(result["invariants"][2]["name"], "no_duplicate_notifications");
  EXPECT_EQ(result["invariants"][2]["passed"], false);
  EXPECT_EQ(result["invariants"][0]["passed"], true);
}

TEST(chaos_report, recovery_counts_from_a_kill_start_and_other_faults_end) {
  auto recovery = result_json(sample_run())["recovery_ms_by_fault_type"];
  // Kills recovered 5500 ms and 3000 ms after they began: nearest-rank p50 is the lower.
  EXPECT_EQ(recovery["kill"],
            (nlohmann::json{{"count", 2}, {"recovered", 2}, {"p50", 3000}, {"max", 5500}}));
  EXPECT_EQ(recovery["partition"],
            (nlohmann::json{{"count", 1}, {"recovered", 1}, {"p50", 1200}, {"max", 1200}}));
  EXPECT_EQ(recovery["latency"],
            (nlohmann::json{{"count", 1}, {"recovered", 0}, {"p50", nullptr}, {"max", nullptr}}));
}

TEST(chaos_report, passed_needs_every_invariant_and_no_abort) {
  auto run = sample_run();
  for (auto& inv : run.invariants)
    inv.passed = true;
  EXPECT_EQ(result_json(run)["passed"], true);
  run.aborted = "error rate above 50% for 10 s";
  auto result = result_json(run);
  EXPECT_EQ(result["passed"], false);
  EXPECT_EQ(result["aborted"], "error rate above 50% for 10 s");
}

TEST(chaos_report, figures_the_checks_did_not_compute_are_null) {
  auto run = sample_run();
  run.figures = nlohmann::json::object();
  run.converged_after_ms = -1;
  auto result = result_json(run);
  for (const auto* name :
       {"acknowledged_operations", "lost_operations", "stale_reads", "duplicate_notifications",
        "error_window_after_kill_ms", "converged_after_ms"}) {
    ASSERT_TRUE(result.contains(name)) << name;
    EXPECT_TRUE(result[name].is_null()) << name;
  }
}

TEST(chaos_report, per_second_series_count_every_answer) {
  auto run = sample_run();
  auto series = per_second(run);
  ASSERT_EQ(series.ok.size(), 60u);
  auto ok = std::accumulate(series.ok.begin(), series.ok.end(), std::int64_t{0});
  auto bad = std::accumulate(series.failed.begin(), series.failed.end(), std::int64_t{0});
  EXPECT_EQ(ok + bad, 3000);
  std::int64_t expected_bad = 0;
  for (const auto& op : run.operations)
    expected_bad += failed(op) ? 1 : 0;
  EXPECT_EQ(bad, expected_bad);
  EXPECT_EQ(series.failed[5], 0) << "no fault yet";
  EXPECT_GT(series.failed[12], 10) << "a third of the requests go to the killed node";
  EXPECT_GT(series.failed[35], 10) << "and to the partitioned one";
  ASSERT_TRUE(series.p50_ms[5]);
  EXPECT_GE(*series.p50_ms[5], 5.0);
  EXPECT_LE(*series.p50_ms[5], 35.0);
  ASSERT_TRUE(series.p99_ms[35]);
  EXPECT_GE(*series.p99_ms[35], 2000.0) << "timeouts inside the partition";
}

TEST(chaos_report, writes_both_files) {
  auto dir = std::filesystem::path(testing::TempDir()) / "chaos_report_writes_both_files";
  std::filesystem::remove_all(dir);
  auto run = sample_run();
  write_outputs(run, dir);
  EXPECT_EQ(nlohmann::json::parse(read(dir / "result.json")), result_json(run));
  auto html = read(dir / "report.html");
  EXPECT_NE(html.find("FAILED"), std::string::npos);
  EXPECT_EQ(count(html, "<tr class=\"fail\">"), 1u);
  EXPECT_EQ(count(html, "<tr class=\"pass\">"), 3u);
  std::filesystem::remove_all(dir);
}

TEST(chaos_report, html_loads_nothing_from_the_network) {
  auto html = report_html(sample_run(), result_json(sample_run()));
  for (const auto* reference : {"http://", "https://", "src=", "@import", "url(", "<link"})
    EXPECT_EQ(html.find(reference), std::string::npos) << reference;
}

TEST(chaos_report, html_escapes_what_the_record_says) {
  auto html = report_html(sample_run(), result_json(sample_run()));
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more"),
            std::string::npos);
  EXPECT_EQ(html.find("<b>slow</b>"), std::string::npos);
  // The chart data inside <script> cannot close it: only the page's own two scripts end.
  EXPECT_EQ(count(html, "</script>"), 2u);
  EXPECT_EQ(html_escape("a<b>&'\""), "a&lt;b&gt;&amp;&#39;&quot;");

  // Fault types and targets go into the tables and into the charts' data.
  auto run = sample_run();
  run.faults[0].target = "<img onerror=alert(1)>";
  run.faults[1].type = "runtime:</script><b>";
  html = report_html(run, result_json(run));
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(count(html, "</script>"), 2u);
}

TEST(chaos_report, an_empty_campaign_still_reports) {
  run_record run;
  auto result = result_json(run);
  EXPECT_EQ(result["passed"], true);
  EXPECT_EQ(result["faults_injected"], 0);
  EXPECT_EQ(result["faults_by_type"], nlohmann::json::object());
  EXPECT_EQ(result["recovery_ms_by_fault_type"], nlohmann::json::object());
  EXPECT_NE(report_html(run, result).find("PASSED"), std::string::npos);
}

TEST(chaos_report, embedded_data_grows_with_seconds_not_operations) {
  run_record run;
  run.finished = 600'000'000;
  run.fault_phase_end = 500'000'000;
  for (micros t = 0; t < run.finished; t += 2000) // 300,000 operations over ten minutes
    run.operations.push_back({"get_order", "n1", "k", t, t + 1500 + t % 7000, 200});
  auto html = report_html(run, result_json(run));
  EXPECT_LT(html.size(), 120'000u);
}

} // namespace
} // namespace troupe::chaos_harness
