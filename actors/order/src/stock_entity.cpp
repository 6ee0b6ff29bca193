#include <optional>
#include <unordered_map>

#include <caf/event_based_actor.hpp>

#include "troupe/core/error.hpp"
#include "troupe/order/stock.hpp"
#include "troupe/placement/write_barrier.hpp"

namespace troupe::order {

namespace {

/// One activation of a SKU. It answers repeated reserves from memory; every change is a
/// conditional write to the store, with other messages held meanwhile. Takes, reserves,
/// releases and commits that arrive during a write go to the store together in the next
/// one: a popular SKU takes one write per commit round, not one per order.
class stock_activation : public std::enable_shared_from_this<stock_activation> {
public:
  stock_activation(caf::event_based_actor* self, placement::entity_context ctx,
                   std::shared_ptr<stock_repository> repo)
      : self_(self), ctx_(std::move(ctx)), repo_(std::move(repo)), barrier_(self) {}

  caf::behavior start() {
    auto me = shared_from_this();
    return ctx_.load_first(
        self_,
        [me](auto done) {
          me->repo_->load(me->self_, me->ctx_.key(), [me, done](caf::expected<stock_state> loaded) {
            if (loaded) {
              me->stock_ = std::move(loaded->stock);
              me->held_ = std::move(loaded->held);
            } else if (!is(loaded.error(), errc::no_such_record)) {
              return done(loaded.error());
            }
            done({});
          });
        },
        [me] { me->serve(); });
  }

private:
  struct pending_op {
    stock_op op;
    caf::typed_response_promise<stock_record> promise;
  };

  void serve() {
    auto me = shared_from_this();
    self_->become(ctx_.serve(
        self_, caf::message_handler{
                   [me](fetch_atom) -> caf::result<stock_record> {
                     if (!me->stock_)
                       return make_error(errc::no_such_record, "no stock of " + me->ctx_.key());
                     return *me->stock_;
                   },
                   [me](set_stock_atom, int64_t on_hand) { return me->set_on_hand(on_hand); },
                   [me](reserve_atom, const std::string& order_id, int64_t quantity) {
                     return me->reserve(order_id, quantity);
                   },
                   [me](release_atom, std::string& order_id) {
                     return me->enqueue({stock_op::kind::release, std::move(order_id), 0});
                   },
                   [me](commit_atom, std::string& order_id) -> caf::result<stock_record> {
                     if (!me->stock_)
                       return make_error(errc::invalid_state, "no reservation of " + order_id);
                     return me->enqueue({stock_op::kind::commit, std::move(order_id), 0});
                   },
                   [me](take_atom, std::string& order_id, int64_t quantity) {
                     return me->take(std::move(order_id), quantity);
                   },
                   [me](resume_atom) { me->flush(); },
               }));
  }

  caf::result<stock_record> set_on_hand(int64_t on_hand) {
    if (on_hand < 0)
      return make_error(errc::invalid_argument, "on_hand must not be negative");
    auto next = stock_.value_or(stock_record{ctx_.key(), 0, 0, 0});
    if (on_hand < next.reserved)
      return make_error(errc::invalid_state, std::to_string(next.reserved) +
                                                 " units are reserved; on_hand cannot go below");
    next.on_hand = on_hand;
    return write([&](auto done) { repo_->set_on_hand(self_, next, done); });
  }

  caf::result<stock_record> reserve(const std::string& order_id, int64_t quantity) {
    if (quantity <= 0)
      return make_error(errc::invalid_argument, "quantity must be positive");
    if (!stock_)
      return make_error(errc::out_of_stock, "no stock of " + ctx_.key());
    if (held_.count(order_id) > 0)
      return *stock_; // a repeated request of the same order
    return enqueue({stock_op::kind::reserve, order_id, quantity});
  }

  // A repeated take is answered by the store (taken rows are not kept in memory).
  caf::result<stock_record> take(std::string order_id, int64_t quantity) {
    if (quantity <= 0)
      return make_error(errc::invalid_argument, "quantity must be positive");
    if (!stock_)
      return make_error(errc::out_of_stock, "no stock of " + ctx_.key());
    return enqueue({stock_op::kind::take, std::move(order_id), quantity});
  }

  // Queues `op` for the next batch. The flush message goes behind whatever is in the
  // mailbox now (including messages held back by a write in flight), so every op that
  // queued up meanwhile joins one store write instead of waiting for one each.
  caf::result<stock_record> enqueue(stock_op op) {
    auto promise = self_->make_response_promise<stock_record>();
    pending_.push_back({std::move(op), promise});
    if (!flush_sent_) {
      flush_sent_ = true;
      self_->send(self_, resume_atom::value);
    }
    return promise;
  }

  void flush() {
    flush_sent_ = false;
    if (pending_.empty())
      return;
    auto batch = std::move(pending_);
    pending_.clear();
    std::vector<stock_op> ops;
    ops.reserve(batch.size());
    for (const auto& p : batch)
      ops.push_back(p.op);
    auto at = stock_.value_or(stock_record{ctx_.key(), 0, 0, 0});
    barrier_.hold();
    auto me = shared_from_this();
    repo_->apply(self_, at, std::move(ops),
                 [me, batch = std::move(batch)](caf::expected<stock_outcome> out) mutable {
                   me->barrier_.release();
                   if (!out) {
                     if (is(out.error(), errc::version_conflict))
                       me->ctx_.passivate(me->self_);
                     for (auto& p : batch)
                       p.promise.deliver(out.error());
                     return;
                   }
                   if (out->stock.version > 0) // version 0: markers only, still no row
                     me->stock_ = out->stock;
                   for (size_t i = 0; i < batch.size(); ++i)
                     me->settle(batch[i], out->results[i], out->stock);
                 });
  }

  // Answers one op of a batch and keeps the held reservations in memory in step.
  void settle(pending_op& p, caf::error& err, const stock_record& now) {
    if (err) {
      p.promise.deliver(std::move(err));
      return;
    }
    if (p.op.what == stock_op::kind::reserve)
      held_.emplace(p.op.order_id, p.op.quantity);
    else
      held_.erase(p.op.order_id);
    p.promise.deliver(now);
  }

  // Runs one store write with every other message held back until it is done; a
  // conflict means another activation wrote meanwhile, so this one steps aside.
  template <class Start>
  caf::result<stock_record> write(Start start) {
    auto promise = self_->make_response_promise<stock_record>();
    barrier_.hold();
    auto me = shared_from_this();
    start([me, promise](caf::expected<stock_record> stored) mutable {
      if (stored)
        me->stock_ = *stored;
      else if (is(stored.error(), errc::version_conflict)) {
        me->ctx_.passivate(me->self_);
      }
      placement::settle(promise, std::move(stored));
      me->barrier_.release();
    });
    return promise;
  }

  caf::event_based_actor* self_;
  placement::entity_context ctx_;
  std::shared_ptr<stock_repository> repo_;
  std::optional<stock_record> stock_;
  std::unordered_map<std::string, int64_t> held_;
  std::vector<pending_op> pending_;
  bool flush_sent_ = false;
  placement::write_barrier barrier_;
};

} // namespace

placement::entity_kind stock_entity_kind(std::shared_ptr<stock_repository> repo,
                                         caf::timespan idle_timeout) {
  placement::entity_kind kind;
  kind.name = stock_kind_name;
  kind.idle_timeout = idle_timeout;
  kind.activate = [repo](caf::event_based_actor* self, const placement::entity_context& ctx) {
    return std::make_shared<stock_activation>(self, ctx, repo)->start();
  };
  return kind;
}

} // namespace troupe::order
