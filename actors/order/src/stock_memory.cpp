#include <mutex>
#include <unordered_map>

#include "troupe/core/error.hpp"
#include "troupe/order/stock.hpp"

namespace troupe::order {

namespace {

enum class held_as { held, taken, released };

struct reservation {
  int64_t quantity = 0;
  held_as state = held_as::held;
};

struct sku_row {
  stock_record stock;
  std::unordered_map<std::string, reservation> reservations; // by order id
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
    stock_state out{i->second.stock, {}};
    for (auto& [order_id, r] : i->second.reservations)
      if (r.state == held_as::held)
        out.held.emplace(order_id, r.quantity);
    guard.unlock();
    done(std::move(out));
  }

  void set_on_hand(caf::event_based_actor*, stock_record next, reply<stock_record> done) override {
    done(change(next, [&](sku_row& row) -> caf::error {
      if (next.on_hand < row.stock.reserved)
        return make_error(errc::invalid_state, "units are reserved");
      row.stock.on_hand = next.on_hand;
      return {};
    }));
  }

  void reserve(caf::event_based_actor*, const stock_record& at, const std::string& order_id,
               int64_t quantity, reply<stock_record> done) override {
    done(change(at, [&](sku_row& row) -> caf::error {
      if (row.reservations.count(order_id) > 0)
        return {};
      if (row.stock.on_hand - row.stock.reserved < quantity)
        return make_error(errc::out_of_stock, "too few units of " + at.sku);
      row.reservations[order_id] = {quantity, held_as::held};
      row.stock.reserved += quantity;
      return {};
    }));
  }

  void release(caf::event_based_actor*, const stock_record& at, const std::string& order_id,
               reply<stock_record> done) override {
    done(change(at, [&](sku_row& row) -> caf::error {
      auto& r = row.reservations[order_id]; // a marker when there was none
      if (r.state == held_as::held)
        row.stock.reserved -= r.quantity;
      else if (r.state == held_as::taken)
        row.stock.on_hand += r.quantity;
      r.state = held_as::released;
      return {};
    }));
  }

  void commit(caf::event_based_actor*, const stock_record& at, const std::string& order_id,
              reply<stock_record> done) override {
    done(change(at, [&](sku_row& row) -> caf::error {
      auto i = row.reservations.find(order_id);
      if (i != row.reservations.end() && i->second.state == held_as::taken)
        return {};
      if (i == row.reservations.end() || i->second.state != held_as::held)
        return make_error(errc::invalid_state, "no held reservation of " + order_id);
      row.stock.on_hand -= i->second.quantity;
      row.stock.reserved -= i->second.quantity;
      i->second.state = held_as::taken;
      return {};
    }));
  }

private:
  // Applies `fn` to the row at version `at.version` (0: a new row) as one transaction:
  // all of it or, on an error, none of it. The version moves only when something changed.
  template <class Fn>
  caf::expected<stock_record> change(const stock_record& at, Fn fn) {
    std::lock_guard guard{mtx_};
    auto i = rows_.find(at.sku);
    auto current = i == rows_.end() ? uint64_t{0} : i->second.stock.version;
    if (current != at.version)
      return conflict(at.sku);
    auto row = i == rows_.end() ? sku_row{stock_record{at.sku, 0, 0, 0}, {}} : i->second;
    auto before = row.stock;
    if (auto err = fn(row))
      return err;
    auto same = row.stock.on_hand == before.on_hand && row.stock.reserved == before.reserved &&
                i != rows_.end();
    if (!same)
      row.stock.version += 1;
    rows_[at.sku] = row;
    return row.stock;
  }

  std::mutex mtx_;
  std::unordered_map<std::string, sku_row> rows_;
};

} // namespace

std::shared_ptr<stock_repository> make_memory_stock_repository() {
  return std::make_shared<memory_stock>();
}

} // namespace troupe::order
