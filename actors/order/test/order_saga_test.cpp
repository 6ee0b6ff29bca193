// The order saga on the deterministic scheduler: order and SKU regions over the memory
// repositories, and the payment gateway over the simulated provider, all found by name.

#include <functional>
#include <unordered_map>

#include <caf/typed_event_based_actor.hpp>

#include "entity_fixture.hpp"
#include "payment_fixture.hpp"
#include "troupe/order/orders.hpp"
#include "troupe/order/payment_gateway.hpp"
#include "troupe/order/services.hpp"
#include "troupe/order/sim_payment.hpp"
#include "troupe/order/stock.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::order::test {
namespace {

/// What reached the provider, seen by a proxy between the gateway and the simulated provider.
struct payment_log {
  /// Authorization requests, by order id.
  std::vector<std::string> asked;
  /// Authorization ids the provider granted, whether or not anyone was still waiting.
  std::vector<std::string> granted;
  /// Order ids voided.
  std::vector<std::string> voided;
  /// Order ids whose authorization the provider refused or failed, whether or not anyone was
  /// still waiting.
  std::vector<std::string> refused;
};

// Wakes the recording proxy when an authorization has waited out its extra delay.
using wake_atom = caf::atom_constant<caf::atom("wake")>;

using recording_actor = payment_provider::extend<caf::reacts_to<wake_atom, uint64_t>>;

/// An order repository that counts the reads the entities make and passes everything on.
class counting_orders final : public order_repository {
public:
  explicit counting_orders(std::shared_ptr<order_repository> inner) : inner_(std::move(inner)) {}

  void load(caf::event_based_actor* self, const std::string& id,
            reply<order_record> done) override {
    ++loads;
    inner_->load(self, id, std::move(done));
  }
  void insert(caf::event_based_actor* self, order_record rec, reply<order_record> done) override {
    inner_->insert(self, std::move(rec), std::move(done));
  }
  void update(caf::event_based_actor* self, order_record rec, std::optional<events::event> event,
              reply<order_record> done) override {
    inner_->update(self, std::move(rec), std::move(event), std::move(done));
  }
  void list(caf::event_based_actor* self, order_query q,
            reply<std::vector<order_record>> done) override {
    inner_->list(self, std::move(q), std::move(done));
  }
  void unfinished(caf::event_based_actor* self, int64_t before_ms, size_t limit,
                  reply<std::vector<std::string>> done) override {
    inner_->unfinished(self, before_ms, limit, std::move(done));
  }

