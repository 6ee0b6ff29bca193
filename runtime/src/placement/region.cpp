#include "troupe/placement/region.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/skip.hpp>
#include <spdlog/spdlog.h>

#include "troupe/cluster/guard.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/unexpected.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/placement/directory.hpp"
#include "troupe/placement/locator.hpp"
#include "troupe/placement/traced.hpp"
#include "unwrap.hpp"

namespace troupe::placement {

namespace {

// Sent by an activation to itself: the load starts once the behavior is installed.
using load_atom = caf::atom_constant<caf::atom("load")>;

} // namespace

caf::behavior entity_context::serve(caf::event_based_actor* self,
                                    const caf::message_handler& handler) const {
  // Asked by the region (a write barrier holds this back until the writes before it are
  // done) or after the idle time: either way the region does the stopping.
  auto step_aside = [self, region = region_, key = key_] {
    self->send(region, passivate_atom::value, key);
  };
  return handler.or_else([step_aside](passivate_atom) { step_aside(); },
                         caf::after(idle_) >> step_aside);
}

void entity_context::passivate(caf::event_based_actor* self) const {
  self->send(region_, passivate_atom::value, key_);
}

void entity_context::install_unexpected(caf::event_based_actor* self) const {
  if (unexpected_)
    self->set_default_handler(unexpected_);
  else
    self->set_default_handler(caf::print_and_drop);
}

caf::behavior entity_context::serve_first(caf::event_based_actor* self,
                                          const caf::message_handler& handler) const {
  install_unexpected(self);
  return serve(self, handler);
}

void entity_context::fail_all(caf::event_based_actor* self, caf::error err) const {
  self->set_default_handler(
      [err](caf::scheduled_actor*, caf::message_view&) { return caf::result<caf::message>{err}; });
  // A handler of nothing real keeps the idle timeout and the region's passivation.
  self->become(serve(self, caf::message_handler{[](load_atom) {}}));
  passivate(self);
}

caf::behavior entity_context::load_first(caf::event_based_actor* self,
                                         std::function<void(std::function<void(caf::error)>)> load,
                                         std::function<void()> ready) const {
  self->set_default_handler(caf::skip);
  self->send(self, load_atom::value);
  auto ctx = *this;
  return serve(self, caf::message_handler{[self, ctx, load, ready](load_atom) {
                 load([self, ctx, ready](caf::error err) {
                   if (err)
                     return ctx.fail_all(self, std::move(err));
                   ctx.install_unexpected(self);
                   ready();
                 });
               }});
}

namespace {

using stop_timeout_atom = caf::atom_constant<caf::atom("regiontmo")>;
// The region's own timer while requests wait for the lease.
using settle_atom = caf::atom_constant<caf::atom("settle")>;
// How often waiting requests look at the lease again.
constexpr auto settle_poll = std::chrono::milliseconds(10);

/// Per-kind metrics; null members when the region has no registry.
struct region_metrics {
  observability::gauge* active = nullptr;
  observability::counter* activations = nullptr;
  observability::counter* passivations = nullptr;
  observability::counter* crashes = nullptr;

  region_metrics(observability::registry* reg, const std::string& kind) {
    if (reg == nullptr)
      return;
    active =
        &reg->gauges("troupe_entities_active", "Live entity activations.", {"kind"}).with({kind});
    activations = &reg->counters("troupe_entity_activations_total", "Entities activated.", {"kind"})
                       .with({kind});
    passivations = &reg->counters("troupe_entity_passivations_total",
                                  "Entities stopped after their idle timeout.", {"kind"})
                        .with({kind});
    crashes = &reg->counters("troupe_entity_crashes_total", "Entities that failed.", {"kind"})
                   .with({kind});
  }
};

// One activation: the kind's behavior behind the kind's guard.
class activation : public cluster::guarded<caf::event_based_actor> {
public:
  activation(caf::actor_config& cfg, std::shared_ptr<const cluster::remote_guard> guard,
             activate_fn fn, entity_context ctx)
      : guarded(cfg, std::move(guard)), fn_(std::move(fn)), ctx_(std::move(ctx)) {}

  const char* name() const override { return "entity"; }

  caf::behavior make_behavior() override { return fn_(this, ctx_); }

