#include "troupe/cluster/lease.hpp"

#include <algorithm>
#include <vector>

#include "troupe/cluster/membership.hpp"

namespace troupe::cluster {

std::string view_digest(const membership& view) {
  std::vector<std::string> parts;
  for (const auto& m : view.members())
    if (m.state != member_state::down)
      parts.push_back(m.name + "/" + m.incarnation + "/" + std::string{to_string(m.state)});
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts)
    out += p + ";";
  return out;
}

void lease_keeper::on_view(std::string digest, std::set<std::string> peers, clock::time_point now) {
  if (digest == digest_ && peers == peers_)
    return;
  if (peers.empty() && !peers_.empty())
    alone_ok_ = now < renewed_until_;
  // A peer that leaves the view may go on answering under the confirmations it got from this
  // node: none of this node's leases starts before the last of them has run out.
  for (const auto& gone : peers_)
    if (peers.count(gone) == 0)
      if (auto g = given_.find(gone); g != given_.end()) {
        not_before_ = std::max(not_before_, g->second + length_);
        given_.erase(g);
      }
  std::erase_if(released_, [&](const std::string& id) { return peers.count(id) == 0; });
  digest_ = std::move(digest);
  peers_ = std::move(peers);
  confirmed_.clear();
  ++epoch_;
}

void lease_keeper::on_answer(const std::string& id, uint64_t epoch, clock::time_point asked,
                             const std::string& their_digest) {
  if (epoch != epoch_ || their_digest != digest_ || peers_.count(id) == 0)
    return;
  auto [i, fresh] = confirmed_.emplace(id, asked);
  if (!fresh)
    i->second = std::max(i->second, asked);
}

bool lease_keeper::on_question(const std::string& id, const std::string& their_digest,
                               clock::time_point now) {
  if (their_digest != digest_ || peers_.count(id) == 0 || released_.count(id) != 0)
    return false;
  given_[id] = now;
  return true;
}

void lease_keeper::on_release(const std::string& id) {
  if (peers_.count(id) == 0)
    return;
  released_.insert(id);
  given_.erase(id);
}

lease_state lease_keeper::publish(clock::time_point now) {
  lease_state next;
  next.from = not_before_;
  // Alone: nobody else could answer for a key, unless this node was cut off before it was.
  next.until = !settled_ || (peers_.empty() && !alone_ok_) ? clock::time_point::min()
                                                           : clock::time_point::max();
  for (const auto& p : peers_) {
    auto c = confirmed_.find(p);
    if (c == confirmed_.end()) {
      next.until = clock::time_point::min();
      break;
    }
    next.until = std::min(next.until, c->second + length_);
  }
  // Readers decide "held" with their own clock: the tenure stays only if the last lease had
  // not ended yet and this one extends it, so no reader can have seen a gap under one tenure.
  bool unbroken = last_epoch_ == epoch_ && last_.from == next.from && now < last_.until &&
                  next.until >= last_.until;
  // A lease that has already run out is never held: it needs no tenure of its own.
  next.tenure = unbroken || next.until <= now ? last_.tenure : last_.tenure + 1;
  if (!peers_.empty() && next.until > now)
    renewed_until_ = std::max(renewed_until_, next.until);
  last_ = next;
  last_epoch_ = epoch_;
  return next;
}

} // namespace troupe::cluster
