// The W3C trace context on the deterministic scheduler: it travels with requests to entities
// (directly, through a region and through the inbound router), from entity to entity, through
// an HTTP bridge actor's callbacks, waits in the mailbox with a request held back, comes back
// to the sender's callbacks, and crosses the wire in 25 bytes.

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "fixture.hpp"
#include "troupe/http/actor_bridge.hpp"
#include "troupe/http/trace.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/placement/inbound.hpp"
#include "troupe/placement/region.hpp"
#include "troupe/placement/traced.hpp"

namespace troupe::placement {
namespace {

using namespace std::chrono_literals;
using observability::current_log_context;
using observability::trace_context;
using supervision::test::crash_atom;
using supervision::test::ping_atom;
using supervision::test::pong_atom;
using relay_atom = caf::atom_constant<caf::atom("relay")>;

const trace_context caller{0x4bf92f3577b34da6, 0xa3ce929d0e0e4736, 0x00f067aa0ba902b7, 0x01};

// What the work in progress logs under: its trace id, or "none".
std::string current_trace() {
  auto& trace = current_log_context().trace;
  return trace.valid() ? trace.trace_id() : "none";
}

class trace_test : public supervision::test::supervision_test {
protected:
  trace_test() {
    kind_.name = "thing";
    kind_.activate = [this](caf::event_based_actor* self, const entity_context& ctx) {
      return ctx.serve(self, handler(self));
    };
    region_ = spawn_region(sys_ref(), kind_);
    keep(region_);
    names_->put("thing", region_);
    run();
  }

  // ping answers the trace the activation handles it under; relay asks another entity and
  // answers what it said, noting the trace its callback ran under.
  caf::message_handler handler(caf::event_based_actor* self) {
    return {
        [](ping_atom) { return current_trace(); },
        [](crash_atom) -> std::string { throw std::runtime_error("boom"); },
        [this, self](relay_atom, const std::string& other) {
          auto promise = self->make_response_promise<std::string>();
          ask(
              self, region_, other, 10s, std::make_tuple(ping_atom::value),
              [this, promise](const std::string& reply) {
                callbacks_.push_back(current_trace());
                auto p = promise;
                p.deliver(reply);
              },
              [promise](const caf::error& err) {
                auto p = promise;
                p.deliver(err);
              });
          return promise;
        },
    };
  }

  /// Asks entity `key` for `msg` from an actor whose work carries `trace`; the reply (or the
  /// error) lands in the slot, and the trace its callback ran under in `callbacks_`.
  template <class... Ts>
  std::shared_ptr<std::string> ask_with(const trace_context& trace, const std::string& key,
                                        Ts... msg) {
    auto out = std::make_shared<std::string>();
    keep(sys_ref().spawn([=, this](caf::event_based_actor* self) {
      observability::log_context ctx{{}, trace};
      observability::log_scope scope{ctx};
      ask(
          self, region_, key, 10s, std::make_tuple(msg...),
          [=, this](const std::string& reply) {
            *out = reply;
            callbacks_.push_back(current_trace());
          },
          [=](const caf::error& err) { *out = "error: " + describe(err); });
    }));
    run();
    return out;
  }

