#pragma once

#include <string>

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace troupe::store {

/// Prepares statement `name` on `conn` unless this connection already has it; call it in every
/// job before `exec_prepared`, so a fresh connection after a reconnect gets it again.
void prepare_once(pqxx::connection_base& conn, const std::string& name, const std::string& sql);

} // namespace troupe::store
