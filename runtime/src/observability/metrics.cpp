#include "troupe/observability/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace troupe::observability {

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i)
    buckets_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
  auto i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[static_cast<size_t>(i)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  // Fixed point (µs resolution) keeps the sum lock-free without atomic<double> CAS loops.
  sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(std::max(v, 0.0) * 1e6)),
                        std::memory_order_relaxed);
}

double histogram::sum() const noexcept {
  return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
}

std::vector<double> default_latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

namespace {

template <class Map, class... Args>
auto& get_or_make(std::mutex& mtx, Map& map, const std::string& name, Args&&... args) {
  std::lock_guard<std::mutex> guard{mtx};
  auto i = map.find(name);
  if (i == map.end()) {
    using family_type = typename Map::mapped_type::element_type;
    i = map.emplace(name, std::make_unique<family_type>(name, std::forward<Args>(args)...)).first;
  }
  return *i->second;
}

std::string escape_label(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_number(double v) {
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream out;
  out.precision(12);
  out << v;
  return out.str();
}

// Renders {a="x",b="y"} plus an optional extra label (for histogram buckets).
std::string label_set(const std::vector<std::string>& names, const label_values& values,
                      const std::string& extra = {}) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + escape_label(values[i]) + "\"";
  }
  if (!extra.empty())
    out += (out.empty() ? "{" : ",") + extra;
  return out.empty() ? out : out + "}";
}

template <class Family>
void header(std::string& out, const Family& f, const char* type) {
  out += "# HELP " + f.name() + " " + f.help() + "\n";
  out += "# TYPE " + f.name() + " " + type + "\n";
}

// Renders every family of `families` with its header, one `series` call per series.
template <class Map, class Series>
void render_all(std::string& out, const Map& families, const char* type, Series series) {
  for (auto& entry : families) {
    auto& f = *entry.second;
    header(out, f, type);
    f.for_each([&](const label_values& v, const auto& metric) { series(f, v, metric); });
  }
}

} // namespace

family<counter>& registry::counters(const std::string& name, const std::string& help,
                                    std::vector<std::string> labels) {
  return get_or_make(mtx_, counters_, name, help, std::move(labels));
}

family<gauge>& registry::gauges(const std::string& name, const std::string& help,
                                std::vector<std::string> labels) {
  return get_or_make(mtx_, gauges_, name, help, std::move(labels));
}

family<histogram>& registry::histograms(const std::string& name, const std::string& help,
                                        std::vector<std::string> labels,
                                        std::vector<double> bounds) {
  return get_or_make(mtx_, histograms_, name, help, std::move(labels), std::move(bounds));
}

void registry::add_collector(std::function<void(std::string&)> render) {
  std::lock_guard<std::mutex> guard{mtx_};
  collectors_.push_back(std::move(render));
}

std::string registry::render() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string out;
  auto plain = [&out](const auto& f, const label_values& v, const auto& metric) {
    out += f.name() + label_set(f.labels(), v) + " " + std::to_string(metric.value()) + "\n";
  };
  render_all(out, counters_, "counter", plain);
  render_all(out, gauges_, "gauge", plain);
  render_all(out, histograms_, "histogram",
             [&out](const auto& f, const label_values& v, const histogram& h) {
               uint64_t cumulative = 0;
               for (size_t i = 0; i <= h.bounds().size(); ++i) {
                 cumulative += h.bucket(i);
                 auto le = i < h.bounds().size() ? format_number(h.bounds()[i]) : "+Inf";
                 out += f.name() + "_bucket" + label_set(f.labels(), v, "le=\"" + le + "\"") + " " +
                        std::to_string(cumulative) + "\n";
               }
               // _count from the buckets keeps it equal to the +Inf bucket under races.
               out += f.name() + "_sum" + label_set(f.labels(), v) + " " + format_number(h.sum()) +
                      "\n";
               out += f.name() + "_count" + label_set(f.labels(), v) + " " +
                      std::to_string(cumulative) + "\n";
             });
  for (const auto& collect : collectors_)
    collect(out);
  return out;
}

} // namespace troupe::observability
