#pragma once

#include <memory>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "troupe/core/unexpected.hpp"
#include "troupe/http/responder.hpp"
#include "troupe/observability/log_context.hpp"

namespace troupe::http {

/// A responder shared by the callbacks of one bridged request.
using shared_responder = std::shared_ptr<responder>;

namespace detail {

// The short-lived actor of one request: everything it does is that request's work, so every
// message it handles (answers included) runs with the request's log context, and requests it
// sends to entities carry the request's trace.
template <class F>
class bridge_actor final : public caf::event_based_actor {
public:
  bridge_actor(caf::actor_config& cfg, shared_responder res, F fn, observability::log_context log)
      : caf::event_based_actor(cfg), res_(std::move(res)), fn_(std::move(fn)),
        log_(std::move(log)) {}

  caf::behavior make_behavior() override {
    observability::log_scope scope{log_};
    // Once it asked another node, anyone connected can address it by id: no message of
    // theirs gets printed whole.
    set_default_handler(log_and_drop);
    fn_(this, res_);
    return {};
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    observability::log_scope scope{log_};
    return caf::event_based_actor::consume(x);
  }

private:
  shared_responder res_;
  F fn_;
  observability::log_context log_;
};

} // namespace detail

/// Serves a request from a short-lived actor, so an io thread never waits on one:
/// `fn(self, res)` runs inside a fresh actor, which lives while it awaits responses
/// and then ends. If it ends without answering, the responder answers 500. Lines
/// logged by the actor, from `fn` and every callback, carry `log` (the request's ids), and
/// so do the entity requests it sends (see placement's `ask`).
template <class F>
void serve_from_actor(caf::actor_system& sys, responder res, F fn,
                      observability::log_context log = {}) {
  sys.spawn<detail::bridge_actor<F>>(std::make_shared<responder>(std::move(res)), std::move(fn),
                                     std::move(log));
}

} // namespace troupe::http
