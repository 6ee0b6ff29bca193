// The stock SQL, all of it. Each write is one step of a shared write transaction (its own
// savepoint), conditional on the version the activation loaded; every statement is prepared
// once per connection.

#include <pqxx/pqxx>

#include "troupe/core/error.hpp"
#include "troupe/order/stock.hpp"
#include "troupe/store/database.hpp"
#include "troupe/store/prepared.hpp"

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
  store::prepare_once(c, "reservation_put",
                      "INSERT INTO stock_reservations (sku, order_id, quantity, state) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT (sku, order_id) DO UPDATE "
                      "SET state = EXCLUDED.state");
}

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

struct reservation {
  int64_t quantity = 0;
  std::string state; // empty: none
};

reservation reservation_of(pqxx::transaction_base& tx, const std::string& sku,
                           const std::string& order_id) {
  auto rows = tx.exec_prepared("reservation_get", sku, order_id);
  if (rows.empty())
    return {};
  return {rows[0][0].as<int64_t>(), rows[0][1].as<std::string>()};
}

class postgres_stock final : public stock_repository {
public:
  explicit postgres_stock(std::shared_ptr<store::database> db) : db_(std::move(db)) {}

  void load(caf::event_based_actor* self, const std::string& sku,
            reply<stock_state> done) override {
    db_->run<stock_state>(
        self,
        [sku](pqxx::connection_base& c) -> caf::expected<stock_state> {
          prepare_all(c);
          pqxx::read_transaction tx{c};
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

  void reserve(caf::event_based_actor* self, const stock_record& at, const std::string& order_id,
               int64_t quantity, reply<stock_record> done) override {
    db_->write<stock_record>(
        self,
        [at, order_id, quantity](pqxx::transaction_base& tx) -> caf::expected<stock_record> {
          prepare_all(tx.conn());
          if (!reservation_of(tx, at.sku, order_id).state.empty())
            return current(tx, at); // this order was here before
          auto now = current(tx, at);
          if (!now)
            return now;
          if (now->on_hand - now->reserved < quantity)
            return make_error(errc::out_of_stock, "too few units of " + at.sku);
          auto stored =
              row_of(at.sku, tx.exec_prepared("stock_change", at.sku, at.version, 0, quantity));
          tx.exec_prepared("reservation_put", at.sku, order_id, quantity, "held");
          return stored;
        },
        std::move(done));
  }

  void release(caf::event_based_actor* self, const stock_record& at, const std::string& order_id,
               reply<stock_record> done) override {
    db_->write<stock_record>(
        self,
        [at, order_id](pqxx::transaction_base& tx) -> caf::expected<stock_record> {
          prepare_all(tx.conn());
          auto r = reservation_of(tx, at.sku, order_id);
          if (at.version == 0) {
            // No row yet: nothing can be held, but the marker makes a late reserve a no-op.
            if (!tx.exec_prepared("stock_get", at.sku).empty())
              return conflict(at.sku);
            if (r.state.empty())
              tx.exec_prepared("reservation_put", at.sku, order_id, 0, "released");
            return at;
          }
          if (r.state == "released")
            return current(tx, at);
          caf::expected<stock_record> stored = current(tx, at);
          if (r.state == "held")
            stored = row_of(at.sku,
                            tx.exec_prepared("stock_change", at.sku, at.version, 0, -r.quantity));
          else if (r.state == "taken")
            stored =
                row_of(at.sku, tx.exec_prepared("stock_change", at.sku, at.version, r.quantity, 0));
          if (!stored)
            return stored;
          tx.exec_prepared("reservation_put", at.sku, order_id, r.quantity, "released");
          return stored;
        },
        std::move(done));
  }

  void commit(caf::event_based_actor* self, const stock_record& at, const std::string& order_id,
              reply<stock_record> done) override {
    db_->write<stock_record>(
        self,
        [at, order_id](pqxx::transaction_base& tx) -> caf::expected<stock_record> {
          prepare_all(tx.conn());
          auto r = reservation_of(tx, at.sku, order_id);
          if (r.state == "taken")
            return current(tx, at);
          if (r.state != "held")
            return make_error(errc::invalid_state, "no held reservation of " + order_id);
          auto stored = row_of(at.sku, tx.exec_prepared("stock_change", at.sku, at.version,
                                                        -r.quantity, -r.quantity));
          if (!stored)
            return stored;
          tx.exec_prepared("reservation_put", at.sku, order_id, r.quantity, "taken");
          return stored;
        },
        std::move(done));
  }

private:
  std::shared_ptr<store::database> db_;
};

} // namespace

std::shared_ptr<stock_repository>
make_postgres_stock_repository(std::shared_ptr<store::database> db) {
  return std::make_shared<postgres_stock>(std::move(db));
}

} // namespace troupe::order
