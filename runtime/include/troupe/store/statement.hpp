#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace pqxx {
class transaction_base;
} // namespace pqxx

namespace troupe::store {

/// SQL that a connection prepares once, on first use, under `name`. Names share one namespace
/// with `prepare_once` on the same connection: give each query a name of its own. Keep queries
/// in static storage; statements point at them.
struct query {
  std::string name;
  std::string sql;
};

/// One execution of a query, with its parameters as PostgreSQL text (nullopt is NULL).
///
/// A write made of statements (see `database::write`) is sent together with the rest of its
/// batch in one round trip, so its statements cannot depend on each other's answers from the
/// client side: put what depends on a row into the SQL (a writable CTE, a WHERE).
struct statement {
  const query* sql = nullptr;
  std::vector<std::optional<std::string>> params;
};

/// Parameter text of a value, as PostgreSQL reads it from a text-format parameter.
inline std::optional<std::string> param(std::string v) {
  return v;
}
inline std::optional<std::string> param(const char* v) {
  return std::string{v};
}
inline std::optional<std::string> param(bool v) {
  return std::string{v ? "t" : "f"};
}
template <class T, class = std::enable_if_t<std::is_integral_v<T>>>
std::optional<std::string> param(T v) {
  return std::to_string(v);
}
template <class T>
std::optional<std::string> param(const std::optional<T>& v) {
  return v ? param(*v) : std::nullopt;
}

/// Returns a statement of `q` with `args` as its parameters, in order.
template <class... Ts>
statement bind(const query& q, Ts&&... args) {
  return statement{&q, {param(std::forward<Ts>(args))...}};
}

/// What one statement gave back: its rows, as text, and how many rows it wrote.
class rows {
public:
  /// Wraps a libpq result (a `PGresult*`), which it then owns.
  explicit rows(void* result);
  /// Holds a copy: `cells` row after row, `width` to a row, and the rows written.
  rows(std::vector<std::optional<std::string>> cells, size_t width, size_t affected);

  /// Rows returned (by a SELECT or a RETURNING clause).
  size_t size() const;
  bool empty() const { return size() == 0; }
  /// Rows inserted, updated or deleted, as the command tag says.
  size_t affected() const;
  /// Whether the field at `row`, `col` is NULL.
  bool null(size_t row, size_t col) const;
  /// The field at `row`, `col` as text; empty for NULL.
  std::string_view text(size_t row, size_t col) const;
  /// The field at `row`, `col` read as an integer; 0 for NULL.
  int64_t int64(size_t row, size_t col) const;

private:
  // One of the two: a libpq result, or a copy.
  std::shared_ptr<void> result_;
  std::vector<std::optional<std::string>> cells_;
  size_t width_ = 0;
  size_t affected_ = 0;
};

/// Runs `stmts` inside `tx` in one round trip and returns their rows, for a write step that
/// shares statements with writes made of statements (e.g. the outbox's). Throws as libpqxx
/// would for a failed statement or a lost connection. Only inside a `database` job.
std::vector<rows> execute(pqxx::transaction_base& tx, const std::vector<statement>& stmts);

} // namespace troupe::store
