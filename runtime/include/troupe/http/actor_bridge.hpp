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

/// Serves a request from a short-lived actor, so an io thread never waits on one:
/// `fn(self, res)` runs inside a fresh actor, which lives while it awaits responses
/// and then ends. If it ends without answering, the responder answers 500. Lines
/// logged while `fn` runs carry `log` (the request's ids).
template <class F>
void serve_from_actor(caf::actor_system& sys, responder res, F fn,
                      observability::log_context log = {}) {
  auto shared = std::make_shared<responder>(std::move(res));
  sys.spawn(
      [shared, fn = std::move(fn), log = std::move(log)](caf::event_based_actor* self) mutable {
        observability::log_scope scope{log};
        // Once it asked another node, anyone connected can address it by id: no message of
        // theirs gets printed whole.
        self->set_default_handler(log_and_drop);
        fn(self, shared);
      });
}

} // namespace troupe::http
