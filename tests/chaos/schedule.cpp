#include "schedule.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>
#include <sstream>

namespace troupe::chaos_harness {

namespace {

// Draws written out by hand: std:: distributions may differ between standard libraries, and a
// seed must replay the same campaign anywhere.
class draws {
public:
  explicit draws(std::uint64_t seed) : gen_(seed) {}

  // Uniform in [0, 1).
  double unit() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }

  // Uniform in [lo, hi] (the modulo bias is below 2^-40 for the ranges used here).
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    if (hi <= lo)
      return lo;
    return lo + static_cast<std::int64_t>(gen_() % static_cast<std::uint64_t>(hi - lo + 1));
  }

  std::size_t index(std::size_t n) { return static_cast<std::size_t>(between(0, n - 1)); }

  // A probability in [lo, hi], rounded to hundredths so it prints as it is applied.
  double chance(double lo, double hi) { return std::round((lo + unit() * (hi - lo)) * 100) / 100; }

private:
  std::mt19937_64 gen_;
};

struct held {
  std::string type;
  std::string target;
  std::int64_t from = 0;
  std::int64_t to = 0;
};

bool overlaps(const held& h, std::int64_t from, std::int64_t to) {
  return h.from < to && from < h.to;
}

nlohmann::json draw_params(const std::string& type, draws& d) {
  using nlohmann::json;
  if (type == "partition")
    return {{"direction", "both"}};
  if (type == "partition_one_way")
    return {{"direction", "inbound"}};
  if (type == "loss")
    return {{"probability", d.chance(0.05, 0.3)}};
  if (type == "bandwidth") {
    static const int rates[] = {256, 512, 1024};
    return {{"rate_kbit", rates[d.index(3)]}};
  }
  if (type == "latency")
    return {{"delay_ms", d.between(50, 400)}};
  if (type == "runtime:delay" || type == "runtime:store_slow")
    return {{"delay_ms", d.between(50, 500)}, {"probability", d.chance(0.2, 1.0)}};
  if (type == "runtime:drop" || type == "runtime:store_fail")
    return {{"probability", d.chance(0.1, 0.5)}};
  if (type == "runtime:duplicate")
    return {{"probability", d.chance(0.2, 1.0)}};
  if (type == "runtime:kill_entity") {
    static const char* kinds[] = {"user", "order", "sku"};
    return {{"kind", kinds[d.index(3)]}, {"pick", d.between(0, 999)}};
  }
  if (type == "runtime:kill_actor") // which child of the root: the tree is read when it is applied
    return {{"pick", d.between(0, 999)}};
  if (type == "runtime:crash_node")
    return {{"delay_ms", d.between(0, 300)}};
  if (type == "runtime:dependency_slow" || type == "runtime:dependency_fail") {
    static const char* deps[] = {"payment", "webhook"};
    json p{{"dependency", deps[d.index(2)]}};
    if (type == "runtime:dependency_slow")
      p["delay_ms"] = d.between(100, 1500);
    else
      p["probability"] = d.chance(0.2, 1.0);
    return p;
  }
  return json::object();
}

} // namespace

const std::vector<std::string>& all_fault_types() {
  static const std::vector<std::string> types{"kill",
                                              "stop",
                                              "partition",
                                              "partition_one_way",
                                              "loss",
                                              "bandwidth",
                                              "latency",
                                              "db_restart",
                                              "rolling_restart",
                                              "runtime:delay",
                                              "runtime:drop",
                                              "runtime:duplicate",
                                              "runtime:kill_entity",
                                              "runtime:kill_actor",
                                              "runtime:crash_node",
                                              "runtime:store_slow",
                                              "runtime:store_fail",
                                              "runtime:dependency_slow",
                                              "runtime:dependency_fail"};
  return types;
}

bool takes_out(const std::string& type) {
  return type == "kill" || type == "stop" || type == "partition" || type == "partition_one_way" ||
         type == "db_restart" || type == "rolling_restart" || type == "runtime:crash_node";
}

std::map<std::string, double> default_mix() {
  std::map<std::string, double> mix;
  for (const auto& t : all_fault_types())
    mix[t] = t.rfind("runtime:", 0) == 0 ? 0.5 : 2.0;
  mix["kill"] = 3;
  mix["rolling_restart"] = 0.5;
  mix["db_restart"] = 1;
  return mix;
}

std::optional<std::string> parse_mix(const std::string& text, std::map<std::string, double>& mix) {
  std::map<std::string, double> parsed;
  std::istringstream in{text};
  std::string item;
  while (std::getline(in, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos)
      return "--mix: '" + item + "' is not TYPE=WEIGHT";
    auto type = item.substr(0, eq);
    const auto& known = all_fault_types();
    if (std::find(known.begin(), known.end(), type) == known.end())
      return "--mix: unknown fault type '" + type + "'";
    try {
      std::size_t used = 0;
      double w = std::stod(item.substr(eq + 1), &used);
      if (used != item.size() - eq - 1 || !(w >= 0))
        throw std::invalid_argument{"weight"};
      parsed[type] = w;
    } catch (const std::exception&) {
      return "--mix: bad weight in '" + item + "'";
    }
  }
  if (parsed.empty())
    return "--mix: no type given";
  mix = std::move(parsed);
  return std::nullopt;
}

