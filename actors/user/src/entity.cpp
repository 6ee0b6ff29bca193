#include "troupe/user/entity.hpp"

#include <optional>

#include <caf/event_based_actor.hpp>
#include <caf/skip.hpp>

#include "troupe/core/clock.hpp"
#include "troupe/core/error.hpp"
#include "troupe/placement/write_barrier.hpp"

namespace troupe::user {

namespace {

/// One activation of a user.
class user_activation : public std::enable_shared_from_this<user_activation> {
public:
  user_activation(caf::event_based_actor* self, placement::entity_context ctx,
                  std::shared_ptr<user_repository> repo, std::shared_ptr<user_snapshots> board)
      : self_(self), ctx_(std::move(ctx)), repo_(std::move(repo)), board_(std::move(board)),
        barrier_(self) {}

  /// Loads first; messages that arrive meanwhile wait in the mailbox.
  caf::behavior start() {
    auto me = shared_from_this();
    // Whatever ends this activation, its copy must not outlive it.
    self_->attach_functor([me] { me->withdraw(); });
    return ctx_.load_first(
        self_,
        [me](auto done) {
          me->repo_->load(me->self_, me->ctx_.key(), [me, done](caf::expected<user_record> loaded) {
            if (loaded)
              me->set_state(std::move(*loaded));
            else if (!is(loaded.error(), errc::no_such_record))
              return done(loaded.error());
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
                   [me](fetch_atom) -> caf::result<user_record> {
                     if (!me->state_)
                       return make_error(errc::no_such_record, "no such user");
                     return *me->state_;
                   },
                   [me](create_atom, user_record& rec) -> caf::result<user_record> {
                     if (me->state_)
                       return make_error(errc::already_exists, "user exists");
                     rec.id = me->ctx_.key();
                     rec.created_at_ms = rec.updated_at_ms = unix_now_ms();
                     return me->write([&](auto done) { me->repo_->insert(me->self_, rec, done); });
                   },
                   [me](update_atom, const user_patch& patch) -> caf::result<user_record> {
                     if (!me->state_)
                       return make_error(errc::no_such_record, "no such user");
                     auto next = *me->state_;
                     if (patch.set_display_name)
                       next.display_name = patch.display_name;
                     if (patch.set_password_hash)
                       next.password_hash = patch.password_hash;
                     if (patch.set_role)
                       next.role = patch.role;
                     next.updated_at_ms = unix_now_ms();
                     return me->write([&](auto done) { me->repo_->update(me->self_, next, done); });
                   },
                   [me](remove_atom) -> caf::result<bool> { return me->remove(); },
               }));
  }

  // Runs one store write with every other message held back until it is done, so
  // the activation's state and the stored version never drift apart.
  template <class Start>
  caf::result<user_record> write(Start start) {
    auto promise = self_->make_response_promise<user_record>();
    barrier_.hold();
    auto me = shared_from_this();
    start([me, promise](caf::expected<user_record> stored) mutable {
      bool lapsed = stored && !me->ctx_.unbroken();
      if (lapsed)
        stored = me->lapsed();
      if (stored)
        me->set_state(*stored);
      else if (lapsed || is(stored.error(), errc::version_conflict))
        me->passivate();
      placement::settle(promise, std::move(stored));
      me->barrier_.release();
    });
    return promise;
  }

  caf::result<bool> remove() {
    if (!state_)
      return make_error(errc::no_such_record, "no such user");
    auto promise = self_->make_response_promise<bool>();
    barrier_.hold();
    auto me = shared_from_this();
    repo_->remove(self_, state_->id, state_->version,
                  [me, promise](caf::expected<bool> removed) mutable {
                    if (removed && !me->ctx_.unbroken())
                      removed = me->lapsed();
                    if (removed)
                      me->set_state(std::nullopt);
                    me->passivate();
                    placement::settle(promise, std::move(removed));
                    me->barrier_.release();
                  });
    return promise;
  }

  // A write stored after this node's lease lapsed is not acknowledged: another node may have
  // loaded the user before it landed and would serve reads without it.
  caf::error lapsed() const {
    return make_error(errc::node_down, "user " + ctx_.key() +
                                           " moved while it was being written; it may or may "
                                           "not have been stored");
  }

  // Publishes before the caller hears of the change, so it reads its own write.
  void set_state(std::optional<user_record> next) {
    state_ = std::move(next);
    withdraw();
    if (board_ && state_) {
      auto copy = std::make_shared<user_copy>();
      copy->record = *state_;
      published_ = std::move(copy);
      board_->publish(ctx_.key(), published_, ctx_.tenure());
    }
  }

  void withdraw() {
    if (board_ && published_)
      board_->withdraw(ctx_.key(), published_);
    published_ = nullptr;
  }

  void passivate() {
    withdraw(); // a passivating activation no longer speaks for the key
    ctx_.passivate(self_);
  }

  caf::event_based_actor* self_;
  placement::entity_context ctx_;
  std::shared_ptr<user_repository> repo_;
  std::shared_ptr<user_snapshots> board_;
  std::shared_ptr<const user_copy> published_;
  std::optional<user_record> state_;
  placement::write_barrier barrier_;
};

} // namespace

placement::entity_kind user_entity_kind(std::shared_ptr<user_repository> repo,
                                        caf::timespan idle_timeout,
                                        std::shared_ptr<user_snapshots> board) {
  placement::entity_kind kind;
  kind.name = entity_kind_name;
  kind.idle_timeout = idle_timeout;
  kind.activate = [repo, board](caf::event_based_actor* self,
                                const placement::entity_context& ctx) {
    return std::make_shared<user_activation>(self, ctx, repo, board)->start();
  };
  return kind;
}

} // namespace troupe::user
