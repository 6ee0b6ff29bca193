#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace troupe::cluster {

class membership;

/// When this node may answer for the keys its view gives it, as published for readers.
///
/// The lease is held from `from` until `until`; `tenure` names one unbroken stretch of it.
/// Whatever a node loaded under one tenure is good only while that tenure lasts: across a
/// gap another node may have owned the keys and written them.
struct lease_state {
  using clock = std::chrono::steady_clock;

  /// Not before this (a peer that went down may still hold its own lease until then).
  clock::time_point from = clock::time_point::min();
  /// Not from this on, unless renewed.
  clock::time_point until = clock::time_point::max();
  /// The stretch; a node without a cluster holds tenure 1 forever.
  uint64_t tenure = 1;

  /// `tenure` if the lease is held at `now`, else 0.
  uint64_t at(clock::time_point now) const noexcept {
    return now >= from && now < until ? tenure : 0;
  }
};

/// The digest of a view that decides ownership: every member not down, with its incarnation
/// and state. Two nodes with the same digest pick the same owner for every key.
std::string view_digest(const membership& view);

/// The bookkeeping of this node's lease (pure: time comes in as an argument, so the node
/// agent owns the one instance and tests drive it with simulated time).
///
/// Why: views differ between nodes for a while after a peer was frozen, cut off or came
/// back, so two nodes may each believe they own a key. Writes are fenced by the store's
/// version, reads from memory are not; a node that kept answering from an activation while
/// another accepted writes would hand out values older than acknowledged ones.
///
/// The rule: a node holds its lease only while every peer that is not down in its view has
/// confirmed, in answer to a question this node asked at `t` (its own clock) in its current
/// view, that it sees the same view; the lease then runs until the oldest such `t` plus
/// `length`. A view change voids every confirmation, so two nodes with different views never
/// both hold a lease for the same key. A peer that this node marks down may still hold a lease
/// that this node confirmed: the lease waits until the last confirmation it gave that peer
/// plus `length` has passed. A frozen process keeps its steady clock running, so its lease
/// has run out when it thaws.
///
/// A node with no peer left holds its lease alone only if it got there with a lease that had
/// not run out (its peers died or left while it could hear them), or never had a peer. One
/// whose lease had run out first (it was frozen or cut off, and its peers may well be alive
/// and answering for its keys) waits for a peer to confirm its view again.
class lease_keeper {
public:
  using clock = std::chrono::steady_clock;

  /// A keeper for leases of `length` whose tenures count up from `first_tenure`. A node agent
  /// restarted in the same process must not hand out a tenure its predecessor did (activations
  /// of that one would pass for current), so it starts from the clock.
  explicit lease_keeper(clock::duration length, uint64_t first_tenure = 1)
      : length_(length), last_{clock::time_point::min(), clock::time_point::min(), first_tenure} {}

  /// The view at `now` (a change or not): `digest` is its `view_digest`, `peers` the ids
  /// ("name/incarnation") of the other members that are not down.
  void on_view(std::string digest, std::set<std::string> peers, clock::time_point now);

  /// This node has tried every peer address it knows of once; `knew_peers` if there was any.
  /// No lease is held before. And a node that knew of peers never holds one alone before a
  /// peer confirmed its view: a failed attempt proves nothing (a slow handshake, a lost
  /// packet), and a node that started alone while its peers were one handshake away would
  /// answer for every key, from memory, beside them.
  void settle(bool knew_peers) noexcept {
    settled_ = true;
    if (knew_peers && renewed_until_ == clock::time_point::min()) // never held one with peers
      alone_ok_ = false;
  }

  /// The current view's number: a question asked now carries it, its answer hands it back.
  uint64_t epoch() const noexcept { return epoch_; }

  /// The digest of the current view.
  const std::string& digest() const noexcept { return digest_; }

  /// Peer `id` answered `their_digest` to a question asked at `asked` in `epoch`.
  void on_answer(const std::string& id, uint64_t epoch, clock::time_point asked,
                 const std::string& their_digest);

  /// Whether peer `id` has confirmed the current view.
  bool confirmed(const std::string& id) const { return confirmed_.count(id) != 0; }

  /// Peer `id` asks whether it sees this node's view (`their_digest`); returns whether it
  /// does, and remembers a confirmation given.
  bool on_question(const std::string& id, const std::string& their_digest, clock::time_point now);

  /// Peer `id`, leaving, has drained: it answers for no key and holds no activation any more,
  /// so the confirmations this node gave it hold nothing back when it goes down, and it gets
  /// no more (it has no use for a lease). A rolling restart then costs each survivor one
  /// exchange, not a whole lease length, of requests waiting.
  void on_release(const std::string& id);

  /// The lease as of `now`, with a new tenure if it is not an unbroken extension of the
  /// last one returned.
  lease_state publish(clock::time_point now);

private:
  clock::duration length_;
  std::string digest_;
  uint64_t epoch_ = 0;
  std::set<std::string> peers_;
  std::map<std::string, clock::time_point> confirmed_; // this epoch: peer → question asked
  std::map<std::string, clock::time_point> given_;     // peer → last confirmation given
  std::set<std::string> released_;                     // peers that let go (see on_release)
  clock::time_point not_before_ = clock::time_point::min();
  clock::time_point renewed_until_ = clock::time_point::min(); // the latest end of any lease
  bool alone_ok_ = true; // with no peer: whether it got there under a lease
  bool settled_ = false; // see settle()
  lease_state last_;
  uint64_t last_epoch_ = 0;
};

} // namespace troupe::cluster
