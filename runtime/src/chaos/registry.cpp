#include "troupe/chaos/registry.hpp"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

#include "troupe/core/error.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::chaos {

struct registry::entry {
  uint64_t id = 0;
  fault_spec spec;
  std::chrono::steady_clock::time_point expires;
  std::atomic<uint64_t> hits{0};
};

namespace {

using time_point = std::chrono::steady_clock::time_point;

// Unique across registries, so a thread's cached snapshot never passes for another one's.
std::atomic<uint64_t> generations{1};

struct thread_cache {
  const void* owner = nullptr;
  uint64_t generation = 0;
  std::shared_ptr<const void> keep;
  const void* faults = nullptr;
};

thread_local thread_cache cache;

bool matches(std::string_view want, std::string_view have) {
  return want.empty() || want == have;
}

std::string describe_spec(const fault_spec& s) {
  std::string out{to_string(s.type)};
  auto add = [&out](std::string_view name, const std::string& v) {
    if (!v.empty())
      out += " " + std::string{name} + "=" + v;
  };
  add("node", s.match.node);
  add("kind", s.match.kind);
  add("key", s.match.key);
  add("message", s.match.message);
  add("path", s.path);
  add("dependency", s.dependency);
  if (s.probability < 1.0)
    out += " probability=" + std::to_string(s.probability);
  if (s.delay.count() > 0)
    out += " delay_ms=" + std::to_string(s.delay.count());
  out += " duration_ms=" + std::to_string(s.duration.count());
  return out;
}

caf::error invalid(std::string what) {
  return make_error(errc::invalid_argument, std::move(what));
}

caf::error validate(const fault_spec& s, const registry_config& cfg) {
  if (s.duration < cfg.min_duration || s.duration > cfg.max_duration)
    return invalid("duration_ms: must be between " + std::to_string(cfg.min_duration.count()) +
                   " and " + std::to_string(cfg.max_duration.count()));
  if (!(s.probability >= 0.0 && s.probability <= 1.0))
    return invalid("probability: must be between 0 and 1");
  if (s.delay.count() < 0 || s.delay > cfg.max_delay)
    return invalid("delay_ms: must be between 0 and " + std::to_string(cfg.max_delay.count()));
  bool slow = s.type == fault_type::delay || s.type == fault_type::store_slow ||
              s.type == fault_type::dependency_slow;
  if (slow && s.delay.count() == 0)
    return invalid("delay_ms: required (at least 1) for " + std::string{to_string(s.type)});
  if (s.type == fault_type::kill_entity && (s.match.kind.empty() || s.match.key.empty()))
    return invalid("match: kill_entity needs match.kind and match.key");
  if (s.type == fault_type::kill_actor && s.path.empty())
    return invalid("path: required for kill_actor");
  bool dependency = s.type == fault_type::dependency_slow || s.type == fault_type::dependency_fail;
  if (dependency && s.dependency.empty())
    return invalid("dependency: required for " + std::string{to_string(s.type)});
  return caf::none;
}

} // namespace

registry::registry(registry_config cfg)
    : cfg_(std::move(cfg)), faults_(std::make_shared<const snapshot>()) {
  generation_ = generations.fetch_add(1);
  if (!cfg_.metrics)
    return;
  active_metric_ =
      &cfg_.metrics->gauges("troupe_chaos_faults_active", "Chaos faults active on this node.")
           .with({});
  auto& injected = cfg_.metrics->counters("troupe_chaos_faults_injected_total",
                                          "Chaos faults created on this node, by type.", {"type"});
  for (auto t : all_fault_types)
    injected.with({std::string{to_string(t)}});
}

registry::~registry() = default;

std::shared_ptr<const registry::snapshot> registry::current() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return faults_;
}

void registry::publish(std::shared_ptr<const snapshot> next, int64_t count) {
  // Called with mtx_ held: the snapshot, its count and its generation change together.
  faults_ = std::move(next);
  active_.store(count, std::memory_order_release);
  generation_.store(generations.fetch_add(1), std::memory_order_release);
  if (active_metric_)
    active_metric_->set(count);
}

bool registry::draw(double probability) const {
  if (probability >= 1.0)
    return true;
  if (probability <= 0.0)
    return false;
  if (cfg_.random)
    return cfg_.random() < probability;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>{0.0, 1.0}(rng) < probability;
}

template <class Match>
std::shared_ptr<registry::entry> registry::first_hit(Match&& match) {
  if (empty())
    return nullptr;
  auto gen = generation_.load(std::memory_order_acquire);
  if (cache.owner != this || cache.generation != gen) {
    auto snap = current();
    cache.owner = this;
    cache.generation = gen;
    cache.faults = snap.get();
    cache.keep = std::move(snap);
  }
  const auto& faults = *static_cast<const snapshot*>(cache.faults);
  auto now = cfg_.now();
  for (const auto& f : faults)
    if (now < f->expires && match(f->spec) && draw(f->spec.probability)) {
      f->hits.fetch_add(1, std::memory_order_relaxed);
      return f;
    }
  return nullptr;
}

