// The dispatcher on the deterministic scheduler: attempts go on while the write that records
// the last ones as sent commits, and a stop waits until every sent one is recorded.

#include "troupe/notification/dispatcher.hpp"

#include <memory>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_response_promise.hpp>

#include "fixture.hpp"
#include "troupe/notification/handoff.hpp"
#include "troupe/notification/provider.hpp"
#include "troupe/notification/store.hpp"

namespace troupe::notification::test {
namespace {

using hold_atom = caf::atom_constant<caf::atom("hold")>;
using release_atom = caf::atom_constant<caf::atom("release")>;

// Holds each request until told to answer the oldest: the answer then arrives in the asking
// actor as any store's would.
caf::behavior gate(caf::event_based_actor* self,
                   std::shared_ptr<std::vector<caf::typed_response_promise<size_t>>> held) {
  return {
      [self, held](hold_atom) -> caf::typed_response_promise<size_t> {
        held->push_back(self->make_response_promise<size_t>());
        return held->back();
      },
      [held](release_atom, size_t n) {
        held->front().deliver(n);
        held->erase(held->begin());
      },
  };
}

// The memory store, except that "sent" writes wait at the gate until the test lets them answer.
class held_sent_store final : public notification_store {
public:
  explicit held_sent_store(caf::actor gate) : gate_(std::move(gate)) {}

  void record(caf::event_based_actor* self, notice n, reply<size_t> done) override {
    mem_->record(self, std::move(n), std::move(done));
  }
  void claim_due(caf::event_based_actor* self, size_t limit, std::chrono::milliseconds lease,
                 reply<std::vector<notification_record>> done) override {
    mem_->claim_due(self, limit, lease, std::move(done));
  }
  void mark_sent(caf::event_based_actor* self, std::vector<std::string> ids,
                 reply<size_t> done) override {
    sizes.push_back(ids.size());
    self->request(gate_, caf::infinite, hold_atom::value)
        .then([done](size_t n) { done(n); }, [done](caf::error& err) { done(std::move(err)); });
  }
  void mark_failed(caf::event_based_actor* self, std::string id, std::string error, bool dead,
                   std::chrono::milliseconds retry_in, reply<bool> done) override {
    mem_->mark_failed(self, std::move(id), std::move(error), dead, retry_in, std::move(done));
  }
  void preferences_of(caf::event_based_actor* self, std::string user_id,
                      reply<preferences> done) override {
    mem_->preferences_of(self, std::move(user_id), std::move(done));
  }
  void set_preferences(caf::event_based_actor* self, preferences p,
                       reply<preferences> done) override {
    mem_->set_preferences(self, std::move(p), std::move(done));
  }
  void list(caf::event_based_actor* self, std::string user_id, size_t limit,
            reply<std::vector<notification_record>> done) override {
    mem_->list(self, std::move(user_id), limit, std::move(done));
  }

  // The size of each "sent" write asked for, in order.
  std::vector<size_t> sizes;

private:
  caf::actor gate_;
  std::shared_ptr<notification_store> mem_ = make_memory_notification_store();
};

// Delivers everything at once, and counts.
class instant_provider final : public provider {
public:
  void send(const delivery&, delivery_callback done) override {
    ++sent;
    done(caf::error{});
  }
  int sent = 0;
};

class dispatcher_test : public supervision::test::supervision_test {
protected:
  dispatcher_test() {
    keep(gate_);
    dispatcher_config cfg;
    cfg.batch = 2;
    cfg.handoff = handoff_;
    dispatcher_ = *dispatcher_child(store_, provider_, cfg, nullptr).start(sys_ref());
    keep(dispatcher_);
    caf::actor_cast<caf::abstract_actor*>(dispatcher_)->attach_functor([down = down_] {
      *down = true;
    });
    run();
  }

  void hand(int n) {
    std::vector<notification_record> rows(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
      rows[static_cast<size_t>(i)].id = "n-" + std::to_string(next_++);
    handoff_->push(std::move(rows));
    run();
  }

  // "Sent" writes asked for and not answered yet.
  size_t waiting() const { return held_->size(); }

  // Answers the oldest waiting "sent" write as stored.
  void release() {
    caf::anon_send(gate_, release_atom::value, size_t{1});
    run();
  }

  std::shared_ptr<std::vector<caf::typed_response_promise<size_t>>> held_ =
      std::make_shared<std::vector<caf::typed_response_promise<size_t>>>();
  caf::actor gate_ = sys_ref().spawn(gate, held_);
  std::shared_ptr<held_sent_store> store_ = std::make_shared<held_sent_store>(gate_);
  std::shared_ptr<instant_provider> provider_ = std::make_shared<instant_provider>();
  std::shared_ptr<handoff> handoff_ = std::make_shared<handoff>();
  caf::actor dispatcher_;
  // Outlives the fixture's members: the dispatcher ends in the base's destructor.
  std::shared_ptr<bool> down_ = std::make_shared<bool>(false);
  int next_ = 0;
};

TEST_F(dispatcher_test, attempts_go_on_while_the_sent_write_commits) {
  hand(6);
  EXPECT_EQ(provider_->sent, 6) << "sent ones waiting for their write held up new attempts";
  ASSERT_EQ(waiting(), 1u) << "one sent write at a time";
  release();
  ASSERT_EQ(waiting(), 1u);
  release();
  EXPECT_EQ(waiting(), 0u);
  EXPECT_EQ(store_->sizes, (std::vector<size_t>{1, 5})) << "what came back meanwhile shares "
                                                           "the next write";
}

TEST_F(dispatcher_test, a_stop_waits_until_every_sent_one_is_recorded) {
  hand(3);
  ASSERT_EQ(waiting(), 1u);
  caf::anon_send_exit(dispatcher_, caf::exit_reason::user_shutdown);
  run();
  release();
  ASSERT_EQ(waiting(), 1u) << "the rest are written before it quits";
  EXPECT_FALSE(*down_);
  release();
  EXPECT_TRUE(*down_);
  EXPECT_EQ(store_->sizes, (std::vector<size_t>{1, 2}));
}

} // namespace
} // namespace troupe::notification::test
