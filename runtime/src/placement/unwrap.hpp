#pragma once

#include <optional>

#include <caf/mailbox_element.hpp>
#include <caf/message.hpp>

#include "troupe/observability/trace_context.hpp"

namespace troupe::placement {

/// The parts of a trace envelope `(traced_atom, trace_context, message)`, pointing into it.
struct envelope {
  /// The caller's trace.
  observability::trace_context trace;
  /// The request itself.
  caf::message* inner = nullptr;
};

/// Returns the parts of `x` if it is a trace envelope around a non-empty message.
std::optional<envelope> open_envelope(caf::mailbox_element& x);

/// The request inside an envelope, as a mailbox element of its own: same sender, message id
/// and forwarding stages as the envelope, so the behavior answers the original caller.
///
/// It refers to the envelope's message instead of copying it and lives on the stack for one
/// `consume`: unwrapping costs no allocation, and a message the behavior skips stays whole in
/// the mailbox, envelope and all.
class unwrapped final : public caf::mailbox_element {
public:
  /// Views `inner`, the message inside `outer`.
  unwrapped(const caf::mailbox_element& outer, caf::message& inner);

  caf::type_erased_tuple& content() override;
  const caf::type_erased_tuple& content() const override;
  caf::message move_content_to_message() override;
  caf::message copy_content_to_message() const override;

private:
  caf::message& inner_;
};

} // namespace troupe::placement
