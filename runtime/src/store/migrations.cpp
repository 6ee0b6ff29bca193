#include "troupe/store/migrations.hpp"

#include <algorithm>
#include <map>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "store/pqxx_errors.hpp"
#include "troupe/core/error.hpp"

namespace troupe::store {

namespace {

const std::string lock_sql = "select pg_advisory_lock(" + std::to_string(migration_lock_key) + ")";
const std::string unlock_sql =
    "select pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")";

// Releases the session-level advisory lock on every way out; a lost connection releases it
// on the server anyway, so a failure here is only logged.
class advisory_lock {
public:
  explicit advisory_lock(pqxx::connection_base& conn) : conn_(conn) {
    pqxx::nontransaction tx{conn_};
    tx.exec(lock_sql);
  }

  ~advisory_lock() {
    try {
      pqxx::nontransaction tx{conn_};
      tx.exec(unlock_sql);
    } catch (const std::exception& ex) {
      spdlog::warn("store: releasing the migration lock failed: {}", ex.what());
    }
  }

  advisory_lock(const advisory_lock&) = delete;
  advisory_lock& operator=(const advisory_lock&) = delete;

private:
  pqxx::connection_base& conn_;
};

std::map<int, std::string> applied_versions(pqxx::connection_base& conn) {
  pqxx::work tx{conn};
  tx.exec("create table if not exists troupe_schema_migrations ("
          "version int primary key, name text not null, "
          "applied_at timestamptz not null default now())");
  std::map<int, std::string> result;
  for (const auto& row : tx.exec("select version, name from troupe_schema_migrations"))
    result.emplace(row[0].as<int>(), row[1].as<std::string>());
  tx.commit();
  return result;
}

void apply(pqxx::connection_base& conn, const migration& m) {
  pqxx::work tx{conn};
  // A schema change may legitimately take longer than any query of the running service.
  tx.exec("set local statement_timeout = 0");
  tx.exec(m.sql);
  tx.exec_params("insert into troupe_schema_migrations (version, name) values ($1, $2)", m.version,
                 m.name);
  tx.commit();
}

} // namespace

caf::error migrate(pqxx::connection_base& conn, const std::vector<migration>& migrations) {
  std::vector<const migration*> ordered;
  for (const auto& m : migrations)
    ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(),
            [](const migration* a, const migration* b) { return a->version < b->version; });
  for (size_t i = 1; i < ordered.size(); ++i)
    if (ordered[i - 1]->version == ordered[i]->version)
      return make_error(errc::invalid_argument,
                        "duplicate migration version " + std::to_string(ordered[i]->version));
  const migration* current = nullptr;
  try {
    advisory_lock lock{conn};
    auto applied = applied_versions(conn);
    for (const auto* m : ordered) {
      if (auto i = applied.find(m->version); i != applied.end()) {
        if (i->second != m->name)
          spdlog::warn("store: migration {} was applied as '{}' but is now named '{}'", m->version,
                       i->second, m->name);
        continue;
      }
      current = m;
      apply(conn, *m);
      spdlog::info("store: applied migration {} ({})", m->version, m->name);
    }
    return caf::none;
  } catch (...) {
    bool broken = false;
    auto err = detail::map_current_exception(broken);
    if (current == nullptr)
      return err;
    // Name the migration, or an operator has to guess which SQL failed.
    auto text = describe(err);
    auto detail = text.substr(text.find(": ") == std::string::npos ? 0 : text.find(": ") + 2);
    return make_error(static_cast<errc>(err.code()), "migration " +
                                                         std::to_string(current->version) + " (" +
                                                         current->name + "): " + detail);
  }
}

} // namespace troupe::store