  // A request in a trace envelope is handled as if it had come alone, with the caller's trace
  // as the log context: the domains' handlers never see traces, their lines carry them.
  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    if (x.mid.is_request() && !ctx_.current())
      return refuse(x);
    auto env = open_envelope(x);
    if (!env)
      return guarded::consume(x);
    observability::log_context log{{}, env->trace};
    observability::log_scope scope{log};
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("{} {}: request from {}", ctx_.kind(), ctx_.key(),
                    x.sender && x.sender->node() != node() ? "another node" : "this node");
    unwrapped request{x, *env->inner};
    // Not left pointing at the request, which ends here, even when its handler throws.
    struct restore {
      caf::mailbox_element*& slot;
      caf::mailbox_element* value;
      ~restore() { slot = value; }
    } keep{current_element_, &x};
    return guarded::consume(request);
  }

private:
  // A request to an activation that may no longer answer for its key (it moved, or the lease
  // lapsed since the activation loaded: another node may have written it meanwhile) is refused
  // unprocessed, as if the activation were gone; the caller's ask resolves it again and meets
  // a fresh activation or the new owner. The activation steps aside once its writes are done.
  caf::invoke_message_result refuse(caf::mailbox_element& x) {
    caf::response_promise{caf::strong_actor_ptr{ctrl()}, x}.deliver(
        caf::make_error(caf::sec::request_receiver_down));
    if (!retiring_) {
      retiring_ = true;
      send(this, passivate_atom::value);
    }
    return caf::invoke_message_result::consumed;
  }

  activate_fn fn_;
  entity_context ctx_;
  bool retiring_ = false;
};

class region_actor : public caf::event_based_actor {
public:
  region_actor(caf::actor_config& cfg, entity_kind kind,
               std::shared_ptr<observability::registry> metrics)
      : caf::event_based_actor(cfg), kind_(std::move(kind)), metrics_holder_(std::move(metrics)),
        metrics_(metrics_holder_.get(), kind_.name) {}

  const char* name() const override { return "troupe.region"; }

  caf::behavior make_behavior() override {
    if (kind_.published)
      kind_.published->clear(); // entries of an earlier incarnation are all dead
    set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
    set_exit_handler([this](caf::exit_msg& msg) { on_exit_request(msg); });
    set_default_handler(drop_unexpected(kind_.name + " region", metrics_holder_));
    return {
        [this](resolve_atom, const std::string& key) {
          return take({key, deadline(), make_response_promise(), std::nullopt, 0});
        },
        [this](passivate_atom, const std::string& key) { passivate(key); },
        [this](rebalance_atom, bool everything) { rebalance(everything); },
        [this](forward_atom, const std::string& key, const observability::trace_context& trace,
               caf::message& msg) {
          observability::log_context log{{}, trace};
          observability::log_scope scope{log}; // an activation started here logs under the trace
          return take({key, deadline(), make_response_promise(),
                       std::make_pair(trace, std::move(msg)), tenure()});
        },
        [this](evict_atom, const std::string& key) { return evict(key); },
        [this](entities_atom, uint64_t limit) { return list(limit); },
        [this](settle_atom) {
          polling_ = false;
          replay();
        },
        [this](stop_timeout_atom) {
          for (auto& [key, slot] : entities_)
            send_exit(slot.handle, caf::exit_reason::kill);
        },
    };
  }

  void on_exit() override {
    // Killed or crashed: the activations must not outlive their region.
    for (auto& [key, slot] : entities_)
      send_exit(slot.handle, caf::exit_reason::kill); // not anonymous: the guard refuses those
    entities_.clear();
    if (kind_.published)
      kind_.published->clear();
    set_active();
  }

private:
  using time_point = caf::actor_clock::time_point;

  struct slot {
    caf::actor handle;
    uint64_t tenure = 1;      // of the lease it was made under
    bool passivating = false; // stopping
    bool retiring = false;    // asked to step aside: made under an earlier tenure
  };

  // A resolve (no `forward`) or a request from another node (`forward`: its trace and message)
  // until the key can be answered for here.
  struct request {
    std::string key;
    time_point deadline;
    caf::response_promise promise;
    std::optional<std::pair<observability::trace_context, caf::message>> forward;
    uint64_t arrived = 0; // a request from another node: the tenure in force when it came
  };

  // The actor clock, so tests move it with simulated time.
  time_point deadline() { return clock().now() + kind_.settle_timeout; }

  uint64_t tenure() const { return kind_.tenure ? kind_.tenure() : 1; }

  caf::response_promise take(request r) {
    auto promise = r.promise;
    route(std::move(r));
    return promise;
  }

