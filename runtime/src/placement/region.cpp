#include "troupe/placement/region.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

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

namespace {

// Sent by an activation to itself: the load starts once the behavior is installed.
using load_atom = caf::atom_constant<caf::atom("load")>;

} // namespace

caf::behavior entity_context::load_first(caf::event_based_actor* self,
                                         std::function<void(std::function<void(caf::error)>)> load,
                                         std::function<void()> ready) const {
  self->set_default_handler(caf::skip);
  self->send(self, load_atom::value);
  auto ctx = *this;
  return serve(self, caf::message_handler{[self, ctx, load, ready](load_atom) {
                 load([self, ctx, ready](caf::error err) {
                   if (!err) {
                     if (ctx.unexpected_)
                       self->set_default_handler(ctx.unexpected_);
                     else
                       self->set_default_handler(caf::print_and_drop);
                     ready();
                     return;
                   }
                   self->set_default_handler([err](caf::scheduled_actor*, caf::message_view&) {
                     return caf::result<caf::message>{err};
                   });
                   self->become(ctx.serve(self, caf::message_handler{[](load_atom) {}}));
                   ctx.passivate(self);
                 });
               }});
}

namespace {

using stop_timeout_atom = caf::atom_constant<caf::atom("regiontmo")>;

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
  activate_fn fn_;
  entity_context ctx_;
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
        [this](resolve_atom, const std::string& key) -> caf::result<caf::actor> {
          return resolve(key);
        },
        [this](passivate_atom, const std::string& key) { passivate(key); },
        [this](rebalance_atom, bool everything) { rebalance(everything); },
        [this](forward_atom, const std::string& key, const observability::trace_context& trace,
               caf::message& msg) { return forward(key, trace, std::move(msg)); },
        [this](evict_atom, const std::string& key) { return evict(key); },
        [this](entities_atom, uint64_t limit) { return list(limit); },
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
  struct slot {
    caf::actor handle;
    bool passivating = false;
    std::vector<caf::response_promise> waiting;
  };

  caf::result<caf::actor> resolve(const std::string& key) {
    if (stopping_)
      return make_error(errc::shutting_down, kind_.name + " region is stopping");
    auto i = entities_.find(key);
    if (i == entities_.end())
      return activate(key);
    if (!i->second.passivating)
      return i->second.handle;
    // The old activation is on its way out; answer when it is gone.
    auto promise = make_response_promise<caf::actor>();
    i->second.waiting.push_back(promise);
    return promise;
  }

  // A request from another node: handed to the activation as it is (in a trace envelope if
  // it has a trace), so the activation answers the remote caller itself. One whose
  // activation is on its way out is refused as if the activation were gone, and the caller's
  // ask sends it again.
  caf::response_promise forward(const std::string& key, const observability::trace_context& trace,
                                caf::message msg) {
    observability::log_context log{{}, trace};
    observability::log_scope scope{log}; // an activation started here logs under the trace
    auto promise = make_response_promise();
    auto i = entities_.find(key);
    if (stopping_)
      promise.deliver(make_error(errc::shutting_down, kind_.name + " region is stopping"));
    else if (i != entities_.end() && i->second.passivating)
      promise.deliver(caf::make_error(caf::sec::request_receiver_down));
    else if (auto target = i == entities_.end() ? activate(key) : i->second.handle; trace.valid())
      promise.delegate(target, traced_atom::value, trace, std::move(msg));
    else
      promise.delegate(target, std::move(msg));
    return promise;
  }

  caf::actor activate(const std::string& key) {
    entity_context ctx{kind_.name, key, caf::actor_cast<caf::actor>(this), kind_.idle_timeout};
    ctx.set_unexpected(drop_unexpected(kind_.name, metrics_holder_));
    auto handle = caf::actor_cast<caf::actor>(
        system().spawn<activation>(kind_.guard, kind_.activate, std::move(ctx)));
    monitor(handle);
    keys_.emplace(handle.address(), key);
    entities_[key].handle = handle;
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
    auto waiting = std::move(i->second.waiting);
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
    if (stopping_) {
      for (auto& promise : waiting)
        promise.deliver(make_error(errc::shutting_down, kind_.name + " region is stopping"));
      if (entities_.empty())
        quit(exit_reason_);
    } else if (!waiting.empty()) {
      auto handle = activate(key);
      for (auto& promise : waiting)
        promise.deliver(handle);
    }
    set_active();
  }

  void on_exit_request(const caf::exit_msg& msg) {
    if (!msg.reason || msg.reason == caf::exit_reason::normal || stopping_)
      return;
    stopping_ = true;
    exit_reason_ = msg.reason;
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
