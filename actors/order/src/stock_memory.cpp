#include <mutex>
#include <optional>
#include <unordered_map>

#include "stock_ops.hpp"
#include "troupe/core/error.hpp"
#include "troupe/order/stock.hpp"

namespace troupe::order {

namespace {

using detail::held_as;
using detail::reservation;

// Reservations by order id; they may exist before their SKU's row (release markers).
using reservations = std::unordered_map<std::string, reservation>;

// The rows `detail::apply_ops` works on: one SKU's reservations in memory.
struct memory_rows {
  reservations& held;

  std::optional<reservation> find(const std::string& order_id) const {
    auto i = held.find(order_id);
    return i == held.end() ? std::nullopt : std::optional<reservation>{i->second};
  }
  bool hold(const std::string& order_id, int64_t quantity) {
    return held.emplace(order_id, reservation{quantity, held_as::held}).second;
  }
  bool claim(const std::string& order_id, int64_t quantity) {
    return held.emplace(order_id, reservation{quantity, held_as::taken}).second;
  }
  std::optional<int64_t> take(const std::string& order_id) {
    auto i = held.find(order_id);
    if (i == held.end() || i->second.state != held_as::held)
      return std::nullopt;
    i->second.state = held_as::taken;
    return i->second.quantity;
  }
  void put(const std::string& order_id, int64_t quantity, held_as state) {
    held[order_id] = {quantity, state};
  }
};

caf::error conflict(const std::string& sku) {
  return make_error(errc::version_conflict, "stock of " + sku + " changed meanwhile");
}

// One lock stands in for the database's transactions, with the same rules.
class memory_stock final : public stock_repository {
public:
  void load(caf::event_based_actor*, const std::string& sku, reply<stock_state> done) override {
    std::unique_lock guard{mtx_};
    auto i = rows_.find(sku);
    if (i == rows_.end()) {
      guard.unlock();
      return done(make_error(errc::no_such_record, "no stock of " + sku));
    }
    stock_state out{i->second, {}};
    for (auto& [order_id, r] : reservations_[sku])
      if (r.state == held_as::held)
        out.held.emplace(order_id, r.quantity);
    guard.unlock();
    done(std::move(out));
  }

  void set_on_hand(caf::event_based_actor*, stock_record next, reply<stock_record> done) override {
    done(change(
        next,
        [&](stock_record& row, reservations&) -> caf::error {
          if (next.on_hand < row.reserved)
            return make_error(errc::invalid_state, "units are reserved");
          row.on_hand = next.on_hand;
          return {};
        },
        true));
  }

  void apply(caf::event_based_actor*, const stock_record& at, std::vector<stock_op> ops,
             reply<stock_outcome> done) override {
    std::vector<caf::error> results;
    auto stored = change(at, [&](stock_record& row, reservations& held) -> caf::error {
      memory_rows rows{held};
      results = detail::apply_ops(at, ops, rows, row.on_hand, row.reserved);
      return {};
    });
    if (!stored)
      return done(stored.error());
    done(stock_outcome{*stored, std::move(results)});
  }

private:
  // Applies `fn` to the row at version `at.version` (0: no row yet; only
  // `creates` makes one) and the SKU's
  // reservations as one transaction: all of it or, on an error, none of it. The version
  // moves only when the counts changed; a release without a row leaves just its marker.
  template <class Fn>
  caf::expected<stock_record> change(const stock_record& at, Fn fn, bool creates = false) {
    std::lock_guard guard{mtx_};
    auto i = rows_.find(at.sku);
    auto current = i == rows_.end() ? uint64_t{0} : i->second.version;
    if (current != at.version)
      return conflict(at.sku);
    auto row = i == rows_.end() ? stock_record{at.sku, 0, 0, 0} : i->second;
    auto held = reservations_[at.sku];
    auto before = row;
    if (auto err = fn(row, held))
      return err;
    reservations_[at.sku] = std::move(held);
    if (i == rows_.end() && !creates)
      return row; // only a marker: the SKU still has no row
    if (row.on_hand != before.on_hand || row.reserved != before.reserved || i == rows_.end())
      row.version += 1;
    rows_[at.sku] = row;
    return row;
  }

  std::mutex mtx_;
  std::unordered_map<std::string, stock_record> rows_;
  std::unordered_map<std::string, reservations> reservations_; // by SKU
};

} // namespace

std::shared_ptr<stock_repository> make_memory_stock_repository() {
  return std::make_shared<memory_stock>();
}

} // namespace troupe::order