std::int64_t out_allowance_ms(const planned_fault& f, std::size_t nodes) {
  // Enough for a restart and a rejoin on a loaded machine; the campaign still waits until
  // every node is ready before the next one, so a slow rejoin delays it instead of overlapping.
  if (f.type == "rolling_restart")
    return static_cast<std::int64_t>(nodes) * 2500;
  if (f.type == "kill" || f.type == "runtime:crash_node")
    return 3000;
  return takes_out(f.type) ? 2000 : 0;
}

std::vector<planned_fault> plan_schedule(const schedule_config& cfg) {
  draws d{cfg.seed};
  std::vector<std::string> weighted;
  std::vector<double> weights;
  for (const auto& t : all_fault_types())
    if (auto it = cfg.mix.find(t); it != cfg.mix.end() && it->second > 0) {
      weighted.push_back(t);
      weights.push_back(it->second);
    }
  std::vector<planned_fault> out;
  if (weighted.empty() || cfg.nodes.empty() || cfg.rate_per_minute <= 0)
    return out;

  // Every type once first, in a seeded order, then weighted draws.
  std::deque<std::string> pending{weighted.begin(), weighted.end()};
  for (std::size_t i = pending.size(); i > 1; --i)
    std::swap(pending[i - 1], pending[d.index(i)]);
  auto count = static_cast<std::int64_t>(
      std::llround(cfg.rate_per_minute * static_cast<double>(cfg.duration_ms) / 60000.0));
  count = std::max<std::int64_t>(count, 1);
  auto slot = cfg.duration_ms / count;

  std::vector<held> outs;  // out-of-cluster intervals, allowance included
  std::vector<held> holds; // other faults per node
  std::int64_t out_free = 0;
  auto node_out = [&](const std::string& node, std::int64_t from, std::int64_t to) {
    return std::any_of(outs.begin(), outs.end(), [&](const held& h) {
      return (h.target == node || h.target == "all") && overlaps(h, from, to);
    });
  };

  for (std::int64_t k = 0; k < count || !pending.empty(); ++k) {
    std::int64_t at = k * slot + static_cast<std::int64_t>(d.unit() * static_cast<double>(slot));
    bool slot_busy = at < out_free;
    std::string type;
    if (!pending.empty()) {
      auto pick = pending.begin();
      if (slot_busy) {
        auto free = std::find_if(pending.begin(), pending.end(),
                                 [](const std::string& t) { return !takes_out(t); });
        if (free != pending.end())
          pick = free;
      }
      type = *pick;
      pending.erase(pick);
    } else {
      // While something is out, the arrival draws among the types that take nothing out.
      double room = 0;
      for (std::size_t i = 0; i < weighted.size(); ++i)
        room += slot_busy && takes_out(weighted[i]) ? 0 : weights[i];
      if (room <= 0)
        continue;
      double x = d.unit() * room;
      for (std::size_t i = 0; i < weighted.size(); ++i) {
        if (slot_busy && takes_out(weighted[i]))
          continue;
        type = weighted[i];
        if (x < weights[i])
          break;
        x -= weights[i];
      }
    }
    planned_fault f;
    f.type = type;
    f.duration_ms = d.between(cfg.min_fault_ms, cfg.max_fault_ms);
    f.params = draw_params(type, d);
    f.at_ms = takes_out(type) ? std::max(at, out_free) : at;
    if (type == "rolling_restart")
      f.duration_ms = 0;
    auto until = f.at_ms + f.duration_ms + out_allowance_ms(f, cfg.nodes.size());
    if (type == "db_restart") {
      f.target = "db";
    } else if (type == "rolling_restart") {
      f.target = "all";
    } else {
      std::vector<std::string> candidates;
      for (const auto& n : cfg.nodes) {
        bool busy = node_out(n, f.at_ms, until) ||
                    std::any_of(holds.begin(), holds.end(), [&](const held& h) {
                      return h.target == n && h.type == type && overlaps(h, f.at_ms, until);
                    });
        if (!busy)
          candidates.push_back(n);
      }
      if (candidates.empty()) {
        if (!takes_out(type) && k < count)
          pending.push_front(type); // owed: try again at the next arrival
        continue;
      }
      f.target = candidates[d.index(candidates.size())];
    }
    if (takes_out(type)) {
      outs.push_back({type, f.target, f.at_ms, until});
      out_free = until;
    } else {
      holds.push_back({type, f.target, f.at_ms, until});
    }
    out.push_back(std::move(f));
  }
  std::stable_sort(out.begin(), out.end(), [](const planned_fault& a, const planned_fault& b) {
    return a.at_ms < b.at_ms;
  });
  return out;
}

std::string describe(const std::vector<planned_fault>& schedule) {
  std::ostringstream text;
  for (const auto& f : schedule) {
    text << "  +" << f.at_ms / 1000 << "." << (f.at_ms % 1000) / 100 << "s " << f.type << " "
         << f.target << " for " << f.duration_ms << "ms";
    if (!f.params.empty())
      text << " " << f.params.dump();
    text << "\n";
  }
  return text.str();
}

} // namespace troupe::chaos_harness
