// The order SQL, all of it. Status changes carry their event into the outbox in the
// same transaction (the same write of a shared write transaction), so an event exists
// exactly when its change committed.

#include <algorithm>
#include <atomic>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/events/outbox.hpp"
#include "troupe/order/orders.hpp"
#include "troupe/store/database.hpp"
#include "troupe/store/prepared.hpp"
#include "troupe/store/statement.hpp"

namespace troupe::order {

namespace {

constexpr const char* columns =
    "id::text, user_id::text, status, items::text, payment_method, payment_token, "
    "idempotency_key, request_hash, authorization_id, reason, version, "
    "(extract(epoch from created_at) * 1000)::bigint, "
    "(extract(epoch from updated_at) * 1000)::bigint";

// The writes, sent with their batch in one round trip (see store::statement).
const store::query order_insert{
    "order_insert",
    "INSERT INTO orders (id, user_id, status, items, payment_method, payment_token, "
    "idempotency_key, request_hash, authorization_id, reason, version, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, 1, to_timestamp($11 / 1000.0), "
    "to_timestamp($11 / 1000.0)) ON CONFLICT DO NOTHING"};
const store::query order_update{
    "order_update", "UPDATE orders SET status = $3, authorization_id = $4, reason = $5, "
                    "version = version + 1, updated_at = to_timestamp($6 / 1000.0) "
                    "WHERE id = $1 AND version = $2"};

void prepare_all(pqxx::connection_base& c) {
  store::prepare_once(c, "order_by_id",
                      std::string{"SELECT "} + columns + " FROM orders WHERE id = $1");
  // Newest first; the cursor is (created_at, id) of the last order of the previous page.
  store::prepare_once(
      c, "order_list",
      std::string{"SELECT "} + columns +
          " FROM orders WHERE user_id = COALESCE(NULLIF($1, '')::uuid, user_id) AND ($2 = '' OR "
          "status = $2) AND ($3::bigint < 0 OR (created_at, id) < "
          "(to_timestamp($3::bigint / 1000.0), $4::uuid)) "
          "ORDER BY created_at DESC, id DESC LIMIT $5");
  // Oldest first from `$1`, a creation time below which every order is final; each row
  // says whether it is due (untouched since `$2`) and when it was created.
  store::prepare_once(c, "order_unfinished",
                      "SELECT id::text, updated_at < to_timestamp($2 / 1000.0), "
                      "(extract(epoch from created_at) * 1000)::bigint FROM orders "
                      "WHERE created_at >= to_timestamp($1 / 1000.0) AND created_at < "
                      "to_timestamp($2 / 1000.0) AND status NOT IN ('confirmed', 'rejected', "
                      "'cancelled') ORDER BY created_at LIMIT $3");
}

std::string items_json(const std::vector<order_item>& items) {
  auto out = nlohmann::json::array();
  for (const auto& i : items)
    out.push_back({{"sku", i.sku}, {"quantity", i.quantity}});
  return out.dump();
}

order_record from_row(const pqxx::row& row) {
  order_record r;
  r.id = row[0].as<std::string>();
  r.user_id = row[1].as<std::string>();
  parse(row[2].as<std::string>(), r.status);
  for (const auto& i : nlohmann::json::parse(row[3].as<std::string>()))
    r.items.push_back({i.at("sku").get<std::string>(), i.at("quantity").get<int64_t>()});
  r.payment_method = row[4].as<std::string>();
  r.payment_token = row[5].as<std::string>();
  r.idempotency_key = row[6].as<std::string>();
  r.request_hash = row[7].as<std::string>();
  r.authorization_id = row[8].as<std::string>();
  r.reason = row[9].as<std::string>();
  r.version = row[10].as<uint64_t>();
  r.created_at_ms = row[11].as<int64_t>();
  r.updated_at_ms = row[12].as<int64_t>();
  return r;
}

class postgres_orders final : public order_repository {
public:
  postgres_orders(std::shared_ptr<store::database> db, std::shared_ptr<const events::outbox> outbox)
      : db_(std::move(db)), outbox_(std::move(outbox)) {}

  void load(caf::event_based_actor* self, const std::string& id,
            reply<order_record> done) override {
    if (!is_uuid(id)) // never names a row; keeps garbage out of SQL
      return done(make_error(errc::no_such_record, "no such order"));
    db_->run<order_record>(
        self,
        [id](pqxx::connection_base& c) -> caf::expected<order_record> {
          prepare_all(c);
          pqxx::nontransaction tx{c};
          auto rows = tx.exec_prepared("order_by_id", id);
          if (rows.empty())
            return make_error(errc::no_such_record, "no such order");
          return from_row(rows[0]);
        },
        std::move(done));
  }

  void insert(caf::event_based_actor* self, order_record rec, reply<order_record> done) override {
    // A conflict (a replay) writes nothing and is told as a value, not a failed statement:
    // the writes sharing its transaction commit as they are, with no savepoints.
    auto stmt =
        store::bind(order_insert, rec.id, rec.user_id, to_string(rec.status), items_json(rec.items),
                    rec.payment_method, rec.payment_token, rec.idempotency_key, rec.request_hash,
                    rec.authorization_id, rec.reason, rec.created_at_ms);
    db_->write<std::optional<order_record>>(
        self, {std::move(stmt)},
        [rec](std::vector<store::rows>& rows) -> caf::expected<std::optional<order_record>> {
          if (rows.front().affected() == 0)
            return std::optional<order_record>{};
          auto stored = rec;
          stored.version = 1;
          return std::optional<order_record>{std::move(stored)};
        },
        [done = std::move(done)](caf::expected<std::optional<order_record>> stored) {
          if (!stored)
            return done(std::move(stored.error()));
          if (!*stored)
            return done(make_error(errc::already_exists, "order exists"));
          done(std::move(**stored));
        });
  }

