#include "troupe/events/outbox.hpp"

#include <algorithm>
#include <iterator>

#include <pqxx/pqxx>

#include "troupe/store/prepared.hpp"

namespace troupe::events {

namespace {

const store::query outbox_append{
    "troupe_outbox_append",
    "insert into troupe_outbox (event_id, stream, stream_key, type, payload, delivered_at)"
    " values ($1::uuid, $2, $3, $4, $5::jsonb, case when $6::boolean then now() end)"};

bool wants(const std::vector<std::string>& types, const std::string& type) {
  return types.empty() || std::find(types.begin(), types.end(), type) != types.end();
}

store::statement insert(const event& e, bool delivered) {
  return store::bind(outbox_append, e.event_id, e.stream, e.stream_key, e.type, e.payload_json,
                     delivered);
}

// The rows `count` statements from `first` on gave back.
std::vector<store::rows> slice(std::vector<store::rows>& all, size_t first, size_t count) {
  return {std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(first)),
          std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(first + count))};
}

} // namespace

void append(pqxx::transaction_base& tx, const event& e) {
  store::execute(tx, {insert(e, false)});
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

planned outbox::plan(const event& e) const {
  bool relayed = std::any_of(relayed_.begin(), relayed_.end(),
                             [&](const auto& types) { return wants(types, e.type); });
  planned out;
  out.statements.push_back(insert(e, !relayed));
  // Each consumer's part: how many statements, and what reads their rows.
  std::vector<std::pair<size_t, std::function<after_commit(std::vector<store::rows>&)>>> parts;
  for (const auto& c : inline_) {
    if (!wants(c.types, e.type))
      continue;
    auto part = c.apply(e);
    parts.emplace_back(part.statements.size(), std::move(part.then));
    for (auto& st : part.statements)
      out.statements.push_back(std::move(st));
  }
  if (parts.empty())
    return out;
  out.then = [parts = std::move(parts)](std::vector<store::rows>& all) -> after_commit {
    std::vector<after_commit> then;
    size_t at = 1; // past the outbox row
    for (const auto& [count, read] : parts) {
      auto mine = slice(all, at, count);
      at += count;
      if (read)
        if (auto next = read(mine))
          then.push_back(std::move(next));
    }
    if (then.empty())
      return {};
    if (then.size() == 1)
      return std::move(then.front());
    return [then = std::move(then)] {
      for (const auto& f : then)
        f();
    };
  };
  return out;
}

after_commit outbox::append(pqxx::transaction_base& tx, const event& e) const {
  auto p = plan(e);
  auto rows = store::execute(tx, p.statements);
  return p.then ? p.then(rows) : after_commit{};
}

void effects::plan(const outbox* box, const event& e, std::vector<store::statement>& stmts) {
  auto p = box != nullptr ? box->plan(e) : planned{{insert(e, false)}, {}};
  pending_.push_back({e.event_id, stmts.size(), p.statements.size(), std::move(p.then)});
  for (auto& st : p.statements)
    stmts.push_back(std::move(st));
}

void effects::read(std::vector<store::rows>& all) {
  for (const auto& p : pending_) {
    auto mine = slice(all, p.first, p.count);
    keep(p.event_id, p.then ? p.then(mine) : after_commit{});
  }
}

void effects::append(const outbox* box, pqxx::transaction_base& tx, const event& e) {
  if (box == nullptr) {
    events::append(tx, e);
    return keep(e.event_id, {});
  }
  keep(e.event_id, box->append(tx, e));
}

void effects::keep(const std::string& event_id, after_commit next) {
  auto same = std::find_if(then_.begin(), then_.end(),
                           [&](const auto& kept) { return kept.first == event_id; });
  if (same != then_.end())
    same->second = std::move(next);
  else
    then_.emplace_back(event_id, std::move(next));
}

void effects::run() const {
  for (const auto& [id, next] : then_)
    if (next)
      next();
}

} // namespace troupe::events
