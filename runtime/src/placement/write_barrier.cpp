#include "troupe/placement/write_barrier.hpp"

#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/skip.hpp>

namespace troupe::placement {

namespace {

// Never sent: the held behavior must match nothing, so every message is skipped.
using held_atom = caf::atom_constant<caf::atom("held")>;

} // namespace

void write_barrier::hold() {
  if (++held_ == 1) {
    self_->set_default_handler(caf::skip);
    self_->become(caf::keep_behavior, caf::behavior{[](held_atom) {}});
  }
}

void write_barrier::release() {
  if (held_ > 0 && --held_ == 0) {
    self_->unbecome();
    self_->set_default_handler(caf::print_and_drop);
  }
}

} // namespace troupe::placement
