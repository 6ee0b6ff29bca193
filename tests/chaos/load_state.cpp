#include "load_state.hpp"

#include <algorithm>
#include <cstdio>

namespace troupe::chaos_harness {

namespace {

constexpr micros avoid_for = 1'000'000;

} // namespace

load_state::load_state(const load_config& cfg)
    : cfg_(cfg), avoid_until_(std::make_unique<std::atomic<micros>[]>(cfg.nodes.size())),
      counts_(buckets_) {
  // Random per generator, not per seed: a database kept from an earlier run must not
  // make this run's registrations collide with its users.
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  tag_ = buf;
  for (std::size_t i = 0; i < cfg.nodes.size(); ++i)
    avoid_until_[i] = 0;
}

micros load_state::now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               cfg_.origin)
      .count();
}

std::size_t load_state::pick_node(std::mt19937_64& rng) const {
  auto n = cfg_.nodes.size();
  auto t = now();
  std::size_t live[64];
  std::size_t count = 0;
  for (std::size_t i = 0; i < n && count < 64; ++i)
    if (avoid_until_[i].load(std::memory_order_relaxed) <= t)
      live[count++] = i;
  if (count == 0)
    return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng);
  return live[std::uniform_int_distribution<std::size_t>{0, count - 1}(rng)];
}

void load_state::avoid(std::size_t node) {
  avoid_until_[node].store(now() + avoid_for, std::memory_order_relaxed);
}

void load_state::count(micros sent, bool failed) {
  auto second = std::max<micros>(sent, 0) / 1'000'000;
  ++requests_;
  std::lock_guard guard{counts_mtx_};
  auto& b = counts_[static_cast<std::size_t>(second) % buckets_];
  if (b.second != second)
    b = bucket{second, 0, 0};
  ++b.sent;
  if (failed)
    ++b.failed;
}

double load_state::error_rate(std::chrono::milliseconds window) const {
  auto t = now();
  auto first = (t - window.count() * 1000) / 1'000'000;
  auto last = t / 1'000'000;
  std::int64_t sent = 0;
  std::int64_t failed = 0;
  std::lock_guard guard{counts_mtx_};
  for (auto s = std::max<std::int64_t>(first, last - static_cast<std::int64_t>(buckets_) + 1);
       s <= last; ++s) {
    const auto& b = counts_[static_cast<std::size_t>(s) % buckets_];
    if (b.second == s) {
      sent += b.sent;
      failed += b.failed;
    }
  }
  return sent == 0 ? 0.0 : static_cast<double>(failed) / static_cast<double>(sent);
}

void load_state::add_user(std::shared_ptr<pooled_user> u) {
  std::lock_guard guard{users_mtx_};
  users_.push_back(std::move(u));
}

std::shared_ptr<pooled_user> load_state::any_user(std::mt19937_64& rng) const {
  std::lock_guard guard{users_mtx_};
  if (users_.empty())
    return nullptr;
  return users_[std::uniform_int_distribution<std::size_t>{0, users_.size() - 1}(rng)];
}

std::size_t load_state::users() const {
  std::lock_guard guard{users_mtx_};
  return users_.size();
}

} // namespace troupe::chaos_harness
