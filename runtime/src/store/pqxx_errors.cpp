#include "store/pqxx_errors.hpp"

#include <exception>
#include <string>

#include <pqxx/except>

#include "troupe/core/error.hpp"

namespace troupe::store::detail {

namespace {

// Class 08 is "connection exception"; 57P01..57P05 are the server shutting down or crashing.
bool connection_lost(const std::string& sqlstate) {
  return sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("57P", 0) == 0;
}

} // namespace

caf::error map_sqlstate(const std::string& state, const std::string& what, bool& broken) {
  if (state == "23505") // unique_violation
    return make_error(errc::already_exists, what);
  if (state == "57014") // query_canceled: statement_timeout fired
    return make_error(errc::store_timeout, what);
  // Serialization failures and deadlocks go away when the caller retries.
  if (state == "40001" || state == "40P01")
    return make_error(errc::store_unavailable, what);
  if (connection_lost(state)) {
    broken = true;
    return make_error(errc::store_unavailable, what);
  }
  return make_error(errc::store_failure, what);
}

caf::error map_current_exception(bool& broken) {
  try {
    throw;
  } catch (const pqxx::broken_connection& ex) {
    broken = true;
    return make_error(errc::store_unavailable, ex.what());
  } catch (const pqxx::in_doubt_error& ex) {
    // The commit may or may not have happened; the connection is gone either way.
    broken = true;
    return make_error(errc::store_unavailable, std::string{"commit outcome unknown: "} + ex.what());
  } catch (const pqxx::transaction_rollback& ex) {
    // Serialization failures and deadlocks go away when the caller retries.
    return make_error(errc::store_unavailable, ex.what());
  } catch (const pqxx::unique_violation& ex) {
    return make_error(errc::already_exists, ex.what());
  } catch (const pqxx::sql_error& ex) {
    return map_sqlstate(ex.sqlstate(), ex.what(), broken);
  } catch (const std::exception& ex) {
    return make_error(errc::store_failure, ex.what());
  } catch (...) {
    return make_error(errc::store_failure, "unknown exception");
  }
}

} // namespace troupe::store::detail
