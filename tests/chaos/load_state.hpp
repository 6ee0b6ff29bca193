#pragma once

// What the virtual clients of one load generator share: the users they take turns on, which
// nodes to avoid for now, and the error counts per second behind `error_rate`.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "load.hpp"

namespace troupe::chaos_harness {

/// A registered user any client may act for; one client writes its profile at a time.
struct pooled_user {
  std::string id;
  std::string email;
  std::string password;
  /// Held by the one client writing the profile; `seq` belongs to that client meanwhile.
  std::atomic<bool> writing{false};
  std::int64_t seq = 0;
  /// The client that wrote last (-1: registration), so reads come from someone else.
  std::atomic<int> last_writer{-1};

  /// The current access token; any client may renew it after a 401.
  std::string token() const {
    std::lock_guard guard{token_mtx_};
    return token_;
  }
  void set_token(std::string token) {
    std::lock_guard guard{token_mtx_};
    token_ = std::move(token);
  }

private:
  mutable std::mutex token_mtx_;
  std::string token_;
};

/// The state shared by every client of a generator.
class load_state {
public:
  explicit load_state(const load_config& cfg);

  const load_config& cfg() const { return cfg_; }

  /// Microseconds since the campaign's origin.
  micros now() const;

  /// A node to send to: a random one among those not avoided now (any when all are).
  std::size_t pick_node(std::mt19937_64& rng) const;

  /// Keeps requests away from `node` for a moment after a failed connect.
  void avoid(std::size_t node);

  /// Counts one request sent at `sent` for `error_rate`.
  void count(micros sent, bool failed);

  /// Share of failed requests among those sent in the last `window`.
  double error_rate(std::chrono::milliseconds window) const;

  /// Requests counted so far.
  std::int64_t requests() const { return requests_.load(); }

  /// Adds a user to the pool.
  void add_user(std::shared_ptr<pooled_user> u);

  /// A random pooled user (null while there is none).
  std::shared_ptr<pooled_user> any_user(std::mt19937_64& rng) const;

  std::size_t users() const;

  /// Tags names (emails, SKUs, keys) so that a database reused across campaigns never
  /// mixes them up.
  const std::string& tag() const { return tag_; }

  /// The SKUs the load orders from (set by `prepare`).
  std::vector<std::string> skus;

  std::atomic<bool> stopping{false};

private:
  static constexpr std::size_t buckets_ = 1024;
  struct bucket {
    std::int64_t second = -1;
    std::int64_t sent = 0;
    std::int64_t failed = 0;
  };

  load_config cfg_;
  std::string tag_;
  std::unique_ptr<std::atomic<micros>[]> avoid_until_;
  mutable std::mutex counts_mtx_;
  std::vector<bucket> counts_;
  std::atomic<std::int64_t> requests_{0};
  mutable std::mutex users_mtx_;
  std::vector<std::shared_ptr<pooled_user>> users_;
};

} // namespace troupe::chaos_harness
