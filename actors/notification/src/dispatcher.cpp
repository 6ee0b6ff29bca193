#include "troupe/notification/dispatcher.hpp"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "troupe/core/error.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::notification {

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;
using attempted_atom = caf::atom_constant<caf::atom("attempted")>;
// Notifications wait in the handoff.
using handed_atom = caf::atom_constant<caf::atom("handed")>;

/// One dispatcher: attempts what the handoff brings and what its poll finds due, at most
/// `batch` at a time. A sent notification waits for the next "sent" write without holding a
/// place among the attempts, so the provider is not idle while that write commits.
class dispatcher : public std::enable_shared_from_this<dispatcher> {
public:
  dispatcher(caf::event_based_actor* self, std::shared_ptr<notification_store> store,
             std::shared_ptr<provider> provider, dispatcher_config cfg,
             std::shared_ptr<observability::registry> metrics)
      : self_(self), store_(std::move(store)), provider_(std::move(provider)), cfg_(cfg),
        metrics_(std::move(metrics)) {}

  caf::behavior start() {
    auto me = shared_from_this();
    // A stop waits for the attempts in flight to be recorded: a dropped outcome would
    // leave its notification claimed, and the next dispatcher would send it again.
    self_->set_exit_handler([me](caf::exit_msg& msg) {
      me->stopping_ = msg.reason;
      me->quit_when_idle();
    });
    if (cfg_.handoff)
      cfg_.handoff->on_push([addr = self_->address()] {
        if (auto me = caf::actor_cast<caf::actor>(addr))
          caf::anon_send(me, handed_atom::value);
      });
    self_->send(self_, tick_atom::value);
    return {
        [me](handed_atom) { me->take_handed(); },
        [me](tick_atom) {
          me->self_->delayed_send(me->self_, me->cfg_.poll_interval, tick_atom::value);
          me->poll();
        },
        [me](attempted_atom, const std::string& id, const std::string& channel_name,
             uint32_t attempts,
             const std::string& error) { me->settle(id, channel_name, attempts, error); },
    };
  }

private:
  void quit_when_idle() {
    if (stopping_ && in_flight_ == 0 && unrecorded_ == 0 && !polling_)
      self_->quit(*stopping_);
  }

  void poll() {
    if (stopping_ || polling_ || full())
      return;
    polling_ = true;
    auto me = shared_from_this();
    auto limit = cfg_.batch - in_flight_;
    store_->claim_due(
        self_, limit, cfg_.lease, [me, limit](caf::expected<std::vector<notification_record>> due) {
          me->polling_ = false;
          // A full answer means more are due: look again as attempts end.
          me->backlog_ = due && due->size() >= limit;
          if (!due) {
            me->quit_when_idle();
            // Once per outage: the poll runs five times a second and would flood the log.
            if (!std::exchange(me->claim_failing_, true))
              spdlog::warn("notifications: cannot claim due ones (until further notice): {}",
                           describe(due.error()));
            return;
          }
          if (std::exchange(me->claim_failing_, false))
            spdlog::info("notifications: claiming due ones again");
          // Even if a stop came meanwhile: they are claimed, so they are ours.
          for (auto& n : *due)
            me->attempt(n);
          me->quit_when_idle();
        });
  }

  // Attempts what the handoff holds, as far as the batch allows.
  void take_handed() {
    if (stopping_ || !cfg_.handoff || full())
      return;
    for (auto& n : cfg_.handoff->take(cfg_.batch - in_flight_))
      attempt(n);
  }

  // An attempt ended: take on what waits in the handoff, and poll while the store has more
  // due than the last poll took (otherwise the next tick looks).
  void refill() {
    take_handed();
    if (backlog_)
      poll();
  }

  void attempt(const notification_record& n) {
    ++in_flight_;
    delivery d{n.id,      n.user_id, n.channel,  n.recipient,
               n.subject, n.body,    n.event_id, n.attempts + 1};
    // The provider may answer on its own thread: the outcome comes back as a message.
    auto addr = self_->address();
    provider_->send(
        d, [addr, id = n.id, ch = to_string(n.channel), attempts = n.attempts + 1](caf::error err) {
          if (auto me = caf::actor_cast<caf::actor>(addr))
            caf::anon_send(me, attempted_atom::value, id, ch, attempts,
                           err ? describe(err) : std::string{});
        });
  }

