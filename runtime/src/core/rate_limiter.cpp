#include "troupe/core/rate_limiter.hpp"

#include <algorithm>

namespace troupe {

rate_limiter::rate_limiter(config cfg) : cfg_(cfg) {
  cfg_.burst = std::max<size_t>(cfg_.burst, 1);
  cfg_.max_keys = std::max<size_t>(cfg_.max_keys, 1);
  cfg_.refill = std::max(cfg_.refill, std::chrono::milliseconds{1});
}

std::chrono::milliseconds rate_limiter::wait_of(const bucket& b, time_point now) const {
  // A bucket may run `burst - 1` refills ahead of now and still have an attempt left.
  auto slack = cfg_.refill * static_cast<int64_t>(cfg_.burst - 1);
  auto ahead = std::max(b.full_at, now) - now;
  if (ahead <= slack)
    return std::chrono::milliseconds{0};
  // Rounded up: a caller that waits exactly this long finds an attempt.
  return std::chrono::ceil<std::chrono::milliseconds>(ahead - slack);
}

std::chrono::milliseconds rate_limiter::acquire(std::string_view key, time_point now) {
  std::lock_guard guard{mtx_};
  auto i = buckets_.find(key);
  if (i == buckets_.end()) {
    if (buckets_.size() >= cfg_.max_keys) {
      // The map's key views the list's string: drop the entry before the string.
      buckets_.erase(std::string_view{lru_.back()});
      lru_.pop_back();
    }
    lru_.emplace_front(key);
    i = buckets_.emplace(lru_.front(), bucket{now, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, i->second.lru);
  }
  auto& b = i->second;
  if (auto wait = wait_of(b, now); wait.count() > 0)
    return wait;
  b.full_at = std::max(b.full_at, now) + cfg_.refill;
  return std::chrono::milliseconds{0};
}

void rate_limiter::refund(std::string_view key, time_point now) {
  std::lock_guard guard{mtx_};
  auto i = buckets_.find(key);
  if (i == buckets_.end())
    return;
  auto& b = i->second;
  b.full_at -= cfg_.refill;
  // A full bucket is the same as no bucket: forget it, so quiet keys cost no memory.
  if (b.full_at <= now) {
    auto node = b.lru;
    buckets_.erase(i);
    lru_.erase(node);
  }
}

std::chrono::milliseconds rate_limiter::wait_time(std::string_view key, time_point now) const {
  std::lock_guard guard{mtx_};
  auto i = buckets_.find(key);
  return i == buckets_.end() ? std::chrono::milliseconds{0} : wait_of(i->second, now);
}

size_t rate_limiter::size() const {
  std::lock_guard guard{mtx_};
  return buckets_.size();
}

} // namespace troupe
