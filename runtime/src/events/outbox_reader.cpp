#include "events/outbox_reader.hpp"

#include <string>

#include <pqxx/pqxx>

#include "troupe/store/prepared.hpp"

namespace troupe::events::detail {

namespace {

void prepare_all(pqxx::connection_base& conn) {
  // Idempotent, so a mark repeated after a lost response changes nothing.
  store::prepare_once(conn, "troupe_outbox_mark",
                      "update troupe_outbox set delivered_at = now()"
                      " where id = any($1::bigint[]) and delivered_at is null");
  store::prepare_once(conn, "troupe_outbox_stats",
                      "select count(*), coalesce(extract(epoch from now() - min(created_at)), 0)"
                      "::float8 from troupe_outbox where delivered_at is null");
  // Only the head of each key can be delivered next; later events of a key wait behind it.
  store::prepare_once(conn, "troupe_outbox_heads",
                      "select id, event_id::text, stream, stream_key, type, payload::text from"
                      " (select distinct on (stream, stream_key) * from troupe_outbox"
                      "  where delivered_at is null order by stream, stream_key, id) heads"
                      " order by id limit $1");
}

} // namespace

caf::expected<poll_result> mark_and_poll(pqxx::connection_base& conn,
                                         const std::vector<int64_t>& delivered, size_t limit) {
  prepare_all(conn);
  pqxx::work tx{conn};
  if (!delivered.empty())
    tx.exec_prepared("troupe_outbox_mark", store::array_literal(delivered));
  poll_result result;
  auto stats = tx.exec_prepared1("troupe_outbox_stats");
  result.pending = stats[0].as<int64_t>();
  result.lag_seconds = stats[1].as<double>();
  for (const auto& row : tx.exec_prepared("troupe_outbox_heads", static_cast<int64_t>(limit))) {
    outbox_row r;
    r.id = row[0].as<int64_t>();
    r.ev.event_id = row[1].as<std::string>();
    r.ev.stream = row[2].as<std::string>();
    r.ev.stream_key = row[3].as<std::string>();
    r.ev.type = row[4].as<std::string>();
    r.ev.payload_json = row[5].as<std::string>();
    result.heads.push_back(std::move(r));
  }
  tx.commit();
  return result;
}

} // namespace troupe::events::detail
