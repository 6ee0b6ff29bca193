// The invariants that compare what clients were told with what the database holds.

#include <algorithm>
#include <set>

#include "checks.hpp"
#include "json_fields.hpp"
#include "offenders.hpp"
#include "profile_seq.hpp"

namespace troupe::chaos_harness {

namespace {

using json = nlohmann::json;

bool acknowledged(const operation& op) {
  return op.status >= 200 && op.status < 300;
}

std::vector<std::string> channels_of(const std::string& type) {
  if (type == "user.registered" || type == "order.cancelled")
    return {"email"};
  if (type == "order.confirmed")
    return {"email", "push"};
  if (type == "order.rejected")
    return {"email", "sms"};
  return {};
}

bool accepts(const db_snapshot::prefs_row& p, const std::string& channel) {
  return channel == "email" ? p.email : channel == "push" ? p.push : p.sms;
}

} // namespace

bool is_final_order_status(const std::string& status) {
  return status == "confirmed" || status == "rejected" || status == "cancelled";
}

invariant_result check_orders(const run_record& run, const db_snapshot& db, json& figures) {
  std::map<std::string, const db_snapshot::order_row*> by_id;
  for (const auto& o : db.orders)
    by_id[o.id] = &o;
  std::map<std::string, std::set<std::string>> ids_by_key;
  std::set<std::string> acked;
  std::set<std::string> cancelled;
  for (const auto& op : run.operations) {
    auto id = text_field(op.detail, "order_id");
    if (op.kind == "create_order" && acknowledged(op) && !id.empty()) {
      acked.insert(id);
      ids_by_key[text_field(op.detail, "user_id") + " " + text_field(op.detail, "idempotency_key")]
          .insert(id);
    } else if (op.kind == "cancel_order" && op.status == 200 &&
               text_field(op.detail, "status_answered") == "cancelled") {
      cancelled.insert(op.key);
    }
  }
  std::map<std::string, int> confirmations;
  std::set<std::pair<std::string, std::string>> events;
  for (const auto& e : db.events) {
    events.emplace(e.order_id, e.type);
    if (e.type == "order.confirmed")
      ++confirmations[e.order_id];
  }
  offenders lost, unfinished, doubled, reverted, twice, silent;
  std::int64_t final_count = 0;
  for (const auto& id : acked) {
    auto i = by_id.find(id);
    if (i == by_id.end())
      lost.add("order " + id + " is not in the database");
    else if (!is_final_order_status(i->second->status))
      unfinished.add("order " + id + " is still " + i->second->status);
    else
      ++final_count;
  }
  for (const auto& [key, ids] : ids_by_key)
    if (ids.size() > 1)
      doubled.add("key " + key.substr(key.find(' ') + 1) + " answered " +
                  std::to_string(ids.size()) + " orders");
  for (const auto& id : cancelled)
    if (auto i = by_id.find(id); i != by_id.end() && i->second->status != "cancelled")
      reverted.add("order " + id + " was answered cancelled but is " + i->second->status);
  for (const auto& [id, n] : confirmations)
    if (n > 1)
      twice.add("order " + id + " confirmed " + std::to_string(n) + " times");
  for (const auto& o : db.orders)
    if (is_final_order_status(o.status) && !events.count({o.id, "order." + o.status}))
      silent.add("order " + o.id + " is " + o.status + " without its event");

  figures["orders_acknowledged"] = acked.size();
  figures["orders_final"] = final_count;
  figures["orders_lost"] = lost.count();
  figures["orders_unfinished"] = unfinished.count();
  figures["orders_in_database"] = db.orders.size();
  auto bad = lost.count() + unfinished.count() + doubled.count() + reverted.count() +
             twice.count() + silent.count();
  invariant_result r{"acknowledged_orders_final", bad == 0, {}};
  r.detail = std::to_string(final_count) + " of " + std::to_string(acked.size()) +
             " acknowledged orders are final; " + std::to_string(lost.count()) + " missing" +
             lost.first() + ", " + std::to_string(unfinished.count()) + " unfinished" +
             unfinished.first() + ", " + std::to_string(doubled.count()) +
             " keys with several orders" + doubled.first() + ", " +
             std::to_string(reverted.count()) + " acknowledged cancels undone" + reverted.first() +
             ", " + std::to_string(twice.count()) + " confirmed twice" + twice.first() + ", " +
             std::to_string(silent.count()) + " final without their event" + silent.first() + ".";
  return r;
}

invariant_result check_stock(const run_record& run, const db_snapshot& db, json& figures) {
  // What each SKU was stocked with: the last acknowledged absolute set.
  std::map<std::string, std::pair<micros, std::int64_t>> stocked;
  for (const auto& op : run.operations)
    if (op.kind == "put_stock" && op.status == 200) {
      auto& s = stocked[op.key];
      if (op.answered >= s.first)
        s = {op.answered, int_field(op.detail, "on_hand", 0)};
    }
  std::map<std::string, std::int64_t> confirmed, in_flight;
  for (const auto& o : db.orders)
    for (const auto& [sku, q] : o.lines) {
      if (o.status == "confirmed")
        confirmed[sku] += q;
      else if (!is_final_order_status(o.status))
        in_flight[sku] += q;
    }
  offenders off;
  std::int64_t sold = 0;
  for (const auto& [sku, s] : stocked) {
    auto i = db.stock.find(sku);
    if (i == db.stock.end()) {
      off.add(sku + " has no stock row");
      continue;
    }
    const auto& row = i->second;
    auto want = s.second - confirmed[sku];
    sold += confirmed[sku];
    if (row.on_hand != want)
      off.add(sku + " has " + std::to_string(row.on_hand) + " on hand, " +
              std::to_string(s.second) + " stocked - " + std::to_string(confirmed[sku]) +
              " confirmed = " + std::to_string(want));
    if (row.taken != confirmed[sku])
      off.add(sku + " has " + std::to_string(row.taken) + " units taken for " +
              std::to_string(confirmed[sku]) + " confirmed");
    if (row.reserved != row.held)
      off.add(sku + " has " + std::to_string(row.reserved) + " reserved but holds " +
              std::to_string(row.held));
    if (row.reserved > in_flight[sku])
      off.add(sku + " has " + std::to_string(row.reserved) + " reserved for " +
              std::to_string(in_flight[sku]) + " units in unfinished orders");
    if (row.on_hand < 0 || row.reserved < 0 || row.reserved > row.on_hand)
      off.add(sku + " is negative (" + std::to_string(row.on_hand) + " on hand, " +
              std::to_string(row.reserved) + " reserved)");
  }
  figures["units_confirmed"] = sold;
  invariant_result r{"stock_conserved", off.count() == 0, {}};
  r.detail = stocked.empty() ? "no SKU was stocked, nothing to check."
                             : std::to_string(stocked.size()) + " SKUs, " + std::to_string(sold) +
                                   " units confirmed; " + std::to_string(off.count()) +
                                   " discrepancies" + off.first() + ".";
  return r;
}

invariant_result check_notifications(const db_snapshot& db, json& figures) {
  offenders dup, missing, ignored, orphan;
  std::int64_t duplicates = 0;
  std::set<std::string> known;
  for (const auto& e : db.events) {
    known.insert(e.event_id);
    if (!e.delivered)
      continue;
    auto p = db.prefs.count(e.user_id) ? db.prefs.at(e.user_id) : db_snapshot::prefs_row{};
    // A choice made before the event was written applied to it; one made after it may
    // or may not have (the event could still be waiting in the outbox).
    bool certain = p.updated < e.created;
    for (const auto& ch : channels_of(e.type)) {
      auto i = db.notifications.find({e.event_id, ch});
      auto n = i == db.notifications.end() ? 0 : i->second;
      if (n > 1) {
        duplicates += n - 1;
        dup.add(e.type + " " + e.event_id + " over " + ch + " x" + std::to_string(n));
      }
      if (n == 0 && accepts(p, ch))
        missing.add(e.type + " " + e.event_id + " has no " + ch);
      else if (n > 0 && certain && !accepts(p, ch))
        ignored.add(e.type + " " + e.event_id + " went over " + ch + ", which user " + e.user_id +
                    " turned off");
    }
  }
  for (const auto& [key, n] : db.notifications)
    if (!known.count(key.first))
      orphan.add(key.second + " notification of unknown event " + key.first);
  figures["duplicate_notifications"] = duplicates;
  figures["notifications_missing"] = missing.count();
  figures["notifications_despite_opt_out"] = ignored.count();
  figures["events_checked"] = db.events.size();
  figures["events_undelivered"] = db.undelivered_events;
  auto bad =
      dup.count() + missing.count() + ignored.count() + orphan.count() + db.undelivered_events;
  invariant_result r{"one_notification_per_event_channel", bad == 0, {}};
  r.detail = std::to_string(db.events.size()) + " events: " + std::to_string(duplicates) +
             " duplicate notifications" + dup.first() + ", " + std::to_string(missing.count()) +
             " missing" + missing.first() + ", " + std::to_string(ignored.count()) +
             " despite an opt-out" + ignored.first() + ", " + std::to_string(orphan.count()) +
             " without an event" + orphan.first() + ", " + std::to_string(db.undelivered_events) +
             " events still undelivered.";
  return r;
}

invariant_result check_writes(const run_record& run, const db_snapshot& db, json& figures) {
  struct history {
    std::int64_t last_acked = -1;
    std::set<std::int64_t> sent;
  };
  std::map<std::string, history> users;
  offenders lost_users, lost_writes, unknown;
  std::int64_t registrations = 0, writes = 0;
  for (const auto& op : run.operations) {
    if (op.kind == "register" && op.status == 201) {
      auto id = text_field(op.detail, "user_id");
      ++registrations;
      auto& h = users[id];
      h.sent.insert(0);
      h.last_acked = std::max<std::int64_t>(h.last_acked, 0);
      if (!db.users.count(id))
        lost_users.add("user " + id + " (" + text_field(op.detail, "email") +
                       ") was registered at " + seconds(op.answered) + " and is gone");
    } else if (op.kind == "update_profile") {
      auto seq = int_field(op.detail, "seq", -1);
      auto& h = users[op.key];
      h.sent.insert(0);
      h.sent.insert(seq);
      if (op.status == 200) {
        ++writes;
        h.last_acked = std::max(h.last_acked, seq);
      }
    }
  }
  for (const auto& [id, h] : users) {
    auto i = db.users.find(id);
    if (i == db.users.end() || h.last_acked < 0)
      continue; // a lost registration is counted above; no acknowledged write, no claim
    auto seq = seq_in(i->second);
    if (!seq || !h.sent.count(*seq))
      unknown.add("user " + id + " is named \"" + i->second + "\", which no client wrote");
    else if (*seq < h.last_acked)
      lost_writes.add("user " + id + " holds seq " + std::to_string(*seq) + " after seq " +
                      std::to_string(h.last_acked) + " was acknowledged");
  }
  figures["registrations_acknowledged"] = registrations;
  figures["registrations_lost"] = lost_users.count();
  figures["writes_acknowledged"] = writes;
  figures["writes_lost"] = lost_writes.count() + unknown.count();
  auto bad = lost_users.count() + lost_writes.count() + unknown.count();
  invariant_result r{"no_acknowledged_write_lost", bad == 0, {}};
  r.detail = std::to_string(registrations) + " acknowledged registrations, " +
             std::to_string(lost_users.count()) + " lost" + lost_users.first() + "; " +
             std::to_string(writes) + " acknowledged profile writes over " +
             std::to_string(users.size()) + " users, " + std::to_string(lost_writes.count()) +
             " users lost their last one" + lost_writes.first() + ", " +
             std::to_string(unknown.count()) + " hold a value never written" + unknown.first() +
             ".";
  return r;
}

} // namespace troupe::chaos_harness
