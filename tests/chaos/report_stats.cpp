#include "report_stats.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace troupe::chaos_harness {

namespace {

constexpr micros one_second = 1'000'000;

std::optional<double> percentile_ms(std::vector<std::int64_t>& latencies, double p) {
  auto value = percentile(latencies, p);
  if (!value)
    return std::nullopt;
  // Hundredths of a millisecond are plenty for a chart and keep the embedded data small.
  return std::round(static_cast<double>(*value) / 10.0) / 100.0;
}

nlohmann::json optional_json(const std::optional<std::int64_t>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

} // namespace

std::optional<std::int64_t> percentile(std::vector<std::int64_t>& values, double p) {
  if (values.empty())
    return std::nullopt;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  auto index = std::clamp<std::size_t>(rank, 1, values.size()) - 1;
  auto nth = values.begin() + static_cast<std::ptrdiff_t>(index);
  std::nth_element(values.begin(), nth, values.end());
  return *nth;
}

bool failed(const operation& op) {
  return op.status == 0 || op.status >= 500;
}

std::optional<std::int64_t> recovery_ms(const fault_window& fault) {
  if (fault.recovered < 0)
    return std::nullopt;
  auto from = fault.type == "kill" ? fault.start : fault.end;
  return std::max<micros>(0, fault.recovered - from) / 1000;
}

nlohmann::json recovery_by_type(const std::vector<fault_window>& faults) {
  std::map<std::string, std::pair<std::size_t, std::vector<std::int64_t>>> by_type;
  for (const auto& fault : faults) {
    auto& [count, recoveries] = by_type[fault.type];
    ++count;
    if (auto ms = recovery_ms(fault))
      recoveries.push_back(*ms);
  }
  auto out = nlohmann::json::object();
  for (auto& [type, entry] : by_type) {
    auto& [count, recoveries] = entry;
    auto max = recoveries.empty()
                   ? nlohmann::json(nullptr)
                   : nlohmann::json(*std::max_element(recoveries.begin(), recoveries.end()));
    out[type] = {{"count", count},
                 {"recovered", recoveries.size()},
                 {"p50", optional_json(percentile(recoveries, 0.5))},
                 {"max", std::move(max)}};
  }
  return out;
}

second_series per_second(const run_record& run) {
  micros last = std::max<micros>(run.finished, 0);
  for (const auto& op : run.operations)
    last = std::max(last, op.answered);
  // Whole seconds up to the end, so a last second that no answer reaches is not drawn as a
  // drop to nothing.
  auto buckets =
      static_cast<std::size_t>(std::max<micros>((last + one_second - 1) / one_second, 1));
  second_series out;
  out.ok.assign(buckets, 0);
  out.failed.assign(buckets, 0);
  std::vector<std::vector<std::int64_t>> latencies(buckets);
  for (const auto& op : run.operations) {
    auto bucket = std::min(static_cast<std::size_t>(std::max<micros>(op.answered, 0) / one_second),
                           buckets - 1);
    (failed(op) ? out.failed : out.ok)[bucket]++;
    latencies[bucket].push_back(std::max<micros>(op.answered - op.sent, 0));
  }
  out.p50_ms.reserve(buckets);
  out.p99_ms.reserve(buckets);
  for (auto& second : latencies) {
    out.p50_ms.push_back(percentile_ms(second, 0.5));
    out.p99_ms.push_back(percentile_ms(second, 0.99));
  }
  return out;
}

} // namespace troupe::chaos_harness
