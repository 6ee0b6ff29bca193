#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "troupe/chaos/fault.hpp"

namespace troupe::observability {
class registry;
class gauge;
} // namespace troupe::observability

namespace troupe::chaos {

/// One active fault as the registry lists it.
struct fault_view {
  /// Unique within this process.
  uint64_t id = 0;
  /// What was asked for.
  fault_spec spec;
  /// Time left before it reverts by itself.
  std::chrono::milliseconds expires_in{0};
  /// Calls it hit so far (1 for a one-shot fault that acted).
  uint64_t hits = 0;
};

/// What a message fault does to one request.
struct message_effect {
  /// What happens to the request.
  enum class action : uint8_t {
    /// Sent as usual.
    pass,
    /// Not sent at all.
    drop,
    /// Sent twice.
    duplicate,
    /// Sent after `delay`.
    delay,
  };
  /// What happens to the request.
  action what = action::pass;
  /// The wait before sending, for `action::delay`.
  std::chrono::milliseconds delay{0};
};

/// What a store or dependency fault does to one call.
struct call_effect {
  /// Added latency (0: none).
  std::chrono::milliseconds delay{0};
  /// Whether the call fails.
  bool fail = false;
  /// The id of the fault that hit, for error messages (0: none).
  uint64_t fault_id = 0;
};

/// Limits and sources of a registry.
struct registry_config {
  /// Faults active at once; more are refused.
  size_t max_faults = 256;
  /// Shortest duration a fault may have.
  std::chrono::milliseconds min_duration{1};
  /// Longest duration a fault may have.
  std::chrono::milliseconds max_duration = std::chrono::hours{1};
  /// Longest added latency.
  std::chrono::milliseconds max_delay = std::chrono::minutes{1};
  /// The clock expiry is measured on (tests pass one they control).
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
  /// Draws uniformly from [0, 1) for probabilities below 1 (tests pass a seeded one); must be
  /// thread-safe. Empty: a per-thread generator.
  std::function<double()> random;
  /// Where the fault metrics go; optional.
  std::shared_ptr<observability::registry> metrics;
};

/// The faults of this node: created through the admin API, read on hot paths.
///
/// Thread-safe. Readers never lock in the steady state: with no fault active a check is one
/// atomic load; otherwise each thread keeps the last snapshot it saw and takes a lock only
/// after a change. Expired faults stop acting at once and leave the list at the next `expire`.
class registry {
public:
  /// Creates an empty registry.
  explicit registry(registry_config cfg = {});
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Validates and adds a fault; `errc::invalid_argument` (naming the field) or
  /// `errc::overloaded` (too many active) otherwise.
  caf::expected<fault_view> add(fault_spec spec);

  /// Removes fault `id`; false if there is none.
  bool remove(uint64_t id);

  /// Removes every fault; returns how many there were.
  size_t reset();

  /// Removes the faults that expired; returns how many.
  size_t expire();

  /// Returns the active faults, oldest first (expired ones removed first).
  std::vector<fault_view> list();

  /// When the next active fault expires, if any.
  std::optional<std::chrono::steady_clock::time_point> next_expiry() const;

  /// Counts a hit on a one-shot fault that acted.
  void count_hit(uint64_t id);

  /// Whether no fault is active: one atomic load, for hot paths.
  bool empty() const noexcept { return active_.load(std::memory_order_acquire) == 0; }

  /// The effect on a request for (`kind`, `key`) routed to `node` with message name `message`:
  /// the oldest matching message fault whose probability draw hits decides.
  message_effect on_message(std::string_view node, std::string_view kind, std::string_view key,
                            std::string_view message);

  /// The effect on one store call: the oldest store fault whose draw hits.
  call_effect on_store();

  /// The effect on one call to dependency `name`: the oldest such fault whose draw hits.
  call_effect on_dependency(std::string_view name);

private:
  struct entry;
  using snapshot = std::vector<std::shared_ptr<entry>>;

  std::shared_ptr<const snapshot> current() const;
  void publish(std::shared_ptr<const snapshot> next, int64_t count);
  bool draw(double probability) const;
  template <class Match>
  std::shared_ptr<entry> first_hit(Match&& match);
  fault_view view_of(const entry& e, std::chrono::steady_clock::time_point now) const;

  registry_config cfg_;
  std::atomic<int64_t> active_{0};
  std::atomic<uint64_t> generation_{0};
  mutable std::mutex mtx_;
  std::shared_ptr<const snapshot> faults_;
  uint64_t next_id_ = 1;
  observability::gauge* active_metric_ = nullptr;
};

} // namespace troupe::chaos
