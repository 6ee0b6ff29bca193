#include <optional>
#include <unordered_map>

#include <caf/event_based_actor.hpp>

#include "troupe/core/error.hpp"
#include "troupe/order/stock.hpp"
#include "troupe/placement/write_barrier.hpp"

namespace troupe::order {

namespace {

/// One activation of a SKU. It answers out-of-stock and repeated reserves from memory;
/// every change is a conditional write to the store, with other messages held meanwhile.
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
                   [me](release_atom, const std::string& order_id) -> caf::result<stock_record> {
                     // Without a row nothing is held, but the marker still makes a late reserve
                     // of this order a no-op once the SKU is stocked.
                     auto at = me->stock_.value_or(stock_record{me->ctx_.key(), 0, 0, 0});
                     return me->write(
                         [&](auto done) { me->repo_->release(me->self_, at, order_id, done); },
                         [me, order_id] { me->held_.erase(order_id); });
                   },
                   [me](commit_atom, const std::string& order_id) -> caf::result<stock_record> {
                     if (!me->stock_)
                       return make_error(errc::invalid_state, "no reservation of " + order_id);
                     return me->write(
                         [&](auto done) {
                           me->repo_->commit(me->self_, *me->stock_, order_id, done);
                         },
                         [me, order_id] { me->held_.erase(order_id); });
                   },
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
    return write([&](auto done) { repo_->set_on_hand(self_, next, done); }, [] {});
  }

  caf::result<stock_record> reserve(const std::string& order_id, int64_t quantity) {
    if (quantity <= 0)
      return make_error(errc::invalid_argument, "quantity must be positive");
    if (!stock_)
      return make_error(errc::out_of_stock, "no stock of " + ctx_.key());
    if (held_.count(order_id) > 0)
      return *stock_; // a repeated request of the same order
    // Refused from memory: the activation holds the latest committed row.
    if (stock_->on_hand - stock_->reserved < quantity)
      return make_error(errc::out_of_stock, std::to_string(stock_->on_hand - stock_->reserved) +
                                                " of " + ctx_.key() + " available, " +
                                                std::to_string(quantity) + " requested");
    auto me = shared_from_this();
    return write([&](auto done) { repo_->reserve(self_, *stock_, order_id, quantity, done); },
                 [me, order_id, quantity] { me->held_[order_id] = quantity; });
  }

  // Runs one store write with every other message held back until it is done; a
  // conflict means another activation wrote meanwhile, so this one steps aside.
  template <class Start, class Then>
  caf::result<stock_record> write(Start start, Then on_success) {
    auto promise = self_->make_response_promise<stock_record>();
    barrier_.hold();
    auto me = shared_from_this();
    start([me, promise, on_success](caf::expected<stock_record> stored) mutable {
      if (stored) {
        if (stored->version > 0) // version 0: a marker only, the SKU still has no row
          me->stock_ = *stored;
        on_success();
      } else if (is(stored.error(), errc::version_conflict)) {
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