  // Hands `r` to the key's activation (a resolve gets its handle; a request from another node
  // is handed on as it is, in a trace envelope if it has a trace, so the activation answers the
  // remote caller itself), activating it if needed.
  //
  // Only under the lease (see `cluster::lease_keeper`): while this node does not hold it, who
  // owns the key is not settled (views differ, or a lost peer may still answer for its keys),
  // and the request waits here until it is, up to `settle_timeout`. A key this node does not
  // own (the caller's view differs, or this node is leaving) and a region that is stopping
  // refuse the request unprocessed (`not_settled`): the caller's ask_owner routes it again
  // after a pause, by then most likely by the same view as this node. So is a request
  // from another node that came while the lease was not held, or under an earlier tenure: its
  // sender may have given up on it long ago (a node that was frozen reads what its peers sent
  // before they marked it down and failed those requests to their callers), and carried out now
  // it would land on top of writes acknowledged since. An activation made under an earlier
  // tenure lived through a gap in the lease, when another node may have written its key: it
  // steps aside, and the request waits for a fresh one.
  void route(request r) {
    if (stopping_)
      return r.promise.deliver(make_error(errc::not_settled, kind_.name + " region is stopping"));
    // Ownership before the tenure: the lease is voided before a new view is published.
    bool owned = !kind_.owned_here || kind_.owned_here(r.key);
    auto t = tenure();
    if (r.forward && (r.arrived == 0 || r.arrived != t))
      return r.promise.deliver(
          make_error(errc::not_settled, kind_.name + " " + r.key + " came while the lease lapsed"));
    if (t == 0)
      return wait(std::move(r), "who owns it is not settled");
    if (!owned)
      return r.promise.deliver(
          make_error(errc::not_settled, kind_.name + " " + r.key + " is not owned here"));
    auto i = entities_.find(r.key);
    if (i != entities_.end() && i->second.tenure != t && !i->second.passivating &&
        !i->second.retiring) {
      i->second.retiring = true;
      if (kind_.published)
        kind_.published->erase(r.key, i->second.handle);
      send(i->second.handle, passivate_atom::value);
    }
    if (i != entities_.end() && (i->second.passivating || i->second.retiring))
      return wait(std::move(r), "its previous activation is still stopping");
    auto target = i == entities_.end() ? activate(r.key, t) : i->second.handle;
    if (!r.forward)
      return r.promise.deliver(target);
    auto& [trace, msg] = *r.forward;
    if (trace.valid())
      r.promise.delegate(target, traced_atom::value, trace, std::move(msg));
    else
      r.promise.delegate(target, std::move(msg));
  }

  void wait(request r, const char* why) {
    if (clock().now() >= r.deadline) {
      // Nothing was processed: the caller's `ask_owner` routes it again while its own time
      // allows (a lapse can outlast one settle timeout: a rejoining peer confirms the view only
      // once it has heard of every member).
      r.promise.deliver(make_error(errc::not_settled,
                                   kind_.name + " " + r.key + " cannot be answered for yet: " + why,
                                   kind_.settle_timeout));
      return;
    }
    waiting_.push_back(std::move(r));
    if (!polling_) {
      polling_ = true;
      delayed_send(this, settle_poll, settle_atom::value);
    }
  }

  // Routes every waiting request again (some may wait on).
  void replay() {
    auto xs = std::move(waiting_);
    waiting_.clear();
    for (auto& r : xs)
      route(std::move(r));
  }

  caf::actor activate(const std::string& key, uint64_t t) {
    entity_context ctx{kind_.name, key, caf::actor_cast<caf::actor>(this), kind_.idle_timeout};
    ctx.set_unexpected(drop_unexpected(kind_.name, metrics_holder_));
    // Ownership is read before the tenure (see `route`).
    ctx.set_lease(
        t, [tenure = kind_.tenure, t] { return (tenure ? tenure() : 1) == t; },
        [owned = kind_.owned_here, key] { return !owned || owned(key); });
    auto handle = caf::actor_cast<caf::actor>(
        system().spawn<activation>(kind_.guard, kind_.activate, std::move(ctx)));
    monitor(handle);
    keys_.emplace(handle.address(), key);
    auto& s = entities_[key];
    s.handle = handle;
    s.tenure = t;
    if (kind_.published)
      kind_.published->set(key, handle);
    if (metrics_.activations)
      metrics_.activations->inc();
    set_active();
    return handle;
  }