  void settle(const std::string& id, const std::string& channel_name, uint32_t attempts,
              const std::string& error) {
    if (error.empty()) {
      count(channel_name, "sent");
      --in_flight_;
      ++unrecorded_;
      sent_.push_back(id);
      mark_sent();
      return refill();
    }
    auto me = shared_from_this();
    auto done = [me](caf::expected<bool> stored) {
      if (!stored)
        spdlog::warn("notifications: cannot record an attempt: {}", describe(stored.error()));
      --me->in_flight_;
      me->refill();
      me->quit_when_idle();
    };
    auto dead = attempts >= cfg_.max_attempts;
    count(channel_name, dead ? "dead" : "failed");
    auto delay = cfg_.retry_initial * (1LL << std::min<uint32_t>(attempts - 1, 20));
    auto retry_in = std::min<std::chrono::milliseconds>(delay, cfg_.retry_max);
    if (dead)
      spdlog::warn("notifications: {} is a dead letter after {} attempts: {}", id, attempts, error);
    store_->mark_failed(self_, id, error, dead, retry_in, done);
  }

  // Records every delivery that came back since the last such write, in one write; those that
  // come back while it runs wait for the next (group commit, per dispatcher). Until a
  // delivery is recorded a stop waits for it.
  void mark_sent() {
    if (marking_ || sent_.empty())
      return;
    marking_ = true;
    auto ids = std::move(sent_);
    sent_.clear();
    auto n = ids.size();
    auto me = shared_from_this();
    store_->mark_sent(self_, std::move(ids), [me, n](caf::expected<size_t> stored) {
      // Unrecorded, they stay claimed until the lease runs out and are then sent again:
      // at least once, never lost.
      if (!stored)
        spdlog::warn("notifications: cannot record {} delivered attempts: {}", n,
                     describe(stored.error()));
      me->marking_ = false;
      me->unrecorded_ -= n;
      me->mark_sent();
      me->refill();
      me->quit_when_idle();
    });
  }

  void count(const std::string& channel_name, const char* outcome) {
    if (metrics_)
      metrics_
          ->counters("troupe_notifications_total", "Notification delivery attempts by outcome.",
                     {"channel", "outcome"})
          .with({channel_name, outcome})
          .inc();
  }

  caf::event_based_actor* self_;
  std::shared_ptr<notification_store> store_;
  std::shared_ptr<provider> provider_;
  dispatcher_config cfg_;
  std::shared_ptr<observability::registry> metrics_;
  // Whether no attempt may start: `batch` are under way, or the "sent" writes fall so far
  // behind (the store is slow or away) that what waits for them would grow without bound.
  bool full() const {
    return in_flight_ >= cfg_.batch || unrecorded_ >= cfg_.batch * max_unrecorded_batches;
  }

  static constexpr size_t max_unrecorded_batches = 32;

  // Attempts at the provider, and failures being recorded.
  size_t in_flight_ = 0;
  // Sent, waiting for a "sent" write.
  size_t unrecorded_ = 0;
  bool polling_ = false;
  bool backlog_ = false; // the last poll took as many as it asked for
  bool claim_failing_ = false;
  // Delivered attempts not yet recorded, and whether a write recording others runs.
  std::vector<std::string> sent_;
  bool marking_ = false;
  std::optional<caf::error> stopping_;
};

} // namespace

supervision::child_spec dispatcher_child(std::shared_ptr<notification_store> store,
                                         std::shared_ptr<provider> provider, dispatcher_config cfg,
                                         std::shared_ptr<observability::registry> metrics) {
  supervision::child_spec spec;
  spec.name = "notification-dispatcher";
  spec.shutdown_timeout = cfg.drain_timeout;
  spec.start = [=](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return sys.spawn([=](caf::event_based_actor* self) {
      return std::make_shared<dispatcher>(self, store, provider, cfg, metrics)->start();
    });
  };
  return spec;
}

} // namespace troupe::notification
