// The notification SQL, all of it; every statement is prepared once per connection.

#include <algorithm>
#include <optional>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "troupe/core/clock.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/notification/consumer.hpp"
#include "troupe/notification/store.hpp"
#include "troupe/store/database.hpp"
#include "troupe/store/prepared.hpp"
#include "troupe/store/statement.hpp"

namespace troupe::notification {

namespace {

// An email's address is looked up when it is read: the event that taught it (the user's
// registration) may be relayed after an order event of the same user.
constexpr const char* columns =
    "id::text, event_id, channel, user_id::text, CASE WHEN channel = 'email' THEN COALESCE("
    "(SELECT c.email FROM notification_contacts c WHERE c.user_id = notifications.user_id), "
    "recipient) ELSE recipient END, subject, body, status, attempts, "
    "last_error, (extract(epoch from created_at) * 1000)::bigint, "
    "(extract(epoch from updated_at) * 1000)::bigint";

// The columns of `columns` as an INSERT's RETURNING gives them (the row holds the recipient).
constexpr const char* returned =
    "id::text, event_id, channel, user_id::text, recipient, subject, body, status, attempts, "
    "last_error, (extract(epoch from created_at) * 1000)::bigint, "
    "(extract(epoch from updated_at) * 1000)::bigint";

// Every channel of an event the user accepts, in one statement: without an address on file
// the user id stands in as the recipient (push and SMS reach the user's registered devices
// through the provider). $3 is the event's own address, if it carries one. `claimed`: the
// rows are born claimed for $7 ms by the dispatcher of the writing node, and returned.
std::string add_sql(bool claimed) {
  return std::string{
             "INSERT INTO notifications (id, event_id, channel, user_id, recipient, subject, "
             "body, status, next_attempt_at, created_at, updated_at, claimed_until) "
             "SELECT gen_random_uuid(), $1, ch.channel, $2::uuid, "
             "CASE WHEN ch.channel = 'email' THEN COALESCE(NULLIF($3, ''), c.email, 'user:' || "
             "$2) ELSE 'user:' || $2 END, $4, $5, 'pending', now(), now(), now(), "} +
         (claimed ? "now() + $7 * interval '1 millisecond' " : "NULL ") +
         "FROM unnest($6::text[]) AS ch (channel) "
         "LEFT JOIN notification_preferences p ON p.user_id = $2::uuid "
         "LEFT JOIN notification_contacts c ON c.user_id = $2::uuid "
         "WHERE CASE ch.channel WHEN 'email' THEN COALESCE(p.email, true) "
         "WHEN 'push' THEN COALESCE(p.push, true) ELSE COALESCE(p.sms, true) END "
         "ON CONFLICT (event_id, channel) DO NOTHING" +
         (claimed ? std::string{" RETURNING "} + returned : std::string{});
}

// The writes on the order path: sent with their batch in one round trip (see
// store::statement).
const store::query contact_put{"contact_put",
                               "INSERT INTO notification_contacts (user_id, email) VALUES ($1, $2) "
                               "ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email"};
const store::query notification_add{"notification_add", add_sql(false)};
const store::query notification_add_claimed{"notification_add_claimed", add_sql(true)};
const store::query notification_sent{
    "notification_sent", "UPDATE notifications SET status = 'sent', attempts = attempts + 1, "
                         "last_error = '', claimed_until = NULL, updated_at = now() "
                         "WHERE id = ANY($1::uuid[])"};

void prepare_all(pqxx::connection_base& c) {
  store::prepare_once(c, "prefs_get",
                      "SELECT email, push, sms FROM notification_preferences WHERE user_id = $1");
  store::prepare_once(c, "prefs_put",
                      "INSERT INTO notification_preferences (user_id, email, push, sms, "
                      "updated_at) VALUES ($1, $2, $3, $4, now()) ON CONFLICT (user_id) DO UPDATE "
                      "SET email = $2, push = $3, sms = $4, updated_at = now()");
  // SKIP LOCKED: dispatchers on several nodes each take different rows.
  store::prepare_once(c, "notification_claim",
                      std::string{"UPDATE notifications SET claimed_until = now() + $2 * "
                                  "interval '1 millisecond' WHERE id IN (SELECT id FROM "
                                  "notifications WHERE status IN ('pending', 'failed') AND "
                                  "next_attempt_at <= now() AND (claimed_until IS NULL OR "
                                  "claimed_until < now()) ORDER BY next_attempt_at LIMIT $1 FOR "
                                  "UPDATE SKIP LOCKED) RETURNING "} +
                          columns);
  store::prepare_once(c, "notification_failed",
                      "UPDATE notifications SET status = $3, attempts = attempts + 1, "
                      "last_error = $2, claimed_until = NULL, updated_at = now(), "
                      "next_attempt_at = now() + $4 * interval '1 millisecond' WHERE id = $1");
  store::prepare_once(c, "notification_list",
                      std::string{"SELECT "} + columns +
                          " FROM notifications WHERE user_id = $1 ORDER BY created_at DESC, id "
                          "LIMIT $2");
}

// A record from the fields of `columns`, `field(i)` giving field i as text.
template <class Field>
notification_record record_of(Field field) {
  notification_record r;
  r.id = field(0);
  r.event_id = field(1);
  r.channel = parse_channel(field(2)).value_or(channel::email);
  r.user_id = field(3);
  r.recipient = field(4);
  r.subject = field(5);
  r.body = field(6);
  auto s = field(7);
  r.status = s == "sent"     ? delivery_status::sent
             : s == "failed" ? delivery_status::failed
             : s == "dead"   ? delivery_status::dead
                             : delivery_status::pending;
  r.attempts = static_cast<uint32_t>(std::stoul(field(8)));
  r.last_error = field(9);
  r.created_at_ms = std::stoll(field(10));
  r.updated_at_ms = std::stoll(field(11));
  return r;
}

notification_record from_row(const pqxx::row& row) {
  return record_of([&](int i) { return row[i].as<std::string>(); });
}

std::vector<notification_record> records_of(const store::rows& rows) {
  std::vector<notification_record> out;
  for (size_t r = 0; r < rows.size(); ++r)
    out.push_back(record_of([&](size_t i) { return std::string{rows.text(r, i)}; }));
  return out;
}

// The statements that record the contact `n` carries and create its notifications; `claim`:
// born claimed for that long, and returned by the last statement.
std::vector<store::statement> add_notices(const notice& n,
                                          std::optional<std::chrono::milliseconds> claim) {
  std::vector<store::statement> out;
  if (!n.email.empty())
    out.push_back(store::bind(contact_put, n.user_id, n.email));
  std::vector<std::string> channels;
  for (auto ch : n.channels)
    channels.push_back(to_string(ch));
  if (!claim)
    out.push_back(store::bind(notification_add, n.event_id, n.user_id, n.email, n.subject, n.body,
                              store::array_literal(channels)));
  else
    out.push_back(store::bind(notification_add_claimed, n.event_id, n.user_id, n.email, n.subject,
                              n.body, store::array_literal(channels),
                              static_cast<int64_t>(claim->count())));
  return out;
}

preferences prefs_of(pqxx::transaction_base& tx, const std::string& user_id) {
  preferences p{user_id};
  auto rows = tx.exec_prepared("prefs_get", user_id);
  if (!rows.empty()) {
    p.email = rows[0][0].as<bool>();
    p.push = rows[0][1].as<bool>();
    p.sms = rows[0][2].as<bool>();
  }
  return p;
}

class postgres_store final : public notification_store {
public:
  explicit postgres_store(std::shared_ptr<store::database> db) : db_(std::move(db)) {}

