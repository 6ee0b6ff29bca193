#include "invariants.hpp"

#include "checks.hpp"

namespace troupe::chaos_harness {

namespace {

// How long sagas still running and events still in the outbox get to settle.
constexpr std::int64_t settle_ms = 30'000;

std::int64_t figure(const nlohmann::json& figures, const char* name) {
  auto i = figures.find(name);
  return i != figures.end() && i->is_number_integer() ? i->get<std::int64_t>() : 0;
}

} // namespace

bool check_invariants(run_record& run, const std::string& db_url) {
  auto& figures = run.figures;
  count_operations(run, figures);
  std::string why;
  auto db = load_snapshot(db_url, settle_ms, why);
  if (db) {
    run.invariants.push_back(check_orders(run, *db, figures));
    run.invariants.push_back(check_stock(run, *db, figures));
    run.invariants.push_back(check_notifications(*db, figures));
    run.invariants.push_back(check_writes(run, *db, figures));
  } else {
    for (const char* name : {"acknowledged_orders_final", "stock_conserved",
                             "one_notification_per_event_channel", "no_acknowledged_write_lost"})
      run.invariants.push_back({name, false, "the database could not be read: " + why});
  }
  run.invariants.push_back(check_reads(run, figures));
  run.invariants.push_back(check_errors(run, figures));
  run.invariants.push_back(check_converged(run));
  measure_kill_windows(run, figures);
  figures["lost_operations"] = figure(figures, "orders_lost") +
                               figure(figures, "registrations_lost") +
                               figure(figures, "writes_lost");
  bool all = true;
  for (const auto& r : run.invariants)
    all = all && r.passed;
  return all;
}

} // namespace troupe::chaos_harness
