#include "unwrap.hpp"

#include <utility>

#include "troupe/placement/traced.hpp"

namespace troupe::placement {

std::optional<envelope> open_envelope(caf::mailbox_element& x) {
  auto& content = x.content();
  if (!content.match_elements<traced_atom, observability::trace_context, caf::message>())
    return std::nullopt;
  auto& inner = content.get_mutable_as<caf::message>(2);
  if (inner.empty())
    return std::nullopt;
  return envelope{content.get_as<observability::trace_context>(1), &inner};
}

unwrapped::unwrapped(const caf::mailbox_element& outer, caf::message& inner)
    : caf::mailbox_element(caf::strong_actor_ptr{outer.sender}, outer.mid,
                           forwarding_stack{outer.stages}),
      inner_(inner) {}

caf::type_erased_tuple& unwrapped::content() {
  return inner_.content();
}

const caf::type_erased_tuple& unwrapped::content() const {
  return std::as_const(inner_).content();
}

// Copies share the content (a reference count), and the envelope keeps its own in case the
// behavior skips the message.
caf::message unwrapped::move_content_to_message() {
  return inner_;
}

caf::message unwrapped::copy_content_to_message() const {
  return inner_;
}

} // namespace troupe::placement