  void record(caf::event_based_actor* self, notice n, reply<size_t> done) override {
    if (!is_uuid(n.user_id))
      return done(make_error(errc::invalid_argument, "event without a user id"));
    db_->write<size_t>(
        self, add_notices(n, std::nullopt),
        [](std::vector<store::rows>& rows) -> caf::expected<size_t> {
          return rows.back().affected();
        },
        std::move(done));
  }

  void claim_due(caf::event_based_actor* self, size_t limit, std::chrono::milliseconds lease,
                 reply<std::vector<notification_record>> done) override {
    db_->write<std::vector<notification_record>>(
        self,
        [limit,
         lease](pqxx::transaction_base& tx) -> caf::expected<std::vector<notification_record>> {
          prepare_all(tx.conn());
          std::vector<notification_record> out;
          for (const auto& row : tx.exec_prepared("notification_claim", static_cast<int64_t>(limit),
                                                  static_cast<int64_t>(lease.count())))
            out.push_back(from_row(row));
          return out;
        },
        std::move(done));
  }

  void mark_sent(caf::event_based_actor* self, std::vector<std::string> ids,
                 reply<size_t> done) override {
    // Claimed rows only ever carry ids this store made; anything else names no row.
    ids.erase(std::remove_if(ids.begin(), ids.end(), [](const auto& id) { return !is_uuid(id); }),
              ids.end());
    db_->write<size_t>(
        self, {store::bind(notification_sent, store::array_literal(ids))},
        [](std::vector<store::rows>& rows) -> caf::expected<size_t> {
          return rows.front().affected();
        },
        std::move(done));
  }

