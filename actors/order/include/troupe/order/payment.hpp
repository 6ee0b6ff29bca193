#pragma once

// The payment provider protocol: what the order saga asks of whoever takes payments. The
// simulated provider, a real adapter and the gateway in front of either all speak it.

#include <string>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace troupe::order {

/// What to authorize: the payment of one order.
struct payment_request {
  /// The order paid for; providers treat it as the idempotency key of the authorization.
  std::string order_id;
  /// How the customer pays, e.g. "card".
  std::string method;
  /// The provider's opaque token for the customer's payment instrument.
  std::string token;
};

/// Makes `payment_request` a CAF message type (also across nodes).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_request& x) {
  return f(caf::meta::type_name("troupe.payment_request"), x.order_id, x.method, x.token);
}

/// A granted authorization: money held for an order until it is captured or voided.
struct authorization {
  /// The provider's id of the authorization, needed to void it.
  std::string id;
};

/// Makes `authorization` a CAF message type (also across nodes).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, authorization& x) {
  return f(caf::meta::type_name("troupe.authorization"), x.id);
}

/// `(authorize_atom, payment_request) -> authorization`, or an error: `errc::payment_declined`
/// (a decision), `errc::dependency_failed` or a timeout (a fault), or from a gateway
/// `errc::dependency_unavailable` with a retry delay. Authorizing an order that already holds a
/// live authorization answers that authorization again.
using authorize_atom = caf::atom_constant<caf::atom("authorize")>;

/// `(void_atom, std::string order_id) -> caf::ok_atom`: releases whatever the order holds and
/// refuses later authorizations of it, so a void also settles an authorization whose answer was
/// lost (a timeout); voiding twice, or an order never authorized, is fine.
using void_atom = caf::atom_constant<caf::atom("void")>;

/// A payment provider, as seen by the order saga.
using payment_provider =
    caf::typed_actor<caf::replies_to<authorize_atom, payment_request>::with<authorization>,
                     caf::replies_to<void_atom, std::string>::with<caf::ok_atom>>;

} // namespace troupe::order