  entity_kind kind_;
  caf::actor region_;
  std::vector<std::string> callbacks_;
};

TEST_F(trace_test, a_request_carries_the_senders_trace_and_its_answer_comes_back_under_it) {
  EXPECT_EQ(*ask_with(caller, "k1", ping_atom::value), caller.trace_id());
  EXPECT_EQ(callbacks_, std::vector<std::string>{caller.trace_id()});
  EXPECT_FALSE(current_log_context().trace.valid()) << "every scope was closed again";
  // The activation exists now: the second request goes to it without the region's help.
  EXPECT_EQ(*ask_with(caller, "k1", ping_atom::value), caller.trace_id());
}

TEST_F(trace_test, a_request_without_a_trace_goes_as_it_is) {
  EXPECT_EQ(*ask_with(trace_context{}, "k1", ping_atom::value), "none");
  EXPECT_EQ(callbacks_, std::vector<std::string>{"none"});
}

TEST_F(trace_test, each_request_is_handled_under_its_own_trace) {
  auto other = caller;
  other.trace_lo ^= 0xff;
  EXPECT_EQ(*ask_with(caller, "k1", ping_atom::value), caller.trace_id());
  EXPECT_EQ(*ask_with(other, "k1", ping_atom::value), other.trace_id());
  EXPECT_EQ(*ask_with(trace_context{}, "k1", ping_atom::value), "none")
      << "nothing of an earlier request sticks to the activation";
}

TEST_F(trace_test, a_traced_request_whose_handler_throws_fails_like_any_other) {
  EXPECT_NE(ask_with(caller, "k1", crash_atom::value)->find("error: "), std::string::npos);
  EXPECT_FALSE(current_log_context().trace.valid());
  EXPECT_EQ(*ask_with(caller, "k1", ping_atom::value), caller.trace_id()) << "activated afresh";
}

TEST_F(trace_test, an_entity_asking_another_passes_the_trace_on) {
  EXPECT_EQ(*ask_with(caller, "k1", relay_atom::value, std::string{"k2"}), caller.trace_id());
  EXPECT_EQ(callbacks_, (std::vector<std::string>{caller.trace_id(), caller.trace_id()}))
      << "k1's callback and the first sender's both ran under the trace";
}

TEST_F(trace_test, a_request_from_another_node_is_handled_under_the_trace_it_brought) {
  auto router = inbound_child(names_).start(sys_ref());
  ASSERT_TRUE(router);
  keep(*router);
  auto forward = [&](const trace_context& trace) {
    auto out = std::make_shared<std::string>();
    keep(sys_ref().spawn([=, r = *router](caf::event_based_actor* self) {
      self->request(r, 10s, forward_atom::value, std::string{"thing"}, std::string{"k7"}, trace,
                    caf::make_message(ping_atom::value))
          .then([=](const std::string& reply) { *out = reply; },
                [=](const caf::error& err) { *out = "error: " + describe(err); });
    }));
    run();
    return *out;
  };
  EXPECT_EQ(forward(caller), caller.trace_id()) << "activated by it";
  EXPECT_EQ(forward(caller), caller.trace_id()) << "handed to the live activation";
  EXPECT_EQ(forward(trace_context{}), "none");
}

TEST_F(trace_test, a_request_held_back_while_the_activation_loads_keeps_its_trace) {
  // The load waits for the gate's answer, which comes when the test opens it.
  auto gate_open = std::make_shared<caf::response_promise>();
  auto gate = sys_ref().spawn([=](caf::event_based_actor* self) -> caf::behavior {
    return {
        [=](ping_atom) {
          *gate_open = self->make_response_promise();
          return *gate_open;
        },
        [=](pong_atom) { gate_open->deliver(pong_atom::value); },
    };
  });
  keep(gate);
  kind_.name = "loading";
  kind_.activate = [this, gate](caf::event_based_actor* self, const entity_context& ctx) {
    return ctx.load_first(
        self,
        [self, gate](std::function<void(caf::error)> done) {
          self->request(gate, caf::infinite, ping_atom::value).then([done](pong_atom) {
            done(caf::error{});
          });
        },
        [self, ctx, this] { self->become(ctx.serve(self, handler(self))); });
  };
  region_ = spawn_region(sys_ref(), kind_);
  keep(region_);
  auto reply = ask_with(caller, "k1", ping_atom::value);
  EXPECT_EQ(*reply, "") << "held back while loading";
  ASSERT_TRUE(gate_open->pending());
  caf::anon_send(gate, pong_atom::value);
  run();
  EXPECT_EQ(*reply, caller.trace_id());
}

TEST_F(trace_test, a_bridge_actor_keeps_its_requests_context_through_every_callback) {
  http::trace_info request;
  request.request_id = "req-1";
  request.trace = caller;
  auto echo = sys_ref().spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](ping_atom) { return pong_atom::value; }};
  });
  keep(echo);
  auto seen = std::make_shared<std::vector<std::string>>();
  http::serve_from_actor(
      sys_ref(), http::responder{},
      [=, this](caf::event_based_actor* self, http::shared_responder) {
        // A first round trip, as a route that reads the store or hashes first: the entity
        // request is sent from a callback, which still names the request.
        self->request(echo, 10s, ping_atom::value).then([=, this](pong_atom) {
          seen->push_back(current_log_context().request_id);
          ask(
              self, region_, "k1", 10s, std::make_tuple(ping_atom::value),
              [=](const std::string& reply) {
                seen->push_back(reply);
                seen->push_back(current_log_context().request_id);
              },
              [=](const caf::error& err) { seen->push_back("error: " + describe(err)); });
        });
      },
      request.log());
  run();
  EXPECT_EQ(*seen, (std::vector<std::string>{"req-1", caller.trace_id(), "req-1"}));
}

TEST(trace_wire, the_trace_context_crosses_nodes_inside_a_forwarded_request) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  add_message_types(cfg);
  caf::actor_system sys{cfg};
  auto sent = caf::make_message(forward_atom::value, std::string{"thing"}, std::string{"k7"},
                                caller, caf::make_message(ping_atom::value));
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(sent));
  caf::message got;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(got));
  ASSERT_TRUE(
      (got.match_elements<forward_atom, std::string, std::string, trace_context, caf::message>()));
  EXPECT_EQ(got.get_as<trace_context>(3), caller);
}

} // namespace
} // namespace troupe::placement
