#include "troupe/store/prepared.hpp"

#include <pqxx/connection_base>

#include "store/session.hpp"

namespace troupe::store {

namespace detail {

namespace {

thread_local session* current = nullptr;

} // namespace

session* current_session() noexcept {
  return current;
}

void set_current_session(session* s) noexcept {
  current = s;
}

} // namespace detail

void prepare_once(pqxx::connection_base& conn, const std::string& name, const std::string& sql) {
  auto* s = detail::current_session();
  if (s != nullptr && s->conn == &conn) {
    if (s->prepared.count(name) != 0)
      return;
    conn.prepare(name, sql);
    s->prepared.insert(name);
    return;
  }
  // Outside a database job (tests, tools): libpqxx accepts an identical redefinition.
  conn.prepare(name, sql);
}

} // namespace troupe::store
