#pragma once

#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/typed_response_promise.hpp>

namespace troupe::placement {

/// Holds back an activation's messages while its store writes are in flight, so the
/// state it serves and the version it writes against never drift apart.
///
/// Held messages stay in the mailbox in order and run once the last hold ends. The
/// idle timeout does not run while holding: an activation never passivates mid-write.
class write_barrier {
public:
  /// Guards the mailbox of `self`.
  explicit write_barrier(caf::event_based_actor* self) noexcept : self_(self) {}

  /// Starts holding; holds nest.
  void hold();

  /// Ends one hold; the last one restores the served behavior.
  void release();

  /// Returns whether messages are being held.
  bool holding() const noexcept { return held_ > 0; }

private:
  caf::event_based_actor* self_;
  int held_ = 0;
};

/// Answers `promise` with the value or the error of `x` (CAF cannot deliver an expected).
template <class T>
void settle(caf::typed_response_promise<T>& promise, caf::expected<T> x) {
  if (x)
    promise.deliver(std::move(*x));
  else
    promise.deliver(std::move(x.error()));
}

} // namespace troupe::placement