  /// Calls of `load` so far.
  size_t loads = 0;

private:
  std::shared_ptr<order_repository> inner_;
};

/// A provider that forwards to `provider` and writes down what passes through. Authorizations
/// (only they) reach `provider` `authorize_delay` late, so they can outlast the gateway's
/// timeout while voids still answer in time.
payment_provider recording(caf::actor_system& sys, payment_provider provider,
                           std::shared_ptr<payment_log> log,
                           caf::timespan authorize_delay = caf::timespan{0}) {
  return sys.spawn([provider, log, authorize_delay](
                       recording_actor::pointer self) -> recording_actor::behavior_type {
    auto waiting = std::make_shared<std::unordered_map<uint64_t, std::function<void()>>>();
    auto next_ticket = std::make_shared<uint64_t>(0);
    return {
        [=](authorize_atom, payment_request& req) -> caf::result<authorization> {
          log->asked.push_back(req.order_id);
          auto rp = self->make_response_promise<authorization>();
          auto forward = [=]() mutable {
            self->request(provider, caf::infinite, authorize_atom::value, req)
                .then(
                    [=](authorization& a) mutable {
                      log->granted.push_back(a.id);
                      rp.deliver(std::move(a));
                    },
                    [=](caf::error& err) mutable {
                      log->refused.push_back(req.order_id);
                      rp.deliver(std::move(err));
                    });
          };
          if (authorize_delay <= caf::timespan{0}) {
            forward();
          } else {
            auto ticket = (*next_ticket)++;
            waiting->emplace(ticket, std::move(forward));
            self->delayed_send(caf::actor_cast<recording_actor>(self), authorize_delay,
                               wake_atom::value, ticket);
          }
          return rp;
        },
        [=](wake_atom, uint64_t ticket) {
          if (auto it = waiting->find(ticket); it != waiting->end()) {
            auto forward = std::move(it->second);
            waiting->erase(it);
            forward();
          }
        },
        [=](void_atom, std::string& id) -> caf::result<caf::ok_atom> {
          log->voided.push_back(id);
          auto rp = self->make_response_promise<caf::ok_atom>();
          self->request(provider, caf::infinite, void_atom::value, std::move(id))
              .then([=](caf::ok_atom) mutable { rp.deliver(caf::ok_atom::value); },
                    [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
          return rp;
        },
    };
  });
}

/// What a place request answers.
struct placed {
  order_record order;
  bool created = false;
};

using items = std::vector<order_item>;

class order_saga_test : public entity_test {
protected:
  /// Starts the SKU region, the payment gateway over the simulated provider (unless
  /// `with_payment` is false) and the order region, registered by name, and stocks
  /// 10 apples and 5 pears.
  void start(sim_payment_config sim = {}, std::string crash_after = {}, bool with_payment = true,
             caf::timespan authorize_delay = caf::timespan{0}) {
    skus_ = region(stock_entity_kind(stock_repo_, 2min));
    names_->put(stock_kind_name, skus_);
    if (with_payment)
      start_payment(sim, authorize_delay);
    saga_config cfg;
    cfg.names = names_;
    cfg.locator = locator();
    cfg.crash_after = crash_after;
    orders_ = region(order_entity_kind(order_repo_, cfg, 2min));
    names_->put(order_kind_name, orders_);
    ASSERT_TRUE(ask<stock_record>(skus_, "apple", set_stock_atom::value, int64_t{10}));
    ASSERT_TRUE(ask<stock_record>(skus_, "pear", set_stock_atom::value, int64_t{5}));
  }

  /// The gateway, with its default two-second timeout, over a recorded simulated provider
  /// that authorizations reach `authorize_delay` late.
  void start_payment(sim_payment_config sim, caf::timespan authorize_delay = caf::timespan{0}) {
    auto provider = spawn_sim_payment(sys_ref(), sim);
    keep(caf::actor_cast<caf::actor>(provider));
    provider_ = provider;
    provider_latency_ = sim.latency;
    auto proxy = recording(sys_ref(), provider, payments_, authorize_delay);
    keep(caf::actor_cast<caf::actor>(proxy));
    auto gateway = spawn_payment_gateway(sys_ref(), proxy);
    keep(caf::actor_cast<caf::actor>(gateway));
    names_->put(payment_name, caf::actor_cast<caf::actor>(gateway));
    run();
  }

  /// A place request of user u1 for `lines`, paid with `token`.
  static order_record request(std::string token = std::string{sim_token_ok},
                              items lines = {{"apple", 2}, {"pear", 1}},
                              std::string hash = "hash-1") {
    order_record r;
    r.user_id = "u1";
    r.items = std::move(lines);
    r.payment_method = "card";
    r.payment_token = std::move(token);
    r.request_hash = std::move(hash);
    return r;
  }

  /// Places order `id` (its idempotency key is derived from the id) and runs.
  answer<placed> place(const std::string& id, order_record req) {
    req.idempotency_key = "key-" + id;
    auto out = std::make_shared<std::optional<caf::expected<placed>>>();
    inside([=, region = orders_](caf::event_based_actor* self) {
      placement::ask(
          self, region, id, ask_timeout, std::make_tuple(place_atom::value, req),
          [=](const order_record& r, bool created) {
            *out = placed{r, created};
          },
          [=](const caf::error& err) { *out = caf::expected<placed>{err}; });
    });
    return out;
  }

  caf::expected<order_record> fetch(const std::string& id) {
    return ask<order_record>(orders_, id, fetch_atom::value);
  }

  answer<order_record> cancel(const std::string& id) {
    return send<order_record>(orders_, id, cancel_atom::value);
  }

  /// Wakes order `id` the way the recovery worker does; true once the wake-up is answered.
  std::shared_ptr<bool> resume(const std::string& id) {
    auto woken = std::make_shared<bool>(false);
    inside([=, region = orders_](caf::event_based_actor* self) {
      placement::ask(
          self, region, id, ask_timeout, std::make_tuple(resume_atom::value),
          [=] { *woken = true; },
          [=](const caf::error& err) {
            ADD_FAILURE() << "resume " << id << ": " << describe(err);
          });
    });
    return woken;
  }

  /// The order as the repository holds it, read behind the entity's back.
  caf::expected<order_record> stored(const std::string& id) {
    auto out =
        std::make_shared<caf::expected<order_record>>(make_error(errc::timeout, "no answer"));
    inside([=, repo = order_repo_](caf::event_based_actor* self) {
      repo->load(self, id, [=](caf::expected<order_record> x) { *out = std::move(x); });
    });
    return *out;
  }

  /// Inserts `rec` into the order repository directly, as a node that died mid-saga left it.
  void insert_behind(order_record rec) {
    auto ok = std::make_shared<bool>(false);
    inside([=, repo = order_repo_](caf::event_based_actor* self) {
      repo->insert(self, rec, [=](caf::expected<order_record> x) {
        *ok = static_cast<bool>(x);
        EXPECT_TRUE(x) << describe(x.error());
      });
    });
    ASSERT_TRUE(*ok);
  }

  /// Asserts the stored stock of `sku` and that nothing is held against it.
  void expect_stock(const std::string& sku, int64_t on_hand, int64_t reserved) {
    auto out = std::make_shared<caf::expected<stock_state>>(make_error(errc::timeout, "no answer"));
    inside([=, repo = stock_repo_](caf::event_based_actor* self) {
      repo->load(self, sku, [=](caf::expected<stock_state> x) { *out = std::move(x); });
    });
    ASSERT_TRUE(*out) << describe(out->error());
    EXPECT_EQ((*out)->stock.on_hand, on_hand) << sku;
    EXPECT_EQ((*out)->stock.reserved, reserved) << sku;
    int64_t held = 0;
    for (auto& [order_id, quantity] : (*out)->held)
      held += quantity;
    EXPECT_EQ(held, reserved) << sku << ": reserved units without a held reservation";
  }

  /// Asserts that order `id` is stored and served in `status` (with `reason`).
  void expect_order(const std::string& id, order_status status, const std::string& reason = {}) {
    auto row = stored(id);
    ASSERT_TRUE(row) << describe(row.error());
    EXPECT_EQ(to_string(row->status), std::string{to_string(status)}) << "stored";
    EXPECT_EQ(row->reason, reason) << "stored";
    auto live = fetch(id);
    ASSERT_TRUE(live) << describe(live.error());
    EXPECT_EQ(to_string(live->status), std::string{to_string(status)}) << "served";
    EXPECT_EQ(live->version, row->version);
  }

  /// Asks the simulated provider itself (not through the gateway or the log) to authorize
  /// order `id` with a token it always authorizes, and waits out its latency. Authorizing an
  /// order that still holds a live authorization answers that authorization again.
  caf::expected<authorization> authorize_at_provider(const std::string& id) {
    auto out =
        std::make_shared<caf::expected<authorization>>(make_error(errc::timeout, "no answer"));
    inside([=, provider = provider_](caf::event_based_actor* self) {
      self->request(provider, caf::infinite, authorize_atom::value,
                    payment_request{id, "card", std::string{sim_token_ok}})
          .then([=](authorization& a) { *out = std::move(a); },
                [=](caf::error& err) { *out = std::move(err); });
    });
    if (provider_latency_ > caf::timespan{0})
      advance(provider_latency_);
    return *out;
  }

  /// Asserts that order `id` holds no live authorization at the provider and can no longer
  /// get one: a live one would be answered again, a fresh one granted.
  void expect_voided_at_provider(const std::string& id) {
    auto probe = authorize_at_provider(id);
    EXPECT_TRUE(fails_with(probe, errc::payment_declined))
        << "order " << id << " can still be authorized at the provider"
        << (probe ? " (authorization " + probe->id + ")" : std::string{});
  }

  /// Places order `id` and expects it to be created, in status pending.
  void place_new(const std::string& id, order_record req) {
    auto p = value_of(place(id, std::move(req)));
    ASSERT_TRUE(p) << describe(p.error());
    EXPECT_TRUE(p->created);
    EXPECT_EQ(p->order.id, id);
  }

  std::shared_ptr<stock_repository> stock_repo_ = make_memory_stock_repository();
  std::shared_ptr<counting_orders> counted_ =
      std::make_shared<counting_orders>(make_memory_order_repository());
  std::shared_ptr<order_repository> order_repo_ = counted_;
  std::shared_ptr<payment_log> payments_ = std::make_shared<payment_log>();
  payment_provider provider_;
  caf::timespan provider_latency_{0};
  caf::actor skus_;
  caf::actor orders_;
};

using strings = std::vector<std::string>;

TEST_F(order_saga_test, a_paid_order_is_confirmed_and_its_stock_taken) {
  start();
  auto p = value_of(place("o1", request()));
  ASSERT_TRUE(p) << describe(p.error());
  EXPECT_TRUE(p->created);
  EXPECT_EQ(p->order.id, "o1");
  EXPECT_EQ(p->order.version, 1u);
  EXPECT_EQ(p->order.status, order_status::pending) << "answered once stored, before the saga";
  EXPECT_GT(p->order.created_at_ms, 0);
  expect_order("o1", order_status::confirmed);
  auto order = stored("o1");
  ASSERT_TRUE(order);
  EXPECT_FALSE(order->authorization_id.empty());
  EXPECT_EQ(payments_->granted, strings{order->authorization_id});
  EXPECT_TRUE(payments_->voided.empty());
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, a_declined_payment_rejects_the_order_and_restores_the_stock) {
  start();
  place_new("o1", request(std::string{sim_token_decline}));
  expect_order("o1", order_status::rejected, "payment_declined");
  EXPECT_TRUE(stored("o1")->authorization_id.empty());
  EXPECT_EQ(payments_->asked, strings{"o1"});
  EXPECT_TRUE(payments_->granted.empty());
  EXPECT_EQ(payments_->voided, strings{"o1"}) << "rejecting voids the order's payment";
  expect_voided_at_provider("o1");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
}

TEST_F(order_saga_test, out_of_stock_voids_the_payment_and_returns_the_earlier_lines) {
  start();
  place_new("o1", request(std::string{sim_token_ok}, {{"apple", 2}, {"pear", 6}}));
  expect_order("o1", order_status::rejected, "out_of_stock");
  EXPECT_EQ(payments_->asked, strings{"o1"}) << "the payment comes before the stock";
  ASSERT_EQ(payments_->granted.size(), 1u);
  EXPECT_EQ(stored("o1")->authorization_id, payments_->granted.front());
  EXPECT_EQ(payments_->voided, strings{"o1"}) << "authorized, so voided";
  expect_voided_at_provider("o1");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  // The returned units are available to the next order.
  place_new("o2", request(std::string{sim_token_ok}, {{"apple", 10}, {"pear", 5}}));
  expect_order("o2", order_status::confirmed);
  EXPECT_EQ(payments_->voided, strings{"o1"}) << "a confirmed order voids nothing";
  expect_stock("apple", 0, 0);
  expect_stock("pear", 0, 0);
}

TEST_F(order_saga_test, out_of_stock_returns_the_lines_taken_only_once_the_payment_is_voided) {
  start(with_latency(1s));
  place_new("o1", request(std::string{sim_token_ok}, {{"apple", 2}, {"pear", 6}}));
  expect_order("o1", order_status::pending); // authorization under way
  expect_stock("apple", 10, 0);
  advance(1s); // authorized: apple is taken, pear is short, the void is under way
  EXPECT_EQ(stored("o1")->status, order_status::rejecting);
  EXPECT_EQ(stored("o1")->reason, "out_of_stock");
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_stock("apple", 8, 0);
  advance(1s);
  expect_order("o1", order_status::rejected, "out_of_stock");
  expect_voided_at_provider("o1");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
}

TEST_F(order_saga_test, without_a_payment_provider_the_saga_waits_in_pending_holding_nothing) {
  start({}, {}, /*with_payment=*/false);
  place_new("o1", request());
  advance(10s);
  expect_order("o1", order_status::pending);
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  start_payment({});
  advance(10s); // a retry finds the gateway
  expect_order("o1", order_status::confirmed);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, an_unknown_sku_rejects_the_order_as_out_of_stock) {
  start();
  place_new("o1", request(std::string{sim_token_ok}, {{"apple", 1}, {"zucchini", 1}}));
  expect_order("o1", order_status::rejected, "out_of_stock");
  expect_stock("apple", 10, 0);
}

TEST_F(order_saga_test, two_orders_competing_for_the_last_units_are_served_one_after_the_other) {
  start();
  place_new("o1", request(std::string{sim_token_ok}, {{"apple", 8}}));
  place_new("o2", request(std::string{sim_token_ok}, {{"apple", 8}}));
  expect_order("o1", order_status::confirmed);
  expect_order("o2", order_status::rejected, "out_of_stock");
  expect_stock("apple", 2, 0);
}

// The stale activation is fenced: it steps aside and the request goes at once to a fresh
// one, without waiting for the saga's retry delay.
TEST_F(order_saga_test, a_stock_conflict_mid_saga_is_retried_at_once_on_a_fresh_activation) {
  start();
  // Another writer moves apple's row behind its live activation, which will conflict once.
  auto moved = std::make_shared<bool>(false);
  inside([=, repo = stock_repo_](caf::event_based_actor* self) {
    repo->set_on_hand(self, stock_record{"apple", 12, 0, 1},
                      [=](caf::expected<stock_record> x) { *moved = static_cast<bool>(x); });
  });
  ASSERT_TRUE(*moved);
  place_new("o1", request());
  expect_order("o1", order_status::confirmed);
  EXPECT_EQ(region_counter("troupe_entity_activations_total", "sku"), 3u)
      << "apple was activated again after the conflict (apple, pear, apple)";
  expect_stock("apple", 10, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, a_replay_with_the_same_request_answers_the_same_order) {
  start();
  place_new("o1", request());
  auto first = stored("o1");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, order_status::confirmed);
  auto replay = value_of(place("o1", request()));
  ASSERT_TRUE(replay) << describe(replay.error());
  EXPECT_FALSE(replay->created);
  EXPECT_EQ(replay->order.id, "o1");
  EXPECT_EQ(replay->order.status, order_status::confirmed);
  EXPECT_EQ(replay->order.version, first->version);
  EXPECT_EQ(replay->order.authorization_id, first->authorization_id);
  EXPECT_EQ(payments_->asked.size(), 1u);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, a_replay_reaching_a_fresh_activation_answers_the_stored_order) {
  start();
  place_new("o1", request());
  advance(2min); // the order passivates
  auto replay = value_of(place("o1", request()));
  ASSERT_TRUE(replay) << describe(replay.error());
  EXPECT_FALSE(replay->created);
  EXPECT_EQ(replay->order.status, order_status::confirmed);
  expect_stock("apple", 8, 0);
}

TEST_F(order_saga_test, a_new_order_is_stored_without_a_read_and_a_replay_reads_it_once) {
  start();
  place_new("o1", request());
  EXPECT_EQ(counted_->loads, 0u) << "a new order was read before it was inserted";
  ASSERT_EQ(stored("o1")->status, order_status::confirmed); // and left memory, finished
  counted_->loads = 0;                                      // the test's own read
  auto replay = value_of(place("o1", request()));
  ASSERT_TRUE(replay) << describe(replay.error());
  EXPECT_FALSE(replay->created);
  EXPECT_EQ(replay->order.status, order_status::confirmed);
  EXPECT_EQ(counted_->loads, 1u) << "the replay's conflict reads the stored order once";
  auto again = value_of(place("o1", request()));
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(counted_->loads, 1u) << "the activation knows the order now";
  EXPECT_EQ(payments_->asked.size(), 1u);
}

TEST_F(order_saga_test, a_different_request_under_the_same_key_is_an_idempotency_mismatch) {
  start();
  place_new("o1", request());
  auto version = stored("o1")->version;
  auto other =
      value_of(place("o1", request(std::string{sim_token_ok}, {{"apple", 5}}, "another-hash")));
  EXPECT_TRUE(fails_with(other, errc::idempotency_mismatch));
  auto other_user = request();
  other_user.user_id = "u2";
  EXPECT_TRUE(fails_with(value_of(place("o1", other_user)), errc::idempotency_mismatch));
  EXPECT_EQ(stored("o1")->version, version) << "the order must not change";
  expect_stock("apple", 8, 0);
}

TEST_F(order_saga_test, a_cancel_before_confirmation_voids_the_authorization_and_returns_stock) {
  start(with_latency(1s));
  place_new("o1", request());
  expect_order("o1", order_status::pending); // authorization under way
  auto cancelled = cancel("o1");
  EXPECT_FALSE(cancelled->has_value()) << "the cancel waits for the authorization in flight";
  advance(1s); // authorized, taken, confirmed, then cancelling: the void is under way
  EXPECT_FALSE(cancelled->has_value());
  advance(1s);
  auto c = value_of(cancelled);
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->status, order_status::cancelled);
  expect_order("o1", order_status::cancelled);
  ASSERT_EQ(payments_->granted.size(), 1u);
  EXPECT_EQ(stored("o1")->authorization_id, payments_->granted.front());
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_voided_at_provider("o1");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
}

// With no authorization asked for, the cancel still voids the order: the provider holds
// nothing for it, and from then on refuses to authorize it.
TEST_F(order_saga_test, a_cancel_before_any_authorization_voids_nothing) {
  start({}, {}, /*with_payment=*/false); // the saga waits in pending, retrying the gateway
  place_new("o1", request());
  expect_order("o1", order_status::pending);
  expect_stock("apple", 10, 0);
  auto cancelled = cancel("o1");
  // Cancelling: the void waits for the gateway.
  EXPECT_FALSE(cancelled->has_value());
  EXPECT_EQ(stored("o1")->status, order_status::cancelling);
  expect_stock("apple", 10, 0);
  start_payment({});
  advance(10s); // the retries find the gateway now
  auto c = value_of(cancelled);
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->status, order_status::cancelled);
  expect_order("o1", order_status::cancelled);
  EXPECT_TRUE(stored("o1")->authorization_id.empty());
  EXPECT_TRUE(payments_->asked.empty()) << "a cancelling order must not be authorized";
  EXPECT_TRUE(payments_->granted.empty());
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  advance(10s); // any pending retries find nothing to do
  expect_order("o1", order_status::cancelled);
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_stock("apple", 10, 0);
  // A late authorization of the order, as one lost in flight would be, is refused.
  expect_voided_at_provider("o1");
}

TEST_F(order_saga_test, a_cancel_after_confirmation_voids_the_payment_and_returns_the_stock) {
  start();
  place_new("o1", request());
  expect_order("o1", order_status::confirmed);
  expect_stock("apple", 8, 0);
  auto authorization_id = stored("o1")->authorization_id;
  EXPECT_EQ(payments_->granted, strings{authorization_id});
  // Live at the provider before the cancel: authorizing again answers it.
  auto live = authorize_at_provider("o1");
  ASSERT_TRUE(live) << describe(live.error());
  EXPECT_EQ(live->id, authorization_id);
  auto c = value_of(cancel("o1"));
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->status, order_status::cancelled);
  expect_order("o1", order_status::cancelled);
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_voided_at_provider("o1");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  // A second cancel answers the cancelled order and changes nothing.
  auto again = value_of(cancel("o1"));
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_EQ(again->status, order_status::cancelled);
  EXPECT_EQ(payments_->voided.size(), 1u);
  expect_stock("apple", 10, 0);
}

