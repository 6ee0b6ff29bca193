#pragma once

// The order saga on the deterministic scheduler: order and SKU regions over the memory
// repositories, and the payment gateway over the simulated provider, all found by name.
// Shared by the saga suites (paths and idempotency, cancels, failures and recovery).

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
inline payment_provider recording(caf::actor_system& sys, payment_provider provider,
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

} // namespace troupe::order::test
