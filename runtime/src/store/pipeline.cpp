#include "store/pipeline.hpp"

#include <string>

#include <stdexcept>

#include <libpq-fe.h>
#include <pqxx/except>
#include <pqxx/prepared_statement>
#include <pqxx/result>
#include <pqxx/transaction_base>

#include "store/pqxx_errors.hpp"
#include "store/session.hpp"
#include "troupe/store/prepared.hpp"

namespace troupe::store {

rows::rows(void* result) : result_(result, [](void* r) { PQclear(static_cast<PGresult*>(r)); }) {}

rows::rows(std::vector<std::optional<std::string>> cells, size_t width, size_t affected)
    : cells_(std::move(cells)), width_(width), affected_(affected) {}

namespace {

PGresult* pg(const std::shared_ptr<void>& r) {
  return static_cast<PGresult*>(r.get());
}

} // namespace

size_t rows::size() const {
  if (!result_)
    return width_ == 0 ? 0 : cells_.size() / width_;
  return static_cast<size_t>(PQntuples(pg(result_)));
}

size_t rows::affected() const {
  if (!result_)
    return affected_;
  const char* tag = PQcmdTuples(pg(result_));
  return tag[0] == '\0' ? 0 : std::stoul(tag);
}

bool rows::null(size_t row, size_t col) const {
  if (!result_)
    return !cells_.at(row * width_ + col).has_value();
  return PQgetisnull(pg(result_), static_cast<int>(row), static_cast<int>(col)) == 1;
}

std::string_view rows::text(size_t row, size_t col) const {
  if (!result_) {
    const auto& cell = cells_.at(row * width_ + col);
    return cell ? std::string_view{*cell} : std::string_view{};
  }
  auto i = static_cast<int>(row);
  auto j = static_cast<int>(col);
  return {PQgetvalue(pg(result_), i, j), static_cast<size_t>(PQgetlength(pg(result_), i, j))};
}

int64_t rows::int64(size_t row, size_t col) const {
  return null(row, col) ? 0 : std::stoll(std::string{text(row, col)});
}

namespace detail {

namespace {

[[noreturn]] void lost(PGconn* conn, const char* what) {
  throw pqxx::broken_connection{std::string{what} + ": " +
                                (conn != nullptr ? PQerrorMessage(conn) : "no connection")};
}

PGconn* usable(session& s) {
  auto* conn = static_cast<PGconn*>(s.raw != nullptr ? *s.raw : nullptr);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK)
    lost(conn, "connection lost");
  return conn;
}

// The one result of the next command in the pipeline (libpq ends each with a null).
PGresult* next_result(PGconn* conn) {
  PGresult* r = PQgetResult(conn);
  if (r == nullptr)
    lost(conn, "pipeline ended early");
  if (PGresult* extra = PQgetResult(conn); extra != nullptr) {
    PQclear(extra);
    PQclear(r);
    lost(conn, "a command answered twice");
  }
  return r;
}

// A failed result's error, as a libpqxx exception carrying it would map.
caf::error error_of(PGconn* conn, PGresult* r, std::string& sqlstate) {
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  sqlstate = state != nullptr ? state : "";
  bool broken = false;
  auto err = map_sqlstate(sqlstate, PQresultErrorMessage(r), broken);
  if (broken || PQstatus(conn) != CONNECTION_OK) {
    PQclear(r);
    lost(conn, "statement failed");
  }
  return err;
}

bool ok(PGresult* r) {
  auto st = PQresultStatus(r);
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

} // namespace

pipeline_result run_pipeline(session& s, std::string_view lead,
                             const std::vector<const statement*>& stmts) {
  PGconn* conn = usable(s);
  if (PQenterPipelineMode(conn) != 1)
    lost(conn, "cannot enter pipeline mode");
  // What was sent, in order: the lead, then per statement an optional PREPARE and the
  // statement itself; a query's PREPARE is sent once even if several statements use it.
  enum class sent { lead, prepare, statement };
  std::vector<sent> order;
  std::vector<const query*> preparing;
  if (!lead.empty()) {
    if (PQsendQueryParams(conn, std::string{lead}.c_str(), 0, nullptr, nullptr, nullptr, nullptr,
                          0) != 1)
      lost(conn, "cannot send");
    order.push_back(sent::lead);
  }
  std::vector<const char*> values;
  for (const auto* st : stmts) {
    const auto& q = *st->sql;
    bool known = s.raw_prepared.count(q.name) != 0;
    for (const auto* p : preparing)
      known = known || p->name == q.name;
    if (!known) {
      if (PQsendPrepare(conn, q.name.c_str(), q.sql.c_str(), 0, nullptr) != 1)
        lost(conn, "cannot send");
      order.push_back(sent::prepare);
      preparing.push_back(&q);
    }
    values.clear();
    for (const auto& p : st->params)
      values.push_back(p ? p->c_str() : nullptr);
    if (PQsendQueryPrepared(conn, q.name.c_str(), static_cast<int>(values.size()), values.data(),
                            nullptr, nullptr, 0) != 1)
      lost(conn, "cannot send");
    order.push_back(sent::statement);
  }
  if (PQpipelineSync(conn) != 1)
    lost(conn, "cannot send");

  pipeline_result out;
  out.failed = stmts.size();
  size_t prepared = 0;
  for (auto what : order) {
    PGresult* r = next_result(conn);
    auto st = PQresultStatus(r);
    if (st == PGRES_PIPELINE_ABORTED) { // skipped after an earlier failure
      PQclear(r);
      continue;
    }
    if (!ok(r)) {
      auto err = error_of(conn, r, out.sqlstate);
      PQclear(r);
      if (what == sent::lead) // BEGIN refused: nothing to trust on this connection
        lost(conn, "pipeline lead failed");
      out.failed = out.rows.size();
      out.error = std::move(err);
      if (what == sent::prepare)
        ++prepared;
      continue;
    }
    if (what == sent::prepare)
      s.raw_prepared.insert(preparing[prepared++]->name);
    if (what == sent::statement)
      out.rows.emplace_back(r);
    else
      PQclear(r);
  }
  PGresult* sync = PQgetResult(conn);
  bool synced = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  if (sync != nullptr)
    PQclear(sync);
  if (!synced || PQexitPipelineMode(conn) != 1)
    lost(conn, "pipeline did not end cleanly");
  return out;
}

void run_command(session& s, const char* sql) {
  PGconn* conn = usable(s);
  PGresult* r = PQexec(conn, sql);
  if (r != nullptr && ok(r)) {
    PQclear(r);
    return;
  }
  bool commit = std::string_view{sql} == "COMMIT";
  if (r == nullptr || PQstatus(conn) != CONNECTION_OK) {
    if (r != nullptr)
      PQclear(r);
    if (commit)
      throw pqxx::in_doubt_error{std::string{"COMMIT: "} + PQerrorMessage(conn)};
    lost(conn, sql);
  }
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  std::string what = PQresultErrorMessage(r);
  std::string code = state != nullptr ? state : "";
  PQclear(r);
  throw pqxx::sql_error{what, sql, code.c_str()};
}

} // namespace detail

std::vector<rows> execute(pqxx::transaction_base& tx, const std::vector<statement>& stmts) {
  auto* s = detail::current_session();
  if (s == nullptr || s->conn != &tx.conn()) {
    // Outside a database job (tests, tools): one statement after another through libpqxx.
    std::vector<rows> out;
    for (const auto& st : stmts) {
      prepare_once(tx.conn(), st.sql->name, st.sql->sql);
      std::vector<const char*> values;
      for (const auto& p : st.params)
        values.push_back(p ? p->c_str() : nullptr);
      auto r = tx.exec_prepared(st.sql->name, pqxx::prepare::make_dynamic_params(values));
      std::vector<std::optional<std::string>> cells;
      for (const auto& row : r)
        for (const auto& field : row)
          cells.push_back(field.is_null() ? std::nullopt
                                          : std::optional<std::string>{field.c_str()});
      out.emplace_back(std::move(cells), r.columns(), r.affected_rows());
    }
    return out;
  }
  std::vector<const statement*> all;
  for (const auto& st : stmts)
    all.push_back(&st);
  auto out = detail::run_pipeline(*s, {}, all);
  if (out.failed < stmts.size()) {
    // As libpqxx would throw it, so a step's error handling treats both alike.
    const auto& name = stmts[out.failed].sql->name;
    if (out.sqlstate == "23505")
      throw pqxx::unique_violation{to_string(out.error), name, out.sqlstate.c_str()};
    throw pqxx::sql_error{to_string(out.error), name, out.sqlstate.c_str()};
  }
  return std::move(out.rows);
}

} // namespace troupe::store