  void mark_failed(caf::event_based_actor* self, std::string id, std::string error, bool dead,
                   std::chrono::milliseconds retry_in, reply<bool> done) override {
    db_->write<bool>(
        self,
        [id, error, dead, retry_in](pqxx::transaction_base& tx) -> caf::expected<bool> {
          prepare_all(tx.conn());
          tx.exec_prepared("notification_failed", id, error, dead ? "dead" : "failed",
                           static_cast<int64_t>(retry_in.count()));
          return true;
        },
        std::move(done));
  }

  void preferences_of(caf::event_based_actor* self, std::string user_id,
                      reply<preferences> done) override {
    db_->run<preferences>(
        self,
        [user_id](pqxx::connection_base& c) -> caf::expected<preferences> {
          prepare_all(c);
          pqxx::nontransaction tx{c};
          return prefs_of(tx, user_id);
        },
        std::move(done));
  }

  void set_preferences(caf::event_based_actor* self, preferences p,
                       reply<preferences> done) override {
    db_->write<preferences>(
        self,
        [p](pqxx::transaction_base& tx) -> caf::expected<preferences> {
          prepare_all(tx.conn());
          tx.exec_prepared("prefs_put", p.user_id, p.email, p.push, p.sms);
          return p;
        },
        std::move(done));
  }

  void list(caf::event_based_actor* self, std::string user_id, size_t limit,
            reply<std::vector<notification_record>> done) override {
    db_->run<std::vector<notification_record>>(
        self,
        [user_id,
         limit](pqxx::connection_base& c) -> caf::expected<std::vector<notification_record>> {
          prepare_all(c);
          pqxx::nontransaction tx{c};
          std::vector<notification_record> out;
          for (const auto& row :
               tx.exec_prepared("notification_list", user_id, static_cast<int64_t>(limit)))
            out.push_back(from_row(row));
          return out;
        },
        std::move(done));
  }

private:
  std::shared_ptr<store::database> db_;
};

} // namespace

std::shared_ptr<notification_store>
make_postgres_notification_store(std::shared_ptr<store::database> db) {
  return std::make_shared<postgres_store>(std::move(db));
}

events::inline_consumer inline_notifications(std::chrono::milliseconds lease,
                                             std::shared_ptr<handoff> to) {
  events::inline_consumer c;
  c.name = "notifications";
  c.types = notice_types();
  c.apply = [lease, to](const events::event& e) -> events::planned {
    auto n = notice_for(e);
    if (!n || !is_uuid(n->user_id)) {
      // Nothing to tell, or no one to tell it to: a retry would not change that.
      spdlog::error("notifications: event {} ({}) has no usable payload", e.event_id, e.type);
      return {};
    }
    return {add_notices(*n, lease), [to](std::vector<store::rows>& rows) -> events::after_commit {
              auto born = records_of(rows.back());
              if (born.empty() || !to)
                return {};
              return [to, born = std::move(born)]() mutable { to->push(std::move(born)); };
            }};
  };
  return c;
}

} // namespace troupe::notification