message_effect registry::on_message(std::string_view node, std::string_view kind,
                                    std::string_view key, std::string_view message) {
  auto hit = first_hit([&](const fault_spec& s) {
    return is_message_fault(s.type) && matches(s.match.node, node) && matches(s.match.kind, kind) &&
           matches(s.match.key, key) && matches(s.match.message, message);
  });
  if (!hit)
    return {};
  switch (hit->spec.type) {
  case fault_type::drop:
    return {message_effect::action::drop, {}};
  case fault_type::duplicate:
    return {message_effect::action::duplicate, {}};
  default:
    return {message_effect::action::delay, hit->spec.delay};
  }
}

call_effect registry::on_store() {
  auto hit = first_hit([](const fault_spec& s) {
    return s.type == fault_type::store_slow || s.type == fault_type::store_fail;
  });
  if (!hit)
    return {};
  if (hit->spec.type == fault_type::store_fail)
    return {{}, true, hit->id};
  return {hit->spec.delay, false, hit->id};
}

call_effect registry::on_dependency(std::string_view name) {
  auto hit = first_hit([name](const fault_spec& s) {
    return (s.type == fault_type::dependency_slow || s.type == fault_type::dependency_fail) &&
           s.dependency == name;
  });
  if (!hit)
    return {};
  if (hit->spec.type == fault_type::dependency_fail)
    return {{}, true, hit->id};
  return {hit->spec.delay, false, hit->id};
}

fault_view registry::view_of(const entry& e, time_point now) const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(e.expires - now);
  return {e.id, e.spec, std::max(left, std::chrono::milliseconds{0}),
          e.hits.load(std::memory_order_relaxed)};
}

caf::expected<fault_view> registry::add(fault_spec spec) {
  if (auto err = validate(spec, cfg_))
    return err;
  auto e = std::make_shared<entry>();
  e->spec = std::move(spec);
  auto now = cfg_.now();
  e->expires = now + e->spec.duration;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (faults_->size() >= cfg_.max_faults)
      return make_error(errc::overloaded, "at most " + std::to_string(cfg_.max_faults) +
                                              " faults may be active at once");
    e->id = next_id_++;
    auto next = std::make_shared<snapshot>(*faults_);
    next->push_back(e);
    auto count = static_cast<int64_t>(next->size());
    publish(std::move(next), count);
  }
  if (cfg_.metrics)
    cfg_.metrics
        ->counters("troupe_chaos_faults_injected_total",
                   "Chaos faults created on this node, by type.", {"type"})
        .with({std::string{to_string(e->spec.type)}})
        .inc();
  spdlog::info("chaos: fault {} created: {}", e->id, describe_spec(e->spec));
  return view_of(*e, now);
}

bool registry::remove(uint64_t id) {
  std::shared_ptr<entry> gone;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto next = std::make_shared<snapshot>();
    for (const auto& f : *faults_)
      (f->id == id ? gone : next->emplace_back()) = f;
    if (!gone)
      return false;
    auto count = static_cast<int64_t>(next->size());
    publish(std::move(next), count);
  }
  spdlog::info("chaos: fault {} deleted ({}, {} hits)", id, to_string(gone->spec.type),
               gone->hits.load());
  return true;
}

size_t registry::reset() {
  size_t n = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    n = faults_->size();
    publish(std::make_shared<const snapshot>(), 0);
  }
  spdlog::info("chaos: reset, {} faults removed", n);
  return n;
}

size_t registry::expire() {
  std::vector<std::shared_ptr<entry>> gone;
  auto now = cfg_.now();
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto next = std::make_shared<snapshot>();
    for (const auto& f : *faults_)
      (now >= f->expires ? gone.emplace_back() : next->emplace_back()) = f;
    if (gone.empty())
      return 0;
    auto count = static_cast<int64_t>(next->size());
    publish(std::move(next), count);
  }
  for (const auto& f : gone)
    spdlog::info("chaos: fault {} expired ({}, {} hits)", f->id, to_string(f->spec.type),
                 f->hits.load());
  return gone.size();
}

std::vector<fault_view> registry::list() {
  expire();
  auto snap = current();
  auto now = cfg_.now();
  std::vector<fault_view> out;
  out.reserve(snap->size());
  for (const auto& f : *snap)
    out.push_back(view_of(*f, now));
  return out;
}

std::optional<time_point> registry::next_expiry() const {
  auto snap = current();
  std::optional<time_point> next;
  for (const auto& f : *snap)
    if (!next || f->expires < *next)
      next = f->expires;
  return next;
}

void registry::count_hit(uint64_t id) {
  auto snap = current();
  for (const auto& f : *snap)
    if (f->id == id)
      f->hits.fetch_add(1, std::memory_order_relaxed);
}

} // namespace troupe::chaos
