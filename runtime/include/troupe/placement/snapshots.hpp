#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace troupe::placement {

/// Immutable copies of entity state, published by the live activations of one node so
/// that reads can be answered on the thread that received them, without a message.
///
/// An activation publishes after every committed change and before it answers the
/// change, so a client that saw its write acknowledged reads it back; it withdraws
/// its copy when it stops, passivates or loses a version conflict, so nothing is read
/// from an activation that no longer owns the key. Each copy carries the lease tenure its
/// activation was made under (see `entity_context::tenure`): a reader takes it only under that
/// tenure, since an activation that lived through a gap in the lease may hold state another
/// node has since overwritten, and it withdraws only when it next runs.
template <class T>
class snapshots {
public:
  /// Returns the published copy for `key` whatever its tenure, or null.
  std::shared_ptr<const T> find(const std::string& key) const {
    std::shared_lock guard{mtx_};
    auto i = entries_.find(key);
    return i == entries_.end() ? nullptr : i->second.copy;
  }

  /// Returns the copy for `key` if it was published under `tenure` (never for tenure 0: no
  /// lease), or null.
  std::shared_ptr<const T> find(const std::string& key, uint64_t tenure) const {
    if (tenure == 0)
      return nullptr;
    std::shared_lock guard{mtx_};
    auto i = entries_.find(key);
    return i == entries_.end() || i->second.tenure != tenure ? nullptr : i->second.copy;
  }

  /// Publishes `copy` for `key` under `tenure`, replacing an earlier one.
  void publish(const std::string& key, std::shared_ptr<const T> copy, uint64_t tenure = 1) {
    std::unique_lock guard{mtx_};
    entries_[key] = {std::move(copy), tenure};
  }

  /// Withdraws the copy for `key` if it is still `copy` (a newer activation's stays).
  void withdraw(const std::string& key, const std::shared_ptr<const T>& copy) {
    std::unique_lock guard{mtx_};
    if (auto i = entries_.find(key); i != entries_.end() && i->second.copy == copy)
      entries_.erase(i);
  }

private:
  struct entry {
    std::shared_ptr<const T> copy;
    uint64_t tenure = 1;
  };

  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, entry> entries_;
};

} // namespace troupe::placement
