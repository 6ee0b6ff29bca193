#pragma once

#include <memory>
#include <tuple>
#include <utility>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>

#include "troupe/placement/directory.hpp"
#include "troupe/placement/entity.hpp"

namespace troupe::placement {

/// Sends `msg` as a request to entity `key` of `region` from `self` and hands the
/// reply to `on_reply` (as `request(...).then` would) or an error to `on_error`.
///
/// With a `known` directory, a live activation found there gets the request
/// directly; otherwise the region resolves it first. If the activation went away
/// before the request reached it (`request_receiver_down`: the message was never
/// processed), the request is resolved through the region and sent again, at most
/// `attempts` times in all; other errors, and failures while it was being
/// processed, go to `on_error` untouched.
template <class OnReply, class OnError, class... Ts>
void ask(caf::event_based_actor* self, caf::actor region, std::string key, caf::timespan timeout,
         std::tuple<Ts...> msg, OnReply on_reply, OnError on_error, int attempts = 3,
         std::shared_ptr<const directory> known = nullptr) {
  auto send_to = [=](const caf::actor& entity) {
    auto retry_or_fail = [=](caf::error& err) {
      if (err == caf::sec::request_receiver_down && attempts > 1)
        ask(self, region, key, timeout, msg, on_reply, on_error, attempts - 1);
      else
        on_error(err);
    };
    std::apply(
        [&](const auto&... xs) {
          self->request(entity, timeout, xs...).then(on_reply, retry_or_fail);
        },
        msg);
  };
  if (known)
    if (auto entity = known->find(key)) {
      send_to(entity);
      return;
    }
  self->request(region, timeout, resolve_atom::value, key)
      .then([=](const caf::actor& entity) { send_to(entity); },
            [=](caf::error& err) { on_error(err); });
}

} // namespace troupe::placement