TEST_F(order_saga_test, a_cancel_of_a_rejected_order_is_an_invalid_state) {
  start();
  place_new("o1", request(std::string{sim_token_decline}));
  expect_order("o1", order_status::rejected, "payment_declined");
  EXPECT_TRUE(fails_with(value_of(cancel("o1")), errc::invalid_state));
  expect_order("o1", order_status::rejected, "payment_declined");
}

TEST_F(order_saga_test, a_cancel_of_an_unknown_order_is_no_such_record) {
  start();
  EXPECT_TRUE(fails_with(value_of(cancel("nobody")), errc::no_such_record));
  EXPECT_TRUE(fails_with(fetch("nobody"), errc::no_such_record));
}

TEST_F(order_saga_test, with_provider_latency_the_saga_waits_in_pending_until_time_advances) {
  start(with_latency(1500ms));
  place_new("o1", request());
  expect_order("o1", order_status::pending);
  expect_stock("apple", 10, 0);
  advance(1499ms);
  expect_order("o1", order_status::pending);
  advance(1ms);
  expect_order("o1", order_status::confirmed);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, a_technical_payment_failure_rejects_the_order_as_payment_failed) {
  start(with_rates(0, 1));
  place_new("o1", request("tok_card"));
  expect_order("o1", order_status::rejected, "payment_failed");
  EXPECT_EQ(payments_->asked, strings{"o1"});
  EXPECT_TRUE(payments_->granted.empty());
  EXPECT_EQ(payments_->voided, strings{"o1"}) << "a failure is no proof that nothing was held";
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
}

