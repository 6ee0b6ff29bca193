// The user domain's SQL, all of it. Every statement is prepared once per connection.

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/events/outbox.hpp"
#include "troupe/store/database.hpp"
#include "troupe/store/migrations.hpp"
#include "troupe/store/prepared.hpp"
#include "troupe/user/repository.hpp"

namespace troupe::user {

namespace {

constexpr const char* columns = "id::text, email, password_hash, display_name, role, version, "
                                "(extract(epoch from created_at) * 1000)::bigint, "
                                "(extract(epoch from updated_at) * 1000)::bigint";

const std::string select_by_id = std::string{"SELECT "} + columns + " FROM users WHERE id = $1";
const std::string select_by_email =
    std::string{"SELECT "} + columns + " FROM users WHERE email = $1";
const std::string insert_user =
    "INSERT INTO users (id, email, password_hash, display_name, role, version, created_at, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, 1, to_timestamp($6 / 1000.0), "
    "to_timestamp($7 / 1000.0))";
const std::string update_user =
    "UPDATE users SET password_hash = $3, display_name = $4, role = $5, version = version + 1, "
    "updated_at = to_timestamp($6 / 1000.0) WHERE id = $1 AND version = $2";
const std::string delete_user = "DELETE FROM users WHERE id = $1 AND version = $2";

user_record from_row(const pqxx::row& row) {
  user_record r;
  r.id = row[0].as<std::string>();
  r.email = row[1].as<std::string>();
  r.password_hash = row[2].as<std::string>();
  r.display_name = row[3].as<std::string>();
  r.role = row[4].as<std::string>();
  r.version = row[5].as<uint64_t>();
  r.created_at_ms = row[6].as<int64_t>();
  r.updated_at_ms = row[7].as<int64_t>();
  return r;
}

void prepare_all(pqxx::connection_base& c) {
  store::prepare_once(c, "user_by_id", select_by_id);
  store::prepare_once(c, "user_by_email", select_by_email);
  store::prepare_once(c, "user_insert", insert_user);
  store::prepare_once(c, "user_update", update_user);
  store::prepare_once(c, "user_delete", delete_user);
}

caf::expected<user_record> one(const pqxx::result& rows) {
  if (rows.empty())
    return make_error(errc::no_such_record, "no such user");
  return from_row(rows[0]);
}

class postgres_repository final : public user_repository {
public:
  postgres_repository(std::shared_ptr<store::database> db,
                      std::shared_ptr<const events::outbox> outbox)
      : db_(std::move(db)), outbox_(std::move(outbox)) {}

  void load(caf::event_based_actor* self, const std::string& id, reply<user_record> done) override {
    // A malformed id can never name a row; answering "no such user" keeps it out of SQL.
    if (!is_uuid(id))
      return done(make_error(errc::no_such_record, "no such user"));
    db_->run<user_record>(
        self,
        [id](pqxx::connection_base& c) -> caf::expected<user_record> {
          prepare_all(c);
          pqxx::nontransaction tx{c};
          return one(tx.exec_prepared("user_by_id", id));
        },
        std::move(done));
  }

  void find_by_email(caf::event_based_actor* self, const std::string& email,
                     reply<user_record> done) override {
    db_->run<user_record>(
        self,
        [email](pqxx::connection_base& c) -> caf::expected<user_record> {
          prepare_all(c);
          pqxx::nontransaction tx{c};
          return one(tx.exec_prepared("user_by_email", email));
        },
        std::move(done));
  }

  void insert(caf::event_based_actor* self, user_record rec, reply<user_record> done) override {
    auto fx = std::make_shared<events::effects>();
    // The event id is fixed here: a step run again appends the same event.
    events::event registered{random_uuid(), "user", rec.id, "user.registered",
                             nlohmann::json{{"user_id", rec.id},
                                            {"email", rec.email},
                                            {"display_name", rec.display_name}}
                                 .dump()};
    db_->write<user_record>(
        self,
        [rec, registered, fx,
         box = outbox_](pqxx::transaction_base& tx) mutable -> caf::expected<user_record> {
          prepare_all(tx.conn());
          tx.exec_prepared("user_insert", rec.id, rec.email, rec.password_hash, rec.display_name,
                           rec.role, rec.created_at_ms, rec.updated_at_ms);
          // Told to the rest of the system exactly when the user exists (e.g. a welcome).
          fx->append(box.get(), tx, registered);
          rec.version = 1;
          return rec;
        },
        [fx, done = std::move(done)](caf::expected<user_record> stored) {
          if (stored)
            fx->run();
          done(std::move(stored));
        });
  }

  void update(caf::event_based_actor* self, user_record rec, reply<user_record> done) override {
    db_->write<user_record>(
        self,
        [rec](pqxx::transaction_base& tx) mutable -> caf::expected<user_record> {
          prepare_all(tx.conn());
          auto res = tx.exec_prepared("user_update", rec.id, rec.version, rec.password_hash,
                                      rec.display_name, rec.role, rec.updated_at_ms);
          if (res.affected_rows() != 1)
            return make_error(errc::version_conflict, "user " + rec.id + " changed meanwhile");
          rec.version += 1;
          return rec;
        },
        std::move(done));
  }

  void remove(caf::event_based_actor* self, const std::string& id, uint64_t version,
              reply<bool> done) override {
    db_->write<bool>(
        self,
        [id, version](pqxx::transaction_base& tx) -> caf::expected<bool> {
          prepare_all(tx.conn());
          auto res = tx.exec_prepared("user_delete", id, version);
          if (res.affected_rows() != 1)
            return make_error(errc::version_conflict, "user " + id + " changed meanwhile");
          return true;
        },
        std::move(done));
  }

private:
  std::shared_ptr<store::database> db_;
  std::shared_ptr<const events::outbox> outbox_;
};

} // namespace

std::shared_ptr<user_repository>
make_postgres_user_repository(std::shared_ptr<store::database> db,
                              std::shared_ptr<const events::outbox> outbox) {
  return std::make_shared<postgres_repository>(std::move(db), std::move(outbox));
}

} // namespace troupe::user
