#pragma once

#include <utility>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <caf/detail/type_list.hpp>
#include <caf/detail/type_traits.hpp>

#include "troupe/observability/log_context.hpp"
#include "troupe/observability/trace_context.hpp"

namespace troupe::placement {

/// A request to an activation carrying the caller's trace: `(traced_atom, trace_context,
/// message)`. The activation handles `message` as if it had come alone, with the trace as its
/// log context, so its lines name the trace of the request that caused them wherever it came
/// from. `ask` and `ask_owner` wrap requests so whenever the sender's work has a trace.
using traced_atom = caf::atom_constant<caf::atom("traced")>;

/// Announces the types placement sends between nodes (the trace context); every node must,
/// under the same names, before its actor system starts.
void add_message_types(caf::actor_system_config& cfg);

namespace detail {

/// `f` run `within_trace(trace)`, keeping `f`'s exact signature (CAF picks a response handler
/// by its argument types): answers to a request then log under the trace of the work that
/// sent it.
template <class F, class... Args>
auto in_trace(observability::trace_context trace, F f, caf::detail::type_list<Args...>) {
  return [f = std::move(f), trace](Args... xs) mutable {
    return observability::within_trace(
        trace, [&]() -> decltype(auto) { return f(std::forward<Args>(xs)...); });
  };
}

/// `in_trace` for any callable with one call signature.
template <class F>
auto in_trace(observability::trace_context trace, F f) {
  using args = typename caf::detail::get_callable_trait<F>::arg_types;
  return in_trace(trace, std::move(f), args{});
}

} // namespace detail

} // namespace troupe::placement
