#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace troupe::store {

/// One schema change, applied at most once per database, in version order.
struct migration {
  /// Unique ordering key; applied versions are recorded in `troupe_schema_migrations`.
  int version = 0;
  /// Short human-readable name, recorded next to the version.
  std::string name;
  /// The statements to run, all in one transaction together with the version's row.
  std::string sql;
};

/// Advisory lock key that serializes migrations across every node sharing a database.
inline constexpr int64_t migration_lock_key = 0x74726f757065; // "troupe"

/// Applies the versions of `migrations` missing from the database, each in its own transaction
/// and all under one advisory lock, so concurrent callers apply each version once; idempotent.
caf::error migrate(pqxx::connection_base& conn, const std::vector<migration>& migrations);

} // namespace troupe::store
