#pragma once

#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>

namespace troupe::placement {

/// The live activations of one region, readable by any thread without a message.
///
/// The region writes it (on activation, at the start of passivation, on death);
/// callers read it to send straight to an activation and skip the resolve round
/// trip. An entry may lag behind the truth by a moment: a request that reaches a
/// departed activation fails with `request_receiver_down` and `ask` resolves again.
class directory {
public:
  /// Returns the activation of `key`, or an invalid handle.
  caf::actor find(const std::string& key) const {
    std::shared_lock guard{mtx_};
    auto i = entries_.find(key);
    return i == entries_.end() ? caf::actor{} : i->second;
  }

  /// Publishes `handle` as the activation of `key`.
  void set(const std::string& key, const caf::actor& handle) {
    std::unique_lock guard{mtx_};
    entries_[key] = handle;
  }

  /// Removes `key` if it still names `handle`.
  void erase(const std::string& key, const caf::actor& handle) {
    std::unique_lock guard{mtx_};
    if (auto i = entries_.find(key); i != entries_.end() && i->second == handle)
      entries_.erase(i);
  }

  /// Forgets everything (a new region incarnation starts empty).
  void clear() {
    std::unique_lock guard{mtx_};
    entries_.clear();
  }

private:
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, caf::actor> entries_;
};

} // namespace troupe::placement
