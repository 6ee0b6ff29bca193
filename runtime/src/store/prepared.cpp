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

std::string array_literal(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (auto v : values) {
    if (out.size() > 1)
      out += ',';
    out += std::to_string(v);
  }
  return out + '}';
}

std::string array_literal(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1)
      out += ',';
    // Quoted, every element is a string as it stands (even "NULL" or empty) once its
    // quotes and backslashes are escaped.
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + '}';
}

} // namespace troupe::store
