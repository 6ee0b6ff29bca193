#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "troupe/notification/store.hpp"

namespace troupe::notification {

/// Notifications written in the transaction of their event and already claimed for this
/// node, on their way to its dispatcher without a poll: the inline consumer pushes them after
/// the commit, the dispatcher takes them. Thread-safe.
class handoff {
public:
  /// Holds at most `capacity` notifications; see `push`.
  explicit handoff(size_t capacity = 4096) : capacity_(capacity) {}

  /// Queues `rows` and wakes the dispatcher. Rows beyond the capacity are not queued: they
  /// stay claimed until their lease runs out, and the dispatcher's poll then finds them.
  void push(std::vector<notification_record> rows);

  /// Takes up to `n` queued notifications, oldest first.
  std::vector<notification_record> take(size_t n);

  /// Sets what `push` calls to wake the running dispatcher (empty: nothing).
  void on_push(std::function<void()> wake);

private:
  std::mutex mtx_;
  std::deque<notification_record> rows_;
  std::function<void()> wake_;
  size_t capacity_;
};

} // namespace troupe::notification
