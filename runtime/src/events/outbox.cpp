#include "troupe/events/outbox.hpp"

#include <pqxx/pqxx>

#include "troupe/store/prepared.hpp"

namespace troupe::events {

void append(pqxx::transaction_base& tx, const event& e) {
  store::prepare_once(tx.conn(), "troupe_outbox_append",
                      "insert into troupe_outbox (event_id, stream, stream_key, type, payload)"
                      " values ($1::uuid, $2, $3, $4, $5::jsonb)");
  tx.exec_prepared("troupe_outbox_append", e.event_id, e.stream, e.stream_key, e.type,
                   e.payload_json);
}

bool claim(pqxx::transaction_base& tx, const std::string& consumer, const std::string& event_id) {
  store::prepare_once(tx.conn(), "troupe_consumed_claim",
                      "insert into troupe_consumed (consumer, event_id) values ($1, $2::uuid)"
                      " on conflict do nothing");
  // A concurrent claimer waits on the primary key until we commit or roll back, so exactly
  // one committed transaction ever sees a row inserted here.
  return tx.exec_prepared("troupe_consumed_claim", consumer, event_id).affected_rows() == 1;
}

} // namespace troupe::events