// A provider answering after the gateway gave up may still have authorized: the saga does
// not know the outcome, so rejecting the order must not leave that money held.
TEST_F(order_saga_test, a_payment_timeout_leaves_no_live_authorization_behind) {
  // The authorization takes 2.5 s, the gateway gives up after 2 s; a void takes 1.5 s.
  start(with_latency(1500ms), {}, true, 1s);
  place_new("o1", request());
  advance(1s); // the authorization reaches the provider
  advance(1s); // the gateway gives up
  // Rejecting: the void is under way.
  EXPECT_EQ(stored("o1")->status, order_status::rejecting);
  EXPECT_EQ(stored("o1")->reason, "payment_failed");
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_stock("apple", 10, 0); // nothing was taken: the stock comes after the payment
  advance(500ms);               // the provider authorizes now, with no one waiting
  ASSERT_EQ(payments_->granted.size(), 1u);
  advance(1s); // the void settles it
  expect_order("o1", order_status::rejected, "payment_failed");
  EXPECT_TRUE(stored("o1")->authorization_id.empty());
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  advance(10s);
  EXPECT_EQ(payments_->voided, strings{"o1"});
  EXPECT_EQ(payments_->granted.size(), 1u);
  expect_voided_at_provider("o1");
}

// The other order of events: the void reaches the provider first, and the late
// authorization is refused instead of granted.
TEST_F(order_saga_test, an_authorization_arriving_after_the_timeout_and_void_is_refused) {
  start({}, {}, true, 3s); // the gateway gives up after 2 s
  place_new("o1", request());
  advance(2s);
  expect_order("o1", order_status::rejected, "payment_failed");
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  EXPECT_TRUE(payments_->refused.empty()) << "the authorization has not reached the provider";
  advance(1s); // now it does
  EXPECT_EQ(payments_->refused, strings{"o1"});
  EXPECT_TRUE(payments_->granted.empty())
      << "order o1 is rejected but the provider granted " << payments_->granted.front();
  advance(10s);
  expect_order("o1", order_status::rejected, "payment_failed");
  expect_voided_at_provider("o1");
}

