#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace troupe::user {

/// Credential stamps this node learned from the owners of users it does not own, each
/// believed for `ttl`: a busy user then costs its owner one fetch per `ttl` per node instead
/// of one remote request per authenticated request. The owner itself always answers from
/// its live copy, so a revocation holds there at once and everywhere else within `ttl`.
/// Thread-safe; bounded to `max_entries`.
class stamp_cache {
public:
  /// The clock the entries age by.
  using clock = std::chrono::steady_clock;

  /// Entries are believed for `ttl` (zero: never cached).
  explicit stamp_cache(clock::duration ttl, size_t max_entries = 100000)
      : ttl_(ttl), max_entries_(max_entries) {}

  /// The stamp learned for `user` no longer than `ttl` before `now` ("" for a deleted user).
  std::optional<std::string> find(const std::string& user, clock::time_point now) const;

  /// Remembers that `user`'s stamp was `stamp` ("" once deleted) at `now`.
  void put(const std::string& user, std::string stamp, clock::time_point now);

private:
  struct entry {
    std::string stamp;
    clock::time_point learned;
  };

  clock::duration ttl_;
  size_t max_entries_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, entry> entries_;
};

} // namespace troupe::user
