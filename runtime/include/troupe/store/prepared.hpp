#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace troupe::store {

/// Prepares statement `name` on `conn` unless this connection already has it; call it in every
/// job before `exec_prepared`, so a fresh connection after a reconnect gets it again.
void prepare_once(pqxx::connection_base& conn, const std::string& name, const std::string& sql);

/// Formats `values` as a PostgreSQL array literal, e.g. "{1,2}", for a parameter cast with
/// `$n::bigint[]`: libpqxx 6 binds no arrays, and one statement over many rows beats a
/// statement per row.
std::string array_literal(const std::vector<int64_t>& values);

/// Formats `values` as a PostgreSQL array literal of quoted elements, e.g. {"a","b\"c"}, for a
/// parameter cast with `$n::text[]` or `$n::uuid[]`; any string survives the round trip.
std::string array_literal(const std::vector<std::string>& values);

} // namespace troupe::store
