#include "troupe/events/relay.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <exception>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "events/outbox_reader.hpp"
#include "troupe/core/error.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/store/database.hpp"

namespace troupe::events {

namespace {

using tick_atom = caf::atom_constant<caf::atom("evTick")>;
using ack_atom = caf::atom_constant<caf::atom("evAck")>;
using expire_atom = caf::atom_constant<caf::atom("evExpire")>;

using clock_type = caf::actor_clock::clock_type;

// One event between its dispatch and the commit of its mark.
struct flight {
  event ev;
  std::string key;
  // Tells acks and timeouts of an earlier attempt of the same row apart from this one.
  uint64_t generation = 0;
  std::set<std::string> awaiting;
  // Consumers that acked this row, in this or an earlier attempt; they are not asked again.
  std::set<std::string> done;
  bool failed = false;
  // Every consumer acked; only the mark is missing.
  bool acked = false;
};

// Why the head of a key is held back after a failed attempt.
struct key_retry {
  int64_t head_id = 0;
  unsigned failures = 0;
  clock_type::time_point not_before;
  std::set<std::string> done;
};

class relay_actor : public caf::event_based_actor {
public:
  relay_actor(caf::actor_config& cfg, relay_config rc)
      : caf::event_based_actor(cfg), cfg_(std::move(rc)) {
    // A private registry keeps the hot path free of null checks when nobody scrapes.
    if (!cfg_.metrics)
      cfg_.metrics = std::make_shared<observability::registry>();
    auto& m = *cfg_.metrics;
    pending_ =
        &m.gauges("troupe_outbox_pending", "Undelivered outbox events at the last poll.").with({});
    lag_ = &m.gauges("troupe_outbox_lag_seconds", "Age of the oldest undelivered outbox event.")
                .with({});
    delivered_ = &m.counters("troupe_outbox_delivered_total",
                             "Outbox events delivered to every subscriber and marked.", {"type"});
    failures_ =
        &m.counters("troupe_outbox_delivery_failures_total",
                    "Outbox deliveries a subscriber failed or did not ack in time.", {"consumer"});
    // Each consumer's series exists at 0 from the start, so rate() sees the first failure.
    for (const auto& sub : cfg_.subscriptions)
      failures_->with({sub.consumer});
  }

  caf::behavior make_behavior() override {
    send(this, tick_atom::value);
    return {
        [this](tick_atom) {
          if (!cfg_.active || cfg_.active())
            cycle();
          delayed_send(this, cfg_.poll_interval, tick_atom::value);
        },
        [this](ack_atom, int64_t id, uint64_t generation, const std::string& consumer,
               const caf::error& err) { on_ack(id, generation, consumer, err); },
        [this](expire_atom, int64_t id, uint64_t generation) { on_expire(id, generation); },
    };
  }

private:
  // Runs the one database job of the relay, unless it is already running: serial jobs mean a
  // poll never sees a row as undelivered after the relay saw its mark commit.
  void cycle() {
    if (busy_)
      return;
    busy_ = true;
    std::vector<int64_t> marking;
    for (auto& [id, f] : in_flight_)
      if (f.acked)
        marking.push_back(id);
    // Heads held by flights or backoff must not crowd out the `batch` fresh ones.
    size_t limit = cfg_.batch + in_flight_.size() + retries_.size();
    cfg_.db->run<detail::poll_result>(
        this,
        [marking, limit](pqxx::connection_base& conn) {
          return detail::mark_and_poll(conn, marking, limit);
        },
        [this, marking, limit](caf::expected<detail::poll_result> result) {
          busy_ = false;
          if (!result) {
            on_store_error(result.error());
            return;
          }
          on_polled(std::move(*result), marking, limit);
        });
  }

  void on_store_error(const caf::error& err) {
    // A flapping store would flood the log; one line per outage is enough.
    if (!store_down_)
      spdlog::warn("outbox relay: store unavailable, retrying every poll: {}", describe(err));
    store_down_ = true;
  }

  void on_polled(detail::poll_result result, const std::vector<int64_t>& marked, size_t limit) {
    if (store_down_)
      spdlog::info("outbox relay: store reachable again");
    store_down_ = false;
    for (auto id : marked) {
      auto i = in_flight_.find(id);
      assert(i != in_flight_.end() && i->second.acked); // acked flights wait for their mark
      delivered_->with({i->second.ev.type}).inc();
      in_flight_.erase(i);
    }
    pending_->set(result.pending);
    lag_->set(static_cast<int64_t>(result.lag_seconds));
    auto now = clock().now();
    std::unordered_set<std::string> keys;
    for (auto& row : result.heads) {
      auto key = key_of(row.ev);
      keys.insert(key);
      if (in_flight_.count(row.id) != 0)
        continue;
      if (auto r = retries_.find(key); r != retries_.end()) {
        if (r->second.head_id != row.id)
          retries_.erase(r); // the held head was delivered elsewhere, e.g. by an older relay
        else if (now < r->second.not_before)
          continue;
      }
      if (in_flight_.size() >= cfg_.batch)
        break;
      dispatch(std::move(row));
    }
    // With a complete view, a held key missing from it has no undelivered events left.
    if (result.heads.size() < limit)
      std::erase_if(retries_, [&](const auto& kv) { return keys.count(kv.first) == 0; });
    for (auto& [id, f] : in_flight_)
      if (f.acked) {
        cycle(); // acks arrived while the job ran; confirm them without waiting for a tick
        break;
      }
  }

