// Reads what the checks need from the campaign's database, once it has settled.

#include <chrono>
#include <thread>

#include <pqxx/pqxx>

#include "checks.hpp"

namespace troupe::chaos_harness {

namespace {

using json = nlohmann::json;

const char* const consumed_types =
    "('user.registered', 'order.confirmed', 'order.rejected', 'order.cancelled')";

std::pair<std::int64_t, std::int64_t> backlog(pqxx::connection& c) {
  pqxx::nontransaction tx{c};
  auto orders = tx.exec1("SELECT count(*) FROM orders WHERE status NOT IN "
                         "('confirmed', 'rejected', 'cancelled')");
  auto events =
      tx.exec1(std::string{"SELECT count(*) FROM troupe_outbox WHERE delivered_at IS NULL "
                           "AND type IN "} +
               consumed_types);
  return {orders[0].as<std::int64_t>(), events[0].as<std::int64_t>()};
}

void read_orders(pqxx::transaction_base& tx, db_snapshot& out) {
  for (const auto& row : tx.exec("SELECT id::text, user_id::text, status, idempotency_key, "
                                 "items::text FROM orders")) {
    db_snapshot::order_row o{row[0].as<std::string>(),
                             row[1].as<std::string>(),
                             row[2].as<std::string>(),
                             row[3].as<std::string>(),
                             {}};
    auto items = json::parse(row[4].as<std::string>(), nullptr, false);
    if (items.is_array())
      for (const auto& i : items)
        if (i.is_object() && i.contains("sku") && i["sku"].is_string() && i.contains("quantity") &&
            i["quantity"].is_number_integer())
          o.lines[i["sku"].get<std::string>()] += i["quantity"].get<std::int64_t>();
    out.orders.push_back(std::move(o));
  }
}

void read_stock(pqxx::transaction_base& tx, db_snapshot& out) {
  for (const auto& row : tx.exec("SELECT sku, on_hand, reserved FROM stock")) {
    auto& s = out.stock[row[0].as<std::string>()];
    s.on_hand = row[1].as<std::int64_t>();
    s.reserved = row[2].as<std::int64_t>();
  }
  for (const auto& row : tx.exec("SELECT sku, state, sum(quantity) FROM stock_reservations "
                                 "WHERE state IN ('held', 'taken') GROUP BY sku, state")) {
    auto& s = out.stock[row[0].as<std::string>()];
    (row[1].as<std::string>() == "held" ? s.held : s.taken) = row[2].as<std::int64_t>();
  }
}

void read_notifications(pqxx::transaction_base& tx, db_snapshot& out) {
  for (const auto& row :
       tx.exec(std::string{"SELECT event_id::text, type, coalesce(payload->>'user_id', ''), "
                           "coalesce(payload->>'order_id', ''), "
                           "(extract(epoch FROM created_at) * 1000000)::bigint, "
                           "delivered_at IS NOT NULL FROM troupe_outbox WHERE type IN "} +
               consumed_types))
    out.events.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                          row[2].as<std::string>(), row[3].as<std::string>(),
                          row[4].as<std::int64_t>(), row[5].as<bool>()});
  for (const auto& row :
       tx.exec("SELECT event_id, channel, count(*) FROM notifications GROUP BY event_id, channel"))
    out.notifications[{row[0].as<std::string>(), row[1].as<std::string>()}] =
        row[2].as<std::int64_t>();
  for (const auto& row : tx.exec("SELECT user_id::text, email, push, sms, "
                                 "(extract(epoch FROM updated_at) * 1000000)::bigint "
                                 "FROM notification_preferences"))
    out.prefs[row[0].as<std::string>()] = {row[1].as<bool>(), row[2].as<bool>(), row[3].as<bool>(),
                                           row[4].as<std::int64_t>()};
}

} // namespace

std::optional<db_snapshot> load_snapshot(const std::string& db_url, std::int64_t limit_ms,
                                         std::string& why) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
  std::pair<std::int64_t, std::int64_t> left{-1, -1};
  // Sagas still running and events still in the outbox are given until the deadline; the
  // database itself may be coming back from a restart, so failures are retried too.
  for (;;) {
    try {
      pqxx::connection c{db_url};
      left = backlog(c);
      while ((left.first > 0 || left.second > 0) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        left = backlog(c);
      }
      db_snapshot out;
      out.unfinished_orders = left.first;
      out.undelivered_events = left.second;
      pqxx::read_transaction tx{c};
      read_orders(tx, out);
      read_stock(tx, out);
      for (const auto& row : tx.exec("SELECT id::text, display_name FROM users"))
        out.users[row[0].as<std::string>()] = row[1].as<std::string>();
      read_notifications(tx, out);
      return out;
    } catch (const std::exception& ex) {
      why = ex.what();
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

} // namespace troupe::chaos_harness
