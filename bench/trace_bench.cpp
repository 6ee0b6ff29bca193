// What carrying the trace costs an entity request: sequential `ask` round trips to one live
// activation with the sender's work traced (an envelope, unwrapped by the activation) and
// untraced (the request as it is), in alternating rounds in one process so machine noise hits
// both alike. Prints the medians and their ratio.
//
//   build/bench/trace_bench [rounds=9] [iterations=20000]

#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "rounds.hpp"
#include "troupe/core/error.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/placement/directory.hpp"
#include "troupe/placement/region.hpp"

namespace {

using namespace std::chrono;
using namespace troupe;
using namespace troupe::placement;

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;

// Sends `left` asks one after the other from `self`, then fulfils `done`.
void ask_in_turn(caf::event_based_actor* self, caf::actor region,
                 std::shared_ptr<const directory> known, int left,
                 std::shared_ptr<std::promise<void>> done) {
  if (left == 0) {
    done->set_value();
    self->quit();
    return;
  }
  ask(
      self, region, "k", seconds(10), std::make_tuple(ping_atom::value),
      [=](pong_atom) { ask_in_turn(self, region, known, left - 1, done); },
      [=](const caf::error& err) {
        std::fprintf(stderr, "ask failed: %s\n", describe(err).c_str());
        std::exit(1);
      },
      3, known);
}

// Nanoseconds per round trip over `n` asks, from a sender whose work carries `trace`.
double round_trip_ns(caf::actor_system& sys, const caf::actor& region,
                     const std::shared_ptr<const directory>& known,
                     const observability::trace_context& trace, int n) {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  auto start = steady_clock::now();
  sys.spawn([=](caf::event_based_actor* self) {
    observability::log_context ctx{{}, trace};
    observability::log_scope scope{ctx};
    ask_in_turn(self, region, known, n, done);
  });
  finished.wait();
  return duration<double, std::nano>(steady_clock::now() - start).count() / n;
}

} // namespace

int main(int argc, char** argv) {
  auto [rounds, iterations] = bench::rounds::from_args(argc, argv, 20000);
  caf::actor_system_config cfg;
  add_error_category(cfg);
  caf::actor_system sys{cfg};
  auto known = std::make_shared<directory>();
  entity_kind kind;
  kind.name = "thing";
  kind.published = known;
  kind.activate = [](caf::event_based_actor* self, const entity_context& ctx) {
    return ctx.serve(self, caf::message_handler{[](ping_atom) { return pong_atom::value; }});
  };
  auto region = spawn_region(sys, kind);
  auto traced = observability::new_trace();
  round_trip_ns(sys, region, known, traced, 1000); // activates "k" and warms up
  std::vector<double> plain, with_trace;
  for (int r = 0; r < rounds; ++r) {
    plain.push_back(round_trip_ns(sys, region, known, {}, iterations));
    with_trace.push_back(round_trip_ns(sys, region, known, traced, iterations));
  }
  std::printf("ask round trip, untraced: %.0f ns, traced: %.0f ns, ratio %.3f\n",
              bench::median(plain), bench::median(with_trace),
              bench::median(with_trace) / bench::median(plain));
  caf::anon_send_exit(region, caf::exit_reason::user_shutdown);
}