TEST_F(order_saga_test, a_crash_after_pending_is_resumed_and_confirms_once) {
  start({}, "pending");
  place_new("crash-pending", request());
  EXPECT_EQ(region_counter("troupe_entity_crashes_total", "order"), 1u);
  EXPECT_EQ(stored("crash-pending")->status, order_status::pending);
  EXPECT_TRUE(payments_->asked.empty());
  expect_stock("apple", 10, 0);
  resume("crash-pending");
  expect_order("crash-pending", order_status::confirmed);
  EXPECT_EQ(payments_->asked.size(), 1u);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, a_crash_after_the_authorization_is_resumed_with_the_same_authorization) {
  start({}, "authorized");
  place_new("crash-authorized", request());
  // The activation died with the payment granted and nothing taken or stored since.
  EXPECT_EQ(region_counter("troupe_entity_crashes_total", "order"), 1u);
  auto left = stored("crash-authorized");
  ASSERT_TRUE(left);
  EXPECT_EQ(left->status, order_status::pending);
  ASSERT_EQ(payments_->granted.size(), 1u);
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  EXPECT_TRUE(*resume("crash-authorized"));
  expect_order("crash-authorized", order_status::confirmed);
  // Asked again, and answered the live authorization again: one payment held, not two.
  EXPECT_EQ(payments_->asked.size(), 2u);
  EXPECT_EQ(payments_->granted, (strings{payments_->granted.front(), payments_->granted.front()}));
  EXPECT_EQ(stored("crash-authorized")->authorization_id, payments_->granted.front());
  EXPECT_TRUE(payments_->voided.empty());
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
  // Waking a finished order again changes nothing.
  resume("crash-authorized");
  expect_order("crash-authorized", order_status::confirmed);
  expect_stock("apple", 8, 0);
}