  void update(caf::event_based_actor* self, order_record rec, std::optional<events::event> event,
              reply<order_record> done) override {
    // A finished order going back to work (a cancel after confirmation) may lie below the
    // sweep's mark: lower it so this node's sweep sees the order if its saga stops.
    if (!is_final(rec.status)) {
      auto mark = sweep_->mark.load();
      while (rec.created_at_ms < mark &&
             !sweep_->mark.compare_exchange_weak(mark, rec.created_at_ms))
        ;
    }
    auto fx = std::make_shared<events::effects>();
    std::vector<store::statement> stmts{store::bind(order_update, rec.id, rec.version,
                                                    to_string(rec.status), rec.authorization_id,
                                                    rec.reason, rec.updated_at_ms)};
    // The event goes with the change; if the version fence stops the change, the error below
    // rolls the event back with it.
    if (event)
      fx->plan(outbox_.get(), *event, stmts);
    db_->write<order_record>(
        self, std::move(stmts),
        [rec, fx](std::vector<store::rows>& rows) -> caf::expected<order_record> {
          if (rows.front().affected() != 1)
            return make_error(errc::version_conflict, "order " + rec.id + " changed meanwhile");
          fx->read(rows);
          auto stored = rec;
          stored.version += 1;
          return stored;
        },
        [fx, done = std::move(done)](caf::expected<order_record> stored) {
          if (stored)
            fx->run();
          done(std::move(stored));
        });
  }

  void list(caf::event_based_actor* self, order_query q,
            reply<std::vector<order_record>> done) override {
    db_->run<std::vector<order_record>>(
        self,
        [q](pqxx::connection_base& c) -> caf::expected<std::vector<order_record>> {
          prepare_all(c);
          pqxx::nontransaction tx{c};
          auto rows = tx.exec_prepared(
              "order_list", q.user_id, q.status ? to_string(*q.status) : "",
              q.before ? q.before->first : int64_t{-1},
              q.before ? q.before->second : std::string{"00000000-0000-0000-0000-000000000000"},
              static_cast<int64_t>(q.limit));
          std::vector<order_record> out;
          for (const auto& row : rows)
            out.push_back(from_row(row));
          return out;
        },
        std::move(done));
  }

  // No index covers the status (it would make the confirming update a non-HOT one), so
  // the sweep walks orders by creation time from a low-water mark instead of all of them:
  // the oldest unfinished order it saw, or, with none, a margin behind the cut-off for
  // inserts still in flight and clocks apart. The first sweep of a process and every
  // `full_sweep_every`-th walk everything, for orders another node sent back to work
  // below this node's mark (a cancel after confirmation whose node then died).
  void unfinished(caf::event_based_actor* self, int64_t before_ms, size_t limit,
                  reply<std::vector<std::string>> done) override {
    auto full = sweep_->count++ % full_sweep_every == 0;
    db_->run<std::vector<std::string>>(
        self,
        [before_ms, limit, full,
         sweep = sweep_](pqxx::connection_base& c) -> caf::expected<std::vector<std::string>> {
          prepare_all(c);
          pqxx::nontransaction tx{c};
          std::vector<std::string> out;
          auto from = full ? int64_t{0} : sweep->mark.load();
          auto next_mark = before_ms - sweep_margin_ms;
          auto rows =
              tx.exec_prepared("order_unfinished", from, before_ms, static_cast<int64_t>(limit));
          for (const auto& row : rows) {
            next_mark = std::min(next_mark, row[2].as<int64_t>());
            if (row[1].as<bool>())
              out.push_back(row[0].as<std::string>());
          }
          // A partial walk leaves alone a mark an update lowered meanwhile.
          auto was = sweep->mark.load();
          if ((full || was == from) && next_mark != was)
            sweep->mark.compare_exchange_strong(was, next_mark);
          return out;
        },
        std::move(done));
  }

private:
  // How far behind the sweep's cut-off the mark stays when nothing is unfinished.
  static constexpr int64_t sweep_margin_ms = 60'000;
  // One sweep in this many walks every order (every 5 min at the 2 s default interval).
  static constexpr uint64_t full_sweep_every = 150;

  // Where the recovery sweep starts: every order created before `mark` (ms) is final.
  struct sweep_state {
    std::atomic<int64_t> mark{0};
    std::atomic<uint64_t> count{0};
  };

  std::shared_ptr<store::database> db_;
  std::shared_ptr<sweep_state> sweep_ = std::make_shared<sweep_state>();
  std::shared_ptr<const events::outbox> outbox_;
};

} // namespace

std::shared_ptr<order_repository>
make_postgres_order_repository(std::shared_ptr<store::database> db,
                               std::shared_ptr<const events::outbox> outbox) {
  return std::make_shared<postgres_orders>(std::move(db), std::move(outbox));
}

} // namespace troupe::order
