#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <tuple>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>

#include <caf/detail/type_traits.hpp>

#include "troupe/chaos/faults.hpp"
#include "troupe/chaos/message_name.hpp"
#include "troupe/cluster/in_flight.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/timer.hpp"
#include "troupe/placement/directory.hpp"
#include "troupe/placement/entity.hpp"
#include "troupe/placement/locator.hpp"
#include "troupe/placement/traced.hpp"

namespace troupe::placement {

namespace detail {

// Sends `msg` to `dest` as a request, in a trace envelope when the work in progress has a
// trace (one more allocation, for the inner message); otherwise as it is.
template <class... Ts>
auto request(caf::event_based_actor* self, const caf::actor& dest, caf::timespan timeout,
             const observability::trace_context& trace, const std::tuple<Ts...>& msg) {
  return std::apply(
      [&](const auto&... xs) {
        if (trace.valid())
          return self->request(dest, timeout, traced_atom::value, trace, caf::make_message(xs...));
        return self->request(dest, timeout, xs...);
      },
      msg);
}

// `f` with `before()` run first, keeping `f`'s exact signature (CAF picks a response
// handler by its argument types, so a generic lambda would not do).
template <class F, class Before, class... Args>
auto run_before(F f, Before before, caf::detail::type_list<Args...>) {
  return [f = std::move(f), before = std::move(before)](Args... xs) mutable {
    before();
    return f(std::forward<Args>(xs)...);
  };
}

} // namespace detail

/// Sends `msg` as a request to entity `key` of `region` from `self` and hands the
/// reply to `on_reply` (as `request(...).then` would) or an error to `on_error`.
///
/// With a `known` directory, a live activation found there gets the request
/// directly; otherwise the region resolves it first. If the activation went away
/// before the request reached it (`request_receiver_down`: the message was never
/// processed), the request is resolved through the region and sent again, at most
/// `attempts` times in all; other errors, and failures while it was being
/// processed, go to `on_error` untouched.
///
/// The trace of the work in progress (the log context's) travels with the request, and
/// `on_reply` and `on_error` run under it.
template <class OnReply, class OnError, class... Ts>
void ask(caf::event_based_actor* self, caf::actor region, std::string key, caf::timespan timeout,
         std::tuple<Ts...> msg, OnReply on_reply, OnError on_error, int attempts = 3,
         std::shared_ptr<const directory> known = nullptr) {
  auto trace = observability::current_log_context().trace;
  auto send_to = [=](const caf::actor& entity) {
    auto retry_or_fail = [=](caf::error& err) {
      if (err == caf::sec::request_receiver_down && attempts > 1)
        ask(self, region, key, timeout, msg, on_reply, on_error, attempts - 1);
      else
        on_error(err);
    };
    detail::request(self, entity, timeout, trace, msg)
        .then(detail::in_trace(trace, on_reply), detail::in_trace(trace, retry_or_fail));
  };
  if (known)
    if (auto entity = known->find(key)) {
      send_to(entity);
      return;
    }
  self->request(region, timeout, resolve_atom::value, key)
      .then(detail::in_trace(trace, [=](const caf::actor& entity) { send_to(entity); }),
            detail::in_trace(trace, [=](caf::error& err) { on_error(err); }));
}

/// How `ask_owner` may repeat a request.
struct retry_policy {
  /// Whether the request may run twice (a read, or a write keyed by an idempotency key): only
  /// then is it sent again after its node went down mid-request (`errc::node_down`).
  bool idempotent = false;
  /// Sends in all. Besides node loss, a version conflict (a stale activation was fenced
  /// and stepped aside; nothing was written) and a departed activation are retried.
  int attempts = 2;
};

namespace detail {

// A response handler with the exact signature of `OnReply` that ignores the answer.
template <class... Args>
auto ignore_reply(caf::detail::type_list<Args...>) {
  return [](Args...) {};
}

// Sends `msg` along `route` (to this node's region or another node's inbound router), with no
// fault applied; errors go to `again`.
template <class OnReply, class Again, class... Ts>
void send_routed(caf::event_based_actor* self, const std::shared_ptr<const locator>& where,
                 const locator::route& route, const std::string& kind, const std::string& key,
                 caf::timespan timeout, const std::tuple<Ts...>& msg, OnReply on_reply, Again again,
                 const std::shared_ptr<const directory>& known) {
  if (route.local) {
    ask(self, route.local, key, timeout, msg, on_reply, again, 3, known);
    return;
  }
  auto trace = observability::current_log_context().trace;
  auto handle = std::apply(
      [&](const auto&... xs) {
        return self->request(route.remote, timeout, forward_atom::value, kind, key, trace,
                             caf::make_message(xs...));
      },
      msg);
  auto pending = where->pending();
  auto ticket =
      pending ? pending->add(route.node, caf::actor_cast<caf::strong_actor_ptr>(self), handle.id())
              : cluster::in_flight::ticket{0};
  auto finish = [pending, node = route.node, ticket] {
    if (pending)
      pending->done(node, ticket);
  };
  using args = typename caf::detail::get_callable_trait<OnReply>::arg_types;
  handle.then(detail::in_trace(trace, detail::run_before(on_reply, finish, args{})),
              detail::in_trace(trace, [finish, again](caf::error& err) {
                finish();
                again(err);
              }));
}

} // namespace detail

namespace detail {

// The pause before sending again a request its owner refused as `not_settled`: the lease
// settles within an exchange or two between the agents, so start short and grow.
inline caf::timespan settle_pause(int refusals) {
  using namespace std::chrono_literals;
  return std::min<caf::timespan>(25ms * (1 << std::min(refusals, 3)), 200ms);
}

template <class OnReply, class OnError, class... Ts>
void ask_owner_by(caf::event_based_actor* self, std::shared_ptr<const locator> where,
                  std::string kind, std::string key, caf::actor_clock::time_point deadline,
                  std::tuple<Ts...> msg, OnReply on_reply, OnError on_error, retry_policy policy,
                  std::shared_ptr<const directory> known, int refusals) {
  auto timeout = std::max<caf::timespan>(deadline - self->clock().now(), caf::timespan{1});
  auto again = [=](const caf::error& err) {
    if (is(err, errc::not_settled)) {
      // Refused unprocessed while ownership settles: pause and route again (the owner may have
      // changed meanwhile), for as long as the caller's time allows; attempts are not spent.
      auto pause = settle_pause(refusals);
      if (self->clock().now() + pause >= deadline)
        return on_error(err);
      run_after(self, pause, [=] {
        ask_owner_by(self, where, kind, key, deadline, msg, on_reply, on_error, policy, known,
                     refusals + 1);
      });
      return;
    }
    bool retry = policy.attempts > 1 &&
                 (is(err, errc::version_conflict) || err == caf::sec::request_receiver_down ||
                  (policy.idempotent && is(err, errc::node_down)));
    if (!retry)
      return on_error(err);
    ask_owner_by(self, where, kind, key, deadline, msg, on_reply, on_error,
                 retry_policy{policy.idempotent, policy.attempts - 1}, known, refusals);
  };
  auto route = where->find(kind, key);
  if (!route)
    return on_error(route.error());
  if (auto* faults = chaos::faults::active()) {
    using action = chaos::message_effect::action;
    auto effect = faults->on_message(route->node, kind, key, chaos::message_name(msg));
    if (effect.what == action::drop) {
      // A timer that answers only after the caller gave up stands in for the lost request.
      auto sink = spawn_timer(self, timeout + std::chrono::seconds{1});
      self->request(sink, timeout, wake_atom::value)
          .then([sink](caf::ok_atom) {}, [sink, on_error](caf::error& err) { on_error(err); });
      return;
    }
    if (effect.what == action::delay) {
      run_after(self, effect.delay, [=, r = *route] {
        send_routed(self, where, r, kind, key, timeout, msg, on_reply, again, known);
      });
      return;
    }
    if (effect.what == action::duplicate) {
      using args = typename caf::detail::get_callable_trait<OnReply>::arg_types;
      send_routed(self, where, *route, kind, key, timeout, msg, on_reply, again, known);
      send_routed(
          self, where, *route, kind, key, timeout, msg, ignore_reply(args{}),
          [](const caf::error&) {}, known);
      return;
    }
  }
  send_routed(self, where, *route, kind, key, timeout, msg, on_reply, again, known);
}

} // namespace detail

/// Sends `msg` as a request to entity `key` of `kind`, wherever it lives now, and hands
/// the reply to `on_reply` or an error to `on_error`.
///
/// The owner comes from `where`: on this node the request goes through the region (or
/// the `known` directory) as `ask` sends it; on another node it goes to that node's
/// inbound router, is registered with the locator's in-flight table (so it fails at once
/// with `errc::node_down` if the node goes down) and is answered by the entity directly.
/// Either way the trace of the work in progress goes along, as `ask` sends it.
///
/// `timeout` bounds the whole exchange, retries included. A request the owner refused
/// unprocessed because it does not hold its lease now (`errc::not_settled`) is sent again
/// after a short pause while time remains; other retries follow `policy`.
///
/// This is where chaos message faults act (only while one is active): a dropped request is
/// never sent and the caller sees its timeout; a duplicated one is sent twice back to back and
/// the second answer is ignored; a delayed one is sent after the delay, no thread waiting.
template <class OnReply, class OnError, class... Ts>
void ask_owner(caf::event_based_actor* self, std::shared_ptr<const locator> where, std::string kind,
               std::string key, caf::timespan timeout, std::tuple<Ts...> msg, OnReply on_reply,
               OnError on_error, retry_policy policy = {},
               std::shared_ptr<const directory> known = nullptr) {
  detail::ask_owner_by(self, std::move(where), std::move(kind), std::move(key),
                       self->clock().now() + timeout, std::move(msg), std::move(on_reply),
                       std::move(on_error), policy, std::move(known), 0);
}

} // namespace troupe::placement
