#include "troupe/notification/handoff.hpp"

namespace troupe::notification {

void handoff::push(std::vector<notification_record> rows) {
  std::function<void()> wake;
  {
    std::lock_guard guard{mtx_};
    for (auto& r : rows)
      if (rows_.size() < capacity_)
        rows_.push_back(std::move(r));
    wake = wake_;
  }
  if (wake)
    wake();
}

std::vector<notification_record> handoff::take(size_t n) {
  std::lock_guard guard{mtx_};
  std::vector<notification_record> out;
  while (out.size() < n && !rows_.empty()) {
    out.push_back(std::move(rows_.front()));
    rows_.pop_front();
  }
  return out;
}

void handoff::on_push(std::function<void()> wake) {
  std::lock_guard guard{mtx_};
  wake_ = std::move(wake);
}

} // namespace troupe::notification
