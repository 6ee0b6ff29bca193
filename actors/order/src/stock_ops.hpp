#pragma once

// The rules of reserve, release and commit, written once for both repositories. A backend
// supplies only the reservation rows (a map, or SQL) and checks the version of the stock
// row; the counts move here, op by op, from the row the caller read.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "troupe/core/error.hpp"
#include "troupe/order/stock.hpp"

namespace troupe::order::detail {

/// Where a reservation stands.
enum class held_as { held, taken, released };

/// A reservation of one order against one SKU.
struct reservation {
  int64_t quantity = 0;
  held_as state = held_as::held;
};

/// Applies `ops` to the counts of `at` (in `on_hand`, `reserved`, which start as the row's)
/// and returns each op's outcome. `rows` must offer:
/// - `std::optional<reservation> find(order_id)`;
/// - `bool hold(order_id, quantity)`: inserts a held reservation unless one exists;
/// - `std::optional<int64_t> take(order_id)`: turns a held one into taken, its quantity;
/// - `bool claim(order_id, quantity)`: inserts a taken reservation unless one exists;
/// - `void put(order_id, quantity, held_as)`: inserts or overwrites one.
template <class Rows>
std::vector<caf::error> apply_ops(const stock_record& at, const std::vector<stock_op>& ops,
                                  Rows& rows, int64_t& on_hand, int64_t& reserved) {
  std::vector<caf::error> out;
  out.reserve(ops.size());
  for (const auto& op : ops) {
    caf::error err;
    switch (op.what) {
    case stock_op::kind::reserve:
      if (op.quantity <= 0) {
        err = make_error(errc::invalid_argument, "quantity must be positive");
      } else if (at.version == 0 || on_hand - reserved < op.quantity) {
        // Too few units, unless this order was here before: then it is a no-op.
        if (!rows.find(op.order_id))
          err = make_error(errc::out_of_stock, std::to_string(on_hand - reserved) + " of " +
                                                   at.sku + " available, " +
                                                   std::to_string(op.quantity) + " requested");
      } else if (rows.hold(op.order_id, op.quantity)) {
        reserved += op.quantity;
      }
      break;
    case stock_op::kind::commit:
      if (auto q = rows.take(op.order_id)) {
        on_hand -= *q;
        reserved -= *q;
      } else if (auto r = rows.find(op.order_id); !r || r->state != held_as::taken) {
        err = make_error(errc::invalid_state, "no held reservation of " + op.order_id);
      }
      break;
    case stock_op::kind::take:
      if (op.quantity <= 0) {
        err = make_error(errc::invalid_argument, "quantity must be positive");
      } else if (at.version > 0 && on_hand - reserved >= op.quantity &&
                 rows.claim(op.order_id, op.quantity)) {
        on_hand -= op.quantity; // the happy path: one insert, no held phase
      } else if (auto q = rows.take(op.order_id)) {
        on_hand -= *q; // reserved before: its held units are the ones taken
        reserved -= *q;
      } else if (auto r = rows.find(op.order_id); !r || r->state == held_as::released) {
        err = make_error(errc::out_of_stock, r ? "the units of " + op.order_id + " were released"
                                               : std::to_string(on_hand - reserved) + " of " +
                                                     at.sku + " available, " +
                                                     std::to_string(op.quantity) + " requested");
      }
      break;
    case stock_op::kind::release: {
      auto r = rows.find(op.order_id);
      if (!r) {
        rows.put(op.order_id, 0, held_as::released); // the marker
        break;
      }
      if (r->state == held_as::released)
        break;
      if (r->state == held_as::held)
        reserved -= r->quantity;
      else
        on_hand += r->quantity;
      rows.put(op.order_id, r->quantity, held_as::released);
      break;
    }
    }
    out.push_back(std::move(err));
  }
  return out;
}

} // namespace troupe::order::detail
