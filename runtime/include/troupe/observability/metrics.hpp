#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace troupe::observability {

/// Label values of one series, in the order of its family's label names.
using label_values = std::vector<std::string>;

/// A monotonically increasing count; updates are lock-free.
class counter {
public:
  /// Adds `n` (default 1).
  void inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  /// Returns the current count.
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> value_{0};
};

/// A value that goes up and down; updates are lock-free.
class gauge {
public:
  /// Sets the value.
  void set(int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  /// Adds `n`, which may be negative.
  void add(int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  /// Returns the current value.
  int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<int64_t> value_{0};
};

/// A distribution over fixed bucket bounds (seconds for latencies); lock-free.
class histogram {
public:
  /// Creates a histogram with ascending upper bounds; +Inf is implied.
  explicit histogram(std::vector<double> bounds);
  /// Records one observation.
  void observe(double v) noexcept;
  /// Returns the upper bounds (without +Inf).
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  /// Returns the non-cumulative count of bucket `i` (`bounds().size()` is +Inf).
  uint64_t bucket(size_t i) const noexcept { return buckets_[i].load(std::memory_order_relaxed); }
  /// Returns the number of observations.
  uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  /// Returns the sum of observations.
  double sum() const noexcept;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

/// Latency bucket bounds in seconds, from 100 µs to 10 s.
std::vector<double> default_latency_buckets();

/// A named metric with a fixed set of label names and one series per label values.
/// `with()` takes a lock; keep the returned reference for hot paths: it stays valid
/// for the family's lifetime.
template <class Metric>
class family {
public:
  /// Creates a family; `make` builds a fresh series.
  family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}

  /// Returns the series for `values` (one per label name), creating it on first use.
  Metric& with(const label_values& values) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = series_.find(values);
    if (i == series_.end())
      i = series_.emplace(values, make()).first;
    return *i->second;
  }

  /// Calls `f(values, metric)` for every series, in label order.
  template <class F>
  void for_each(F&& f) const {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [values, metric] : series_)
      f(values, *metric);
  }

  /// Returns the metric name.
  const std::string& name() const noexcept { return name_; }
  /// Returns the help text.
  const std::string& help() const noexcept { return help_; }
  /// Returns the label names.
  const std::vector<std::string>& labels() const noexcept { return labels_; }

private:
  std::unique_ptr<Metric> make() const {
    if constexpr (std::is_same_v<Metric, histogram>)
      return std::make_unique<Metric>(bounds_);
    else
      return std::make_unique<Metric>();
  }

  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  mutable std::mutex mtx_;
  std::map<label_values, std::unique_ptr<Metric>> series_;
};

/// All metrics of one process, rendered in the Prometheus text format 0.0.4.
class registry {
public:
  /// Returns the counter family `name`, creating it on first use.
  family<counter>& counters(const std::string& name, const std::string& help,
                            std::vector<std::string> labels = {});
  /// Returns the gauge family `name`, creating it on first use.
  family<gauge>& gauges(const std::string& name, const std::string& help,
                        std::vector<std::string> labels = {});
  /// Returns the histogram family `name`, creating it on first use.
  family<histogram>& histograms(const std::string& name, const std::string& help,
                                std::vector<std::string> labels,
                                std::vector<double> bounds = default_latency_buckets());
  /// Adds text rendered after the families on every scrape, for figures read only then (such
  /// as the process's); `render` must append whole families, HELP and TYPE included.
  void add_collector(std::function<void(std::string&)> render);
  /// Renders every family in the Prometheus text exposition format 0.0.4.
  std::string render() const;

private:
  mutable std::mutex mtx_;
  std::map<std::string, std::unique_ptr<family<counter>>> counters_;
  std::map<std::string, std::unique_ptr<family<gauge>>> gauges_;
  std::map<std::string, std::unique_ptr<family<histogram>>> histograms_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

/// The content type of `registry::render()`.
inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

} // namespace troupe::observability