TEST_F(order_saga_test, a_crash_after_the_take_is_resumed_without_taking_twice) {
  start({}, "taken");
  place_new("crash-taken", request());
  EXPECT_EQ(region_counter("troupe_entity_crashes_total", "order"), 1u);
  EXPECT_EQ(stored("crash-taken")->status, order_status::pending);
  expect_stock("apple", 8, 0); // taken, not confirmed
  expect_stock("pear", 4, 0);
  resume("crash-taken");
  expect_order("crash-taken", order_status::confirmed);
  EXPECT_EQ(stored("crash-taken")->authorization_id, payments_->granted.front());
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

// Rows an older saga left in `reserved` or `authorized`, with its held reservations: the
// saga goes on as from pending, and the take turns the held units into taken ones.
TEST_F(order_saga_test, an_order_left_reserved_or_authorized_by_an_older_saga_is_completed) {
  start();
  for (auto status : {order_status::reserved, order_status::authorized}) {
    auto id = std::string{"left-"} + to_string(status);
    auto left = request();
    left.id = id;
    left.idempotency_key = "key-" + id;
    left.status = status;
    insert_behind(left);
    for (const auto& line : left.items)
      ASSERT_TRUE(ask<stock_record>(skus_, line.sku, reserve_atom::value, id, line.quantity));
    resume(id);
    expect_order(id, order_status::confirmed);
  }
  expect_stock("apple", 6, 0);
  expect_stock("pear", 3, 0);
  EXPECT_EQ(payments_->asked.size(), 2u);
}

TEST_F(order_saga_test, a_finished_order_leaves_memory_at_once) {
  start();
  place_new("o1", request());
  EXPECT_EQ(stored("o1")->status, order_status::confirmed);
  EXPECT_EQ(region_counter("troupe_entity_passivations_total", "order"), 1u)
      << "without waiting out the idle timeout";
  expect_order("o1", order_status::confirmed); // a read loads it again
  auto c = value_of(cancel("o1"));
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->status, order_status::cancelled);
  EXPECT_EQ(region_counter("troupe_entity_passivations_total", "order"), 2u);
}

