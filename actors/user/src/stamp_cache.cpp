#include "troupe/user/stamp_cache.hpp"

namespace troupe::user {

std::optional<std::string> stamp_cache::find(const std::string& user, clock::time_point now) const {
  std::lock_guard guard{mtx_};
  auto i = entries_.find(user);
  if (i == entries_.end() || now - i->second.learned >= ttl_)
    return std::nullopt;
  return i->second.stamp;
}

void stamp_cache::put(const std::string& user, std::string stamp, clock::time_point now) {
  if (ttl_ <= clock::duration::zero())
    return;
  std::lock_guard guard{mtx_};
  if (entries_.size() >= max_entries_ && entries_.count(user) == 0) {
    std::erase_if(entries_, [&](const auto& e) { return now - e.second.learned >= ttl_; });
    if (entries_.size() >= max_entries_)
      entries_.clear(); // all fresh: forgetting costs only fetches, never a wrong answer
  }
  entries_[user] = {std::move(stamp), now};
}

} // namespace troupe::user
