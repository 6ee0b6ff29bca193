// The stock SQL, all of it. Each write is one step of a shared write transaction (its own
// savepoint), conditional on the version the activation loaded; every statement is prepared
// once per connection.

#include <algorithm>
#include <optional>

#include <pqxx/pqxx>

#include "stock_ops.hpp"
#include "troupe/core/error.hpp"
#include "troupe/order/stock.hpp"
#include "troupe/store/database.hpp"
#include "troupe/store/prepared.hpp"
#include "troupe/store/statement.hpp"

namespace troupe::order {

namespace {

void prepare_all(pqxx::connection_base& c) {
  store::prepare_once(c, "stock_get",
                      "SELECT on_hand, reserved, version FROM stock WHERE sku = $1");
  store::prepare_once(c, "stock_held",
                      "SELECT order_id, quantity FROM stock_reservations "
                      "WHERE sku = $1 AND state = 'held'");
  store::prepare_once(c, "stock_insert",
                      "INSERT INTO stock (sku, on_hand, reserved, version) VALUES ($1, $2, 0, 1) "
                      "ON CONFLICT DO NOTHING RETURNING on_hand, reserved, version");
  // Each change moves the version on only if it still is the one the caller read.
  store::prepare_once(c, "stock_change",
                      "UPDATE stock SET on_hand = on_hand + $3, reserved = reserved + $4, "
                      "version = version + 1 WHERE sku = $1 AND version = $2 "
                      "RETURNING on_hand, reserved, version");
  store::prepare_once(c, "stock_set",
                      "UPDATE stock SET on_hand = $3, version = version + 1 "
                      "WHERE sku = $1 AND version = $2 RETURNING on_hand, reserved, version");
  store::prepare_once(c, "reservation_get",
                      "SELECT quantity, state FROM stock_reservations "
                      "WHERE sku = $1 AND order_id = $2 FOR UPDATE");
  store::prepare_once(c, "reservation_hold",
                      "INSERT INTO stock_reservations (sku, order_id, quantity, state) "
                      "VALUES ($1, $2, $3, 'held') ON CONFLICT DO NOTHING RETURNING quantity");
  store::prepare_once(c, "reservation_claim",
                      "INSERT INTO stock_reservations (sku, order_id, quantity, state) "
                      "VALUES ($1, $2, $3, 'taken') ON CONFLICT DO NOTHING RETURNING quantity");
  store::prepare_once(c, "reservation_take",
                      "UPDATE stock_reservations SET state = 'taken' "
                      "WHERE sku = $1 AND order_id = $2 AND state = 'held' RETURNING quantity");
  store::prepare_once(c, "reservation_put",
                      "INSERT INTO stock_reservations (sku, order_id, quantity, state) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT (sku, order_id) DO UPDATE "
                      "SET quantity = EXCLUDED.quantity, state = EXCLUDED.state");
}

// The happy path of the order saga: the orders' taken reservations, and the count moved
// under the version fence, in one round trip with the rest of the batch.
const store::query reservations_take{
    "reservations_take", "INSERT INTO stock_reservations (sku, order_id, quantity, state) "
                         "SELECT $1, t.order_id, t.quantity, 'taken' "
                         "FROM unnest($2::text[], $3::bigint[]) AS t (order_id, quantity) "
                         "ON CONFLICT DO NOTHING RETURNING quantity"};
const store::query stock_move{"stock_move",
                              "UPDATE stock SET on_hand = on_hand + $3, reserved = reserved + $4, "
                              "version = version + 1 WHERE sku = $1 AND version = $2 "
                              "RETURNING on_hand, reserved, version"};

caf::error conflict(const std::string& sku) {
  return make_error(errc::version_conflict, "stock of " + sku + " changed meanwhile");
}

caf::expected<stock_record> row_of(const std::string& sku, const pqxx::result& rows) {
  if (rows.empty())
    return conflict(sku);
  return stock_record{sku, rows[0][0].as<int64_t>(), rows[0][1].as<int64_t>(),
                      rows[0][2].as<uint64_t>()};
}

// The row as it stands; a version other than the caller's means it moved meanwhile.
caf::expected<stock_record> current(pqxx::transaction_base& tx, const stock_record& at) {
  auto row = row_of(at.sku, tx.exec_prepared("stock_get", at.sku));
  if (row && row->version != at.version)
    return conflict(at.sku);
  return row;
}

using detail::held_as;
using detail::reservation;

// The rows `detail::apply_ops` works on: one SKU's reservations, one statement per call.
// The happy paths (hold, claim, take) are a single statement each.
struct sql_rows {
  pqxx::transaction_base& tx;
  const std::string& sku;

  std::optional<reservation> find(const std::string& order_id) const {
    auto rows = tx.exec_prepared("reservation_get", sku, order_id);
    if (rows.empty())
      return std::nullopt;
    auto state = rows[0][1].as<std::string>();
    return reservation{rows[0][0].as<int64_t>(), state == "held"    ? held_as::held
                                                 : state == "taken" ? held_as::taken
                                                                    : held_as::released};
  }
  bool hold(const std::string& order_id, int64_t quantity) {
    return !tx.exec_prepared("reservation_hold", sku, order_id, quantity).empty();
  }
  bool claim(const std::string& order_id, int64_t quantity) {
    return !tx.exec_prepared("reservation_claim", sku, order_id, quantity).empty();
  }
  std::optional<int64_t> take(const std::string& order_id) {
    auto rows = tx.exec_prepared("reservation_take", sku, order_id);
    if (rows.empty())
      return std::nullopt;
    return rows[0][0].as<int64_t>();
  }
  void put(const std::string& order_id, int64_t quantity, held_as state) {
    tx.exec_prepared("reservation_put", sku, order_id, quantity,
                     state == held_as::held    ? "held"
                     : state == held_as::taken ? "taken"
                                               : "released");
  }
};

class postgres_stock final : public stock_repository {
public:
  explicit postgres_stock(std::shared_ptr<store::database> db) : db_(std::move(db)) {}