  void dispatch(detail::outbox_row row) {
    flight f;
    f.key = key_of(row.ev);
    f.generation = ++generation_;
    if (auto r = retries_.find(f.key); r != retries_.end() && r->second.head_id == row.id)
      f.done = r->second.done;
    for (auto& sub : cfg_.subscriptions)
      if (matches(sub, row.ev.type) && f.done.count(sub.consumer) == 0)
        f.awaiting.insert(sub.consumer);
    f.ev = std::move(row.ev);
    auto id = row.id;
    auto generation = f.generation;
    auto targets = f.awaiting;
    auto ev = f.ev;
    in_flight_.emplace(id, std::move(f));
    if (targets.empty()) {
      settle(id);
      return;
    }
    delayed_send(this, cfg_.ack_timeout, expire_atom::value, id, generation);
    for (auto& sub : cfg_.subscriptions) {
      if (targets.count(sub.consumer) == 0)
        continue;
      auto ack = make_ack(id, generation, sub.consumer);
      try {
        sub.deliver(this, ev, ack);
      } catch (const std::exception& e) {
        ack(make_error(errc::invalid_argument, "deliver threw: " + std::string{e.what()}));
      }
    }
  }

  // Acks travel as messages, so a subscriber may call them from any thread at any time.
  ack_fn make_ack(int64_t id, uint64_t generation, std::string consumer) {
    auto once = std::make_shared<std::atomic<bool>>(false);
    return
        [addr = address(), id, generation, consumer = std::move(consumer), once](caf::error err) {
          if (once->exchange(true))
            return;
          if (auto hdl = caf::actor_cast<caf::actor>(addr))
            caf::anon_send(hdl, ack_atom::value, id, generation, consumer, std::move(err));
        };
  }

  void on_ack(int64_t id, uint64_t generation, const std::string& consumer, const caf::error& err) {
    auto i = in_flight_.find(id);
    if (i == in_flight_.end() || i->second.generation != generation)
      return; // a late ack of an attempt that already timed out
    auto& f = i->second;
    if (f.awaiting.erase(consumer) == 0)
      return;
    if (err) {
      f.failed = true;
      failures_->with({consumer}).inc();
      spdlog::warn("outbox relay: {} failed event {} ({}): {}", consumer, f.ev.event_id, f.ev.type,
                   describe(err));
    } else {
      f.done.insert(consumer);
    }
    if (f.awaiting.empty())
      settle(id);
  }

  void on_expire(int64_t id, uint64_t generation) {
    auto i = in_flight_.find(id);
    if (i == in_flight_.end() || i->second.generation != generation || i->second.awaiting.empty())
      return;
    auto& f = i->second;
    for (auto& consumer : f.awaiting) {
      failures_->with({consumer}).inc();
      spdlog::warn("outbox relay: {} did not ack event {} ({}) in time", consumer, f.ev.event_id,
                   f.ev.type);
    }
    f.awaiting.clear();
    f.failed = true;
    settle(id);
  }

  // Called once no consumer is awaited: either the row is ready to mark or its key backs off.
  void settle(int64_t id) {
    auto i = in_flight_.find(id);
    auto& f = i->second;
    if (f.failed) {
      auto& r = retries_[f.key];
      if (r.head_id != id)
        r = key_retry{id, 0, {}, {}};
      ++r.failures;
      r.done = std::move(f.done);
      r.not_before = clock().now() + backoff(r.failures);
      in_flight_.erase(i);
      return;
    }
    retries_.erase(f.key);
    f.acked = true;
    cycle();
  }

  caf::timespan backoff(unsigned failures) const {
    auto delay = cfg_.retry_initial;
    for (unsigned n = 1; n < failures && delay < cfg_.retry_max; ++n)
      delay *= 2;
    return std::min(delay, cfg_.retry_max);
  }

  static bool matches(const subscription& sub, const std::string& type) {
    if (sub.types.empty())
      return true;
    return std::find(sub.types.begin(), sub.types.end(), type) != sub.types.end();
  }

  static std::string key_of(const event& ev) {
    // NUL cannot occur in PostgreSQL text, so the pair maps to one key unambiguously.
    std::string key = ev.stream;
    key += '\0';
    key += ev.stream_key;
    return key;
  }

  relay_config cfg_;
  observability::gauge* pending_ = nullptr;
  observability::gauge* lag_ = nullptr;
  observability::family<observability::counter>* delivered_ = nullptr;
  observability::family<observability::counter>* failures_ = nullptr;
  std::map<int64_t, flight> in_flight_;
  std::unordered_map<std::string, key_retry> retries_;
  uint64_t generation_ = 0;
  bool busy_ = false;
  bool store_down_ = false;
};

caf::error validate(const relay_config& cfg) {
  if (!cfg.db)
    return make_error(errc::invalid_argument, "outbox relay needs a database");
  if (cfg.batch == 0 || cfg.poll_interval <= caf::timespan{0})
    return make_error(errc::invalid_argument, "outbox relay needs batch > 0 and a poll interval");
  std::set<std::string> names;
  for (auto& sub : cfg.subscriptions) {
    if (sub.consumer.empty() || !sub.deliver)
      return make_error(errc::invalid_argument, "outbox subscription needs a consumer and deliver");
    // Acks and retries are tracked per consumer name.
    if (!names.insert(sub.consumer).second)
      return make_error(errc::invalid_argument, "duplicate outbox consumer " + sub.consumer);
  }
  return {};
}

} // namespace

caf::expected<caf::actor> spawn_relay(caf::actor_system& sys, relay_config cfg) {
  if (auto err = validate(cfg))
    return err;
  return sys.spawn<relay_actor>(std::move(cfg));
}

supervision::child_spec relay_child(relay_config cfg) {
  supervision::child_spec spec;
  spec.name = cfg.name;
  spec.start = [cfg = std::move(cfg)](caf::actor_system& sys) { return spawn_relay(sys, cfg); };
  return spec;
}

} // namespace troupe::events
