#include "troupe/core/timer.hpp"

#include <chrono>

#include <caf/response_promise.hpp>

namespace troupe {

namespace {

using ring_atom = caf::atom_constant<caf::atom("timerring")>;

} // namespace

caf::actor spawn_timer(caf::event_based_actor* self, caf::timespan delay) {
  return self->spawn([delay](caf::event_based_actor* t) -> caf::behavior {
    return {
        [t, delay](wake_atom) -> caf::response_promise {
          auto rp = t->make_response_promise();
          t->become([t, rp](ring_atom) mutable {
            rp.deliver(caf::ok_atom::value);
            t->quit();
          });
          t->delayed_send(t, delay, ring_atom::value);
          return rp;
        },
    };
  });
}

void run_after(caf::event_based_actor* self, caf::timespan delay, std::function<void()> fn) {
  auto timer = spawn_timer(self, delay);
  // The handlers hold the timer, so it lives until it rang; on any error `fn` still runs.
  self->request(timer, delay + std::chrono::seconds{10}, wake_atom::value)
      .then([fn, timer](caf::ok_atom) { fn(); }, [fn, timer](caf::error&) { fn(); });
}

} // namespace troupe