TEST_F(order_saga_test, a_crash_while_cancelling_is_resumed_to_cancelled) {
  start({}, "cancelling");
  place_new("crash-cancelling", request());
  expect_order("crash-cancelling", order_status::confirmed);
  // The activation dies after storing cancelling, before it can answer: the caller's own
  // timeout answers this cancel, and recovery finishes the job.
  cancel("crash-cancelling");
  EXPECT_EQ(stored("crash-cancelling")->status, order_status::cancelling);
  resume("crash-cancelling");
  expect_order("crash-cancelling", order_status::cancelled);
  ASSERT_EQ(payments_->granted.size(), 1u);
  EXPECT_FALSE(payments_->voided.empty());
  for (const auto& id : payments_->voided)
    EXPECT_EQ(id, "crash-cancelling");
  expect_voided_at_provider("crash-cancelling");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
}

TEST_F(order_saga_test, an_order_left_pending_in_the_store_is_completed_when_woken) {
  start();
  auto left = request();
  left.id = "left-pending";
  left.idempotency_key = "key-left-pending";
  left.status = order_status::pending;
  insert_behind(left);
  expect_stock("apple", 10, 0);
  resume("left-pending");
  expect_order("left-pending", order_status::confirmed);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, the_recovery_worker_completes_an_order_left_pending) {
  start();
  auto left = request();
  left.id = "left-for-recovery";
  left.idempotency_key = "key-left-for-recovery";
  left.status = order_status::pending; // untouched since the epoch
  insert_behind(left);
  auto worker = order_recovery_child(order_repo_, locator(), 1s).start(sys_ref());
  ASSERT_TRUE(worker) << describe(worker.error());
  keep(*worker);
  run();
  expect_order("left-for-recovery", order_status::confirmed);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

} // namespace
} // namespace troupe::order::test
