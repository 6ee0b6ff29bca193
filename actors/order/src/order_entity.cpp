// One activation per order runs its saga: authorize payment, take every line's stock,
// confirm; or void the payment, give back what was taken and reject; or, on the owner's
// word, void and return everything and cancel. Only the order's first and final statuses
// (and the compensating ones) are stored: authorizing and taking are idempotent per order,
// so an activation that dies between them is resumed from `pending` by the next one, which
// simply asks again. Every effect follows the commit of the order row.

#include <mutex>
#include <optional>
#include <set>

#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "troupe/core/clock.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/order/orders.hpp"
#include "troupe/order/payment.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/placement/write_barrier.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::order {

namespace {

// The test hook fires once per order and process, or a resumed saga would crash forever.
bool first_crash_of(const std::string& id) {
  static std::mutex mtx;
  static std::set<std::string> crashed;
  std::lock_guard guard{mtx};
  return crashed.insert(id).second;
}

// The event a final status publishes to the rest of the system (notifications).
std::optional<events::event> event_for(const order_record& r) {
  if (r.status != order_status::confirmed && r.status != order_status::rejected &&
      r.status != order_status::cancelled)
    return std::nullopt;
  nlohmann::json items = nlohmann::json::array();
  for (const auto& i : r.items)
    items.push_back({{"sku", i.sku}, {"quantity", i.quantity}});
  nlohmann::json body{{"order_id", r.id},
                      {"user_id", r.user_id},
                      {"status", to_string(r.status)},
                      {"reason", r.reason},
                      {"items", items}};
  return events::event{random_uuid(), order_kind_name, r.id,
                       std::string{"order."} + to_string(r.status), body.dump()};
}

class order_activation : public std::enable_shared_from_this<order_activation> {
public:
  order_activation(caf::event_based_actor* self, placement::entity_context ctx,
                   std::shared_ptr<order_repository> repo, saga_config cfg)
      : self_(self), ctx_(std::move(ctx)), repo_(std::move(repo)), cfg_(std::move(cfg)),
        backoff_(cfg_.retry_initial), barrier_(self) {}

  // Serves at once: the first message of most activations places a new order, which is
  // inserted without a read (a conflict means a replay, and only then is the order read).
  // Any other message reads the stored order first.
  caf::behavior start() { return ctx_.serve_first(self_, handlers()); }

private:
  using order_promise = caf::typed_response_promise<order_record>;

  caf::message_handler handlers() {
    auto me = shared_from_this();
    return caf::message_handler{
        [me](fetch_atom) -> caf::result<order_record> {
          auto promise = me->self_->make_response_promise<order_record>();
          me->with_state([me, promise](const caf::error& err) mutable {
            if (err)
              promise.deliver(err);
            else if (!me->state_)
              promise.deliver(make_error(errc::no_such_record, "no such order"));
            else
              promise.deliver(*me->state_);
          });
          return promise;
        },
        [me](place_atom, order_record& req) { return me->place(std::move(req)); },
        [me](cancel_atom) {
          auto promise = me->self_->make_response_promise<order_record>();
          me->with_state([me, promise](const caf::error& err) mutable {
            if (err)
              promise.deliver(err);
            else
              me->cancel(promise);
          });
          return promise;
        },
        [me](resume_atom) { me->with_state([me](const caf::error&) { me->step(); }); },
    };
  }

  // Runs `then` once the stored order (or that there is none) is known: at once if it is.
  // Messages arriving meanwhile wait in the mailbox. After a read that failed, `then` hears
  // why and every later message gets the same answer until a fresh activation takes over.
  void with_state(std::function<void(const caf::error&)> then) {
    if (known_)
      return then({});
    barrier_.hold();
    auto me = shared_from_this();
    repo_->load(self_, ctx_.key(), [me, then](caf::expected<order_record> loaded) {
      me->barrier_.release();
      if (!loaded && !is(loaded.error(), errc::no_such_record)) {
        then(loaded.error());
        return me->ctx_.fail_all(me->self_, loaded.error());
      }
      me->known_ = true;
      if (loaded)
        me->state_ = std::move(*loaded);
      then({});
      me->step(); // an unfinished saga goes on where the last activation left it
    });
  }