  void passivate(const std::string& key) {
    auto i = entities_.find(key);
    // Only the current activation may ask; a stale request from an earlier one is moot.
    if (i == entities_.end() || i->second.passivating ||
        i->second.handle.address() != current_sender())
      return;
    i->second.passivating = true;
    if (kind_.published)
      kind_.published->erase(key, i->second.handle);
    send_exit(i->second.handle, caf::exit_reason::user_shutdown);
    if (metrics_.passivations)
      metrics_.passivations->inc();
  }

  bool evict(const std::string& key) {
    auto i = entities_.find(key);
    if (i == entities_.end() || i->second.passivating)
      return false;
    send_exit(i->second.handle, caf::exit_reason::kill);
    return true;
  }

  caf::result<uint64_t, std::vector<std::string>> list(uint64_t limit) {
    std::vector<std::string> keys;
    keys.reserve(entities_.size());
    for (const auto& [key, slot] : entities_)
      keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    if (keys.size() > limit)
      keys.resize(limit);
    return {static_cast<uint64_t>(entities_.size()), std::move(keys)};
  }

  // Keys that moved to another node: their activations finish what they have and go,
  // so the next message for them activates them on the new owner, from the store.
  void rebalance(bool everything) {
    if (!everything && !kind_.owned_here)
      return;
    size_t moved = 0;
    for (auto& [key, slot] : entities_)
      if (!slot.passivating && (everything || !kind_.owned_here(key))) {
        send(slot.handle, passivate_atom::value);
        ++moved;
      }
    if (moved > 0)
      spdlog::info("{} region: {} activations passivate ({})", kind_.name, moved,
                   everything ? "a peer came back" : "no longer owned here");
  }

  void on_down(const caf::down_msg& msg) {
    auto k = keys_.find(msg.source);
    if (k == keys_.end())
      return;
    auto key = std::move(k->second);
    keys_.erase(k);
    auto i = entities_.find(key);
    if (i == entities_.end())
      return;
    bool planned = i->second.passivating || stopping_;
    if (kind_.published)
      kind_.published->erase(key, i->second.handle);
    entities_.erase(i);
    if (!planned && msg.reason && msg.reason != caf::exit_reason::normal) {
      spdlog::warn("{} {} failed: {}; the next message activates it again", kind_.name, key,
                   describe(msg.reason));
      if (metrics_.crashes)
        metrics_.crashes->inc();
    }
    set_active();
    replay(); // requests that waited for this activation to go
    if (stopping_ && entities_.empty())
      quit(exit_reason_);
  }

  void on_exit_request(const caf::exit_msg& msg) {
    if (!msg.reason || msg.reason == caf::exit_reason::normal || stopping_)
      return;
    stopping_ = true;
    exit_reason_ = msg.reason;
    replay(); // refuses every waiting request
    if (entities_.empty()) {
      quit(exit_reason_);
      return;
    }
    for (auto& [key, slot] : entities_)
      send_exit(slot.handle, caf::exit_reason::user_shutdown);
    delayed_send(this, kind_.shutdown_timeout, stop_timeout_atom::value);
  }

  void set_active() {
    if (metrics_.active)
      metrics_.active->set(static_cast<int64_t>(entities_.size()));
  }

  entity_kind kind_;
  std::shared_ptr<observability::registry> metrics_holder_;
  region_metrics metrics_;
  std::unordered_map<std::string, slot> entities_;
  std::unordered_map<caf::actor_addr, std::string> keys_;
  std::vector<request> waiting_; // requests held until the key can be answered for here
  bool polling_ = false;         // a settle_atom is on its way
  bool stopping_ = false;
  caf::error exit_reason_;
};

} // namespace

caf::actor spawn_region(caf::actor_system& sys, entity_kind kind,
                        std::shared_ptr<observability::registry> metrics) {
  return sys.spawn<region_actor>(std::move(kind), std::move(metrics));
}

supervision::child_spec region_child(entity_kind kind,
                                     std::shared_ptr<observability::registry> metrics) {
  supervision::child_spec spec;
  spec.name = kind.name;
  // Enough for every activation to stop, plus the region's own exit.
  spec.shutdown_timeout = kind.shutdown_timeout + std::chrono::seconds(1);
  spec.start = [kind = std::move(kind),
                metrics = std::move(metrics)](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return spawn_region(sys, kind, metrics);
  };
  return spec;
}

} // namespace troupe::placement
