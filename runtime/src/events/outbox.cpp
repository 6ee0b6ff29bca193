#include "troupe/events/outbox.hpp"

#include <algorithm>

#include <pqxx/pqxx>

#include "troupe/store/prepared.hpp"

namespace troupe::events {

namespace {

bool wants(const std::vector<std::string>& types, const std::string& type) {
  return types.empty() || std::find(types.begin(), types.end(), type) != types.end();
}

void insert(pqxx::transaction_base& tx, const event& e, bool delivered) {
  store::prepare_once(tx.conn(), "troupe_outbox_append",
                      "insert into troupe_outbox (event_id, stream, stream_key, type, payload,"
                      " delivered_at) values ($1::uuid, $2, $3, $4, $5::jsonb,"
                      " case when $6 then now() end)");
  tx.exec_prepared("troupe_outbox_append", e.event_id, e.stream, e.stream_key, e.type,
                   e.payload_json, delivered);
}

} // namespace

void append(pqxx::transaction_base& tx, const event& e) {
  insert(tx, e, false);
}

bool claim(pqxx::transaction_base& tx, const std::string& consumer, const std::string& event_id) {
  store::prepare_once(tx.conn(), "troupe_consumed_claim",
                      "insert into troupe_consumed (consumer, event_id) values ($1, $2::uuid)"
                      " on conflict do nothing");
  // A concurrent claimer waits on the primary key until we commit or roll back, so exactly
  // one committed transaction ever sees a row inserted here.
  return tx.exec_prepared("troupe_consumed_claim", consumer, event_id).affected_rows() == 1;
}

void outbox::add_inline(inline_consumer c) {
  inline_.push_back(std::move(c));
}

void outbox::add_relayed(std::vector<std::string> types) {
  relayed_.push_back(std::move(types));
}

after_commit outbox::append(pqxx::transaction_base& tx, const event& e) const {
  bool relayed = std::any_of(relayed_.begin(), relayed_.end(),
                             [&](const auto& types) { return wants(types, e.type); });
  insert(tx, e, !relayed);
  std::vector<after_commit> then;
  for (const auto& c : inline_)
    if (wants(c.types, e.type))
      if (auto next = c.apply(tx, e))
        then.push_back(std::move(next));
  if (then.empty())
    return {};
  if (then.size() == 1)
    return std::move(then.front());
  return [then = std::move(then)] {
    for (const auto& f : then)
      f();
  };
}

void effects::append(const outbox* box, pqxx::transaction_base& tx, const event& e) {
  after_commit next;
  if (box != nullptr)
    next = box->append(tx, e);
  else
    events::append(tx, e);
  auto same = std::find_if(then_.begin(), then_.end(),
                           [&](const auto& kept) { return kept.first == e.event_id; });
  if (same != then_.end())
    same->second = std::move(next);
  else
    then_.emplace_back(e.event_id, std::move(next));
}

void effects::run() const {
  for (const auto& [id, next] : then_)
    if (next)
      next();
}

} // namespace troupe::events