  // Answers the order and whether this request created it (false for a replay).
  caf::result<order_record, bool> place(order_record req) {
    auto promise = self_->make_response_promise<order_record, bool>();
    if (state_) {
      answer_place(promise, req);
      return promise;
    }
    req.id = ctx_.key();
    req.status = order_status::pending;
    req.version = 0;
    req.created_at_ms = req.updated_at_ms = unix_now_ms();
    barrier_.hold();
    auto me = shared_from_this();
    repo_->insert(self_, req, [me, promise, req](caf::expected<order_record> stored) mutable {
      me->barrier_.release();
      if (stored) {
        me->known_ = true;
        me->state_ = std::move(*stored);
        promise.deliver(*me->state_, true);
        if (!me->crash_hook(to_string(order_status::pending)))
          me->step();
        return;
      }
      if (!is(stored.error(), errc::already_exists)) {
        promise.deliver(std::move(stored.error()));
        return me->passivate(); // the outcome is unknown: the next activation reads it
      }
      // A replay, or the same key placed through another activation: compare with it.
      me->known_ = false;
      me->with_state([me, promise, req](const caf::error& err) mutable {
        if (err)
          promise.deliver(err);
        else
          me->answer_place(promise, req);
      });
    });
    return promise;
  }

  // Answers a place request for an order whose stored state is known.
  void answer_place(caf::typed_response_promise<order_record, bool>& promise,
                    const order_record& req) {
    if (!state_)
      promise.deliver(
          make_error(errc::store_failure, "order " + ctx_.key() + " exists but cannot be read"));
    else if (state_->user_id == req.user_id && state_->request_hash == req.request_hash)
      promise.deliver(*state_, false);
    else
      promise.deliver(make_error(errc::idempotency_mismatch,
                                 "this Idempotency-Key was used for a different request"));
  }

  void cancel(order_promise& promise) {
    if (!state_) {
      promise.deliver(make_error(errc::no_such_record, "no such order"));
      return;
    }
    switch (state_->status) {
    case order_status::cancelled:
      promise.deliver(*state_);
      return;
    case order_status::rejecting:
    case order_status::rejected:
      promise.deliver(make_error(errc::invalid_state, "the order was rejected"));
      return;
    default:
      break;
    }
    cancel_waiters_.push_back(promise);
    cancel_requested_ = true;
    step();
  }

  // Does the work the stored status calls for, unless some is already under way.
  void step() {
    if (running_ || barrier_.holding() || !state_)
      return;
    auto s = state_->status;
    if (cancel_requested_ && !is_final(s) && s != order_status::cancelling &&
        s != order_status::rejecting)
      return transition(order_status::cancelling);
    if (cancel_requested_ && s == order_status::confirmed)
      return transition(order_status::cancelling);
    switch (s) {
    case order_status::pending:
    case order_status::reserved:   // stored by an older saga: asking again is harmless
    case order_status::authorized: // the same
      running_ = true;
      return authorize();
    case order_status::rejecting:
      running_ = true;
      // Out of stock is found after the authorization, so every rejection voids.
      return void_payment(order_status::rejected);
    case order_status::cancelling:
      running_ = true;
      return void_payment(order_status::cancelled);
    default:
      answer_cancels();
      // The saga just finished here: nothing is left to do, so the order leaves memory
      // now rather than after the idle timeout (a later request reloads it). An order
      // loaded finished stays to serve the reads that woke it.
      if (finished_here_)
        passivate();
      finished_here_ = false;
    }
  }

  void answer_cancels() {
    for (auto& p : cancel_waiters_) {
      if (state_->status == order_status::cancelled)
        p.deliver(*state_);
      else
        p.deliver(make_error(errc::invalid_state, "the order was rejected"));
    }
    cancel_waiters_.clear();
    cancel_requested_ = false;
  }

  // Asks SKU `sku` for something on behalf of this order.
  template <class OnReply, class... Ts>
  void ask_stock(const std::string& sku, OnReply on_reply, Ts... msg) {
    auto me = shared_from_this();
    placement::ask_owner(
        self_, cfg_.locator, stock_kind_name, sku, cfg_.step_timeout, std::make_tuple(msg...),
        on_reply, [me](const caf::error& err) { me->on_stock_error(err); },
        placement::retry_policy{true}, cfg_.stock_known); // idempotent per order
  }

  // Out of stock after the authorization: rejecting voids it and returns the lines taken.
  void on_stock_error(const caf::error& err) {
    if (is(err, errc::out_of_stock) || is(err, errc::invalid_argument))
      return settle_step(order_status::rejecting, "out_of_stock");
    retry(err);
  }

  // Takes each line's units in one write at its SKU; the order confirms once all are taken.
  void take(size_t i) {
    if (i == state_->items.size()) {
      if (crash_hook("taken"))
        return;
      return settle_step(order_status::confirmed);
    }
    auto me = shared_from_this();
    const auto& item = state_->items[i];
    ask_stock(
        item.sku, [me, i](const stock_record&) { me->take(i + 1); }, take_atom::value, state_->id,
        item.quantity);
  }

  void release(size_t i, order_status then) {
    if (i == state_->items.size())
      return settle_step(then);
    auto me = shared_from_this();
    placement::ask_owner(
        self_, cfg_.locator, stock_kind_name, state_->items[i].sku, cfg_.step_timeout,
        std::make_tuple(release_atom::value, state_->id),
        [me, i, then](const stock_record&) { me->release(i + 1, then); },
        [me](const caf::error& err) { me->retry(err); }, placement::retry_policy{true},
        cfg_.stock_known);
  }