  void load(caf::event_based_actor* self, const std::string& sku,
            reply<stock_state> done) override {
    db_->run<stock_state>(
        self,
        [sku](pqxx::connection_base& c) -> caf::expected<stock_state> {
          prepare_all(c);
          pqxx::nontransaction tx{c};
          auto rows = tx.exec_prepared("stock_get", sku);
          if (rows.empty())
            return make_error(errc::no_such_record, "no stock of " + sku);
          stock_state out{*row_of(sku, rows), {}};
          for (const auto& r : tx.exec_prepared("stock_held", sku))
            out.held.emplace(r[0].as<std::string>(), r[1].as<int64_t>());
          return out;
        },
        std::move(done));
  }

  void set_on_hand(caf::event_based_actor* self, stock_record next,
                   reply<stock_record> done) override {
    db_->write<stock_record>(
        self,
        [next](pqxx::transaction_base& tx) -> caf::expected<stock_record> {
          prepare_all(tx.conn());
          auto stored =
              next.version == 0
                  ? row_of(next.sku, tx.exec_prepared("stock_insert", next.sku, next.on_hand))
                  : row_of(next.sku,
                           tx.exec_prepared("stock_set", next.sku, next.version, next.on_hand));
          return stored;
        },
        std::move(done));
  }

  void apply(caf::event_based_actor* self, const stock_record& at, std::vector<stock_op> ops,
             reply<stock_outcome> done) override {
    auto take = happy_take(at, ops);
    if (take.empty())
      return apply_carefully(db_, self, at, std::move(ops), std::move(done));
    // An order that was here before (a replay) rolls this write back and goes the careful
    // way, which knows what its reservation says.
    auto n = ops.size();
    db_->write<stock_outcome>(
        self, std::move(take),
        [at, n](std::vector<store::rows>& rows) -> caf::expected<stock_outcome> {
          if (rows[1].empty())
            return conflict(at.sku);
          if (rows[0].size() != n)
            return make_error(errc::already_exists, "an order was here before");
          const auto& r = rows[1];
          stock_record now{at.sku, r.int64(0, 0), r.int64(0, 1),
                           static_cast<uint64_t>(r.int64(0, 2))};
          return stock_outcome{now, std::vector<caf::error>(n)};
        },
        [db = db_, self, at, ops = std::move(ops),
         done = std::move(done)](caf::expected<stock_outcome> out) mutable {
          if (!out && is(out.error(), errc::already_exists))
            return apply_carefully(db, self, at, std::move(ops), std::move(done));
          done(std::move(out));
        });
  }

private:
  // The statements of the happy path for `ops`, if they are all takes of distinct orders
  // that the row as read can serve; none otherwise.
  static std::vector<store::statement> happy_take(const stock_record& at,
                                                  const std::vector<stock_op>& ops) {
    if (at.version == 0 || ops.empty())
      return {};
    std::vector<std::string> orders;
    std::vector<int64_t> quantities;
    int64_t total = 0;
    for (const auto& op : ops) {
      if (op.what != stock_op::kind::take || op.quantity <= 0 ||
          std::find(orders.begin(), orders.end(), op.order_id) != orders.end())
        return {};
      orders.push_back(op.order_id);
      quantities.push_back(op.quantity);
      total += op.quantity;
    }
    if (at.on_hand - at.reserved < total)
      return {}; // some would be refused: the careful path says which
    return {store::bind(reservations_take, at.sku, store::array_literal(orders),
                        store::array_literal(quantities)),
            store::bind(stock_move, at.sku, at.version, -total, int64_t{0})};
  }

  // Every op through `detail::apply_ops`, a statement at a time.
  static void apply_carefully(const std::shared_ptr<store::database>& db,
                              caf::event_based_actor* self, const stock_record& at,
                              std::vector<stock_op> ops, reply<stock_outcome> done) {
    db->write<stock_outcome>(
        self,
        [at, ops](pqxx::transaction_base& tx) -> caf::expected<stock_outcome> {
          prepare_all(tx.conn());
          sql_rows rows{tx, at.sku};
          auto on_hand = at.on_hand;
          auto reserved = at.reserved;
          stock_outcome out{at, detail::apply_ops(at, ops, rows, on_hand, reserved)};
          // One conditional change for the whole batch: it also fences a stale activation.
          caf::expected<stock_record> stored = at;
          if (on_hand != at.on_hand || reserved != at.reserved)
            stored = row_of(at.sku, tx.exec_prepared("stock_change", at.sku, at.version,
                                                     on_hand - at.on_hand, reserved - at.reserved));
          else if (at.version > 0)
            stored = current(tx, at);
          else if (!tx.exec_prepared("stock_get", at.sku).empty())
            return conflict(at.sku); // the SKU got a row meanwhile: markers only would be wrong
          if (!stored)
            return stored.error();
          out.stock = *stored;
          return out;
        },
        std::move(done));
  }

  std::shared_ptr<store::database> db_;
};

} // namespace

std::shared_ptr<stock_repository>
make_postgres_stock_repository(std::shared_ptr<store::database> db) {
  return std::make_shared<postgres_stock>(std::move(db));
}

} // namespace troupe::order
