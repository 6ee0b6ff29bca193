#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace troupe {

/// A token bucket per key (an account, a client address, ...) in bounded memory.
///
/// Each key may spend `burst` attempts at once and earns one back every `refill`; a key
/// without tokens must wait. Keys nobody used lately cost nothing: a full bucket is
/// forgotten, and when `max_keys` are tracked the least recently used one goes, which
/// only ever makes a key's limit more lenient. Thread-safe; time is passed in, so tests
/// decide what "now" is.
class rate_limiter {
public:
  /// The clock of the times callers pass in.
  using clock = std::chrono::steady_clock;

  /// A point in time on `clock`.
  using time_point = clock::time_point;

  /// How many attempts, how fast they come back, and how many keys are remembered.
  struct config {
    /// Attempts a fresh key may make at once; 0 counts as 1.
    size_t burst = 5;
    /// Time in which one attempt comes back; at least 1 ms.
    std::chrono::milliseconds refill{std::chrono::seconds{20}};
    /// Keys tracked at most; 0 counts as 1.
    size_t max_keys = 100'000;
  };

  /// Makes a limiter; every key starts with a full bucket.
  explicit rate_limiter(config cfg);

  /// Takes one attempt from `key` at `now` and returns zero, or, when it has none, takes
  /// nothing and returns how long until it has one.
  std::chrono::milliseconds acquire(std::string_view key, time_point now);

  /// Gives back one attempt taken by `acquire` (e.g. the attempt succeeded).
  void refund(std::string_view key, time_point now);

  /// Returns how long `key` must wait at `now` before `acquire` succeeds (zero if it would).
  std::chrono::milliseconds wait_time(std::string_view key, time_point now) const;

  /// Returns the number of keys currently remembered.
  size_t size() const;

private:
  // GCRA: a bucket is the time at which it would be full again ("theoretical arrival
  // time"); exact in integer time, and a bucket whose time has passed is full.
  struct bucket {
    time_point full_at;
    std::list<std::string>::iterator lru;
  };

  std::chrono::milliseconds wait_of(const bucket& b, time_point now) const;

  config cfg_;
  mutable std::mutex mtx_;
  // Most recently used at the front.
  std::list<std::string> lru_;
  std::unordered_map<std::string_view, bucket> buckets_;
};

} // namespace troupe