  caf::expected<payment_provider> gateway() {
    auto found = cfg_.names->lookup(payment_name);
    if (!found)
      return found.error();
    return caf::actor_cast<payment_provider>(*found);
  }

  void authorize() {
    auto gw = gateway();
    if (!gw)
      return retry(gw.error());
    auto me = shared_from_this();
    self_
        ->request(*gw, cfg_.step_timeout, authorize_atom::value,
                  payment_request{state_->id, state_->payment_method, state_->payment_token})
        .then(
            [me](const authorization& a) {
              // Not stored on its own: the next write carries it, and a saga resumed
              // before that is answered the same authorization again.
              me->authorized_ = a.id;
              if (!me->crash_hook("authorized"))
                me->take(0);
            },
            [me](const caf::error& err) {
              // Declined or failed, the order cannot be paid now: void whatever is held.
              me->settle_step(order_status::rejecting, is(err, errc::payment_declined)
                                                           ? "payment_declined"
                                                           : "payment_failed");
              spdlog::info("order {}: payment not authorized: {}", me->ctx_.key(), describe(err));
            });
  }

  // Voided by order, not by authorization: a payment whose answer was lost (a timeout)
  // may still be authorized, and this settles it too. Then the stock goes back.
  void void_payment(order_status then) {
    auto gw = gateway();
    if (!gw)
      return retry(gw.error());
    auto me = shared_from_this();
    self_->request(*gw, cfg_.step_timeout, void_atom::value, state_->id)
        .then([me, then](caf::ok_atom) { me->release(0, then); },
              [me](const caf::error& err) { me->retry(err); });
  }

  // The step's work is done: store where the saga stands now, then go on.
  void settle_step(order_status next, std::string reason = {}) {
    running_ = false;
    backoff_ = cfg_.retry_initial;
    transition(next, std::move(reason));
  }

  void transition(order_status status, std::string reason = {}) {
    auto next = *state_;
    next.status = status;
    if (!reason.empty())
      next.reason = std::move(reason);
    if (!authorized_.empty())
      next.authorization_id = authorized_;
    next.updated_at_ms = unix_now_ms();
    auto event = event_for(next);
    barrier_.hold();
    auto me = shared_from_this();
    repo_->update(self_, std::move(next), std::move(event),
                  [me](caf::expected<order_record> stored) {
                    me->barrier_.release();
                    if (!stored) {
                      if (is(stored.error(), errc::version_conflict))
                        return me->passivate();
                      return me->retry(stored.error());
                    }
                    me->state_ = std::move(*stored);
                    me->finished_here_ = is_final(me->state_->status);
                    if (!me->crash_hook(to_string(me->state_->status)))
                      me->step();
                  });
  }

  // The test hook: stops this activation abnormally right after point `crash_after`.
  bool crash_hook(const std::string& point) {
    if (cfg_.crash_after != point || !first_crash_of(state_->id))
      return false;
    spdlog::warn("order {}: crashing after {} (test hook)", ctx_.key(), point);
    self_->quit(make_error(errc::invalid_state, "order test hook"));
    return true;
  }

  // A technical failure: the stored status still says what to do, so try again later.
  void retry(const caf::error& err) {
    running_ = false;
    spdlog::warn("order {}: step failed, retrying in {} ms: {}", ctx_.key(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(backoff_).count(),
                 describe(err));
    self_->delayed_send(self_, backoff_, resume_atom::value);
    backoff_ = std::min(backoff_ * 2, cfg_.retry_max);
  }

  void passivate() { ctx_.passivate(self_); }

  caf::event_based_actor* self_;
  placement::entity_context ctx_;
  std::shared_ptr<order_repository> repo_;
  saga_config cfg_;
  std::optional<order_record> state_;
  bool known_ = false; // whether `state_` says what the store holds (an order or none)
  caf::timespan backoff_;
  bool running_ = false;
  bool cancel_requested_ = false;
  bool finished_here_ = false; // this activation just stored a final status
  std::string authorized_;     // the authorization this activation was given
  std::vector<order_promise> cancel_waiters_;
  placement::write_barrier barrier_;
};

} // namespace

placement::entity_kind order_entity_kind(std::shared_ptr<order_repository> repo, saga_config cfg,
                                         caf::timespan idle_timeout) {
  placement::entity_kind kind;
  kind.name = order_kind_name;
  kind.idle_timeout = idle_timeout;
  kind.activate = [repo, cfg](caf::event_based_actor* self, const placement::entity_context& ctx) {
    return std::make_shared<order_activation>(self, ctx, repo, cfg)->start();
  };
  return kind;
}

} // namespace troupe::order
