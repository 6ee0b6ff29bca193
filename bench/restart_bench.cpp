// Crash → replacement handling its first message, through a Troupe supervisor,
// against a bare CAF spawn + first message, measured in alternating rounds in one
// process so machine noise hits both alike. Prints the ratio of the medians.
//
//   build/bench/restart_bench [rounds=9] [iterations=2000]

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/spdlog.h>

#include "rounds.hpp"
#include "troupe/core/error.hpp"
#include "troupe/supervision/name_registry.hpp"
#include "troupe/supervision/supervisor.hpp"

namespace {

using namespace std::chrono;
using namespace troupe;
using namespace troupe::supervision;

using ready_atom = caf::atom_constant<caf::atom("ready")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using fail_atom = caf::atom_constant<caf::atom("fail")>;

// A worker that announces itself to `listener` when it starts, answers ping, and
// fails (an abnormal exit, as a crash) on request. No exception: CAF would print
// each one, and the bench would measure the terminal.
caf::actor spawn_worker(caf::actor_system& sys, const caf::actor& listener) {
  return sys.spawn([listener](caf::event_based_actor* self) -> caf::behavior {
    self->send(listener, ready_atom::value, caf::actor{self});
    return {
        [](ping_atom) { return pong_atom::value; },
        [self](fail_atom) { self->quit(make_error(errc::invalid_argument, "crash")); },
    };
  });
}

caf::actor await_ready(caf::scoped_actor& self) {
  caf::actor result;
  self->receive([&](ready_atom, caf::actor a) { result = std::move(a); });
  return result;
}

void first_message(caf::scoped_actor& self, const caf::actor& a) {
  self->request(a, caf::infinite, ping_atom::value)
      .receive([](pong_atom) {},
               [](caf::error&) {
                 std::fprintf(stderr, "ping failed\n");
                 std::exit(1);
               });
}

// Baseline: spawn, wait until it runs, first request/response, then let it go.
double bare_round(caf::actor_system& sys, caf::scoped_actor& self, int iterations) {
  auto start = steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    spawn_worker(sys, self);
    auto a = await_ready(self);
    first_message(self, a);
    caf::anon_send_exit(a, caf::exit_reason::kill);
  }
  return duration<double, std::micro>(steady_clock::now() - start).count() / iterations;
}

// Candidate: crash the live child; the supervisor notices, restarts it, and the
// replacement answers its first request.
double supervised_round(caf::scoped_actor& self, caf::actor& current, int iterations) {
  auto start = steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    self->send(current, fail_atom::value);
    current = await_ready(self);
    first_message(self, current);
  }
  return duration<double, std::micro>(steady_clock::now() - start).count() / iterations;
}

} // namespace

int main(int argc, char** argv) {
  auto [rounds, iterations] = bench::rounds::from_args(argc, argv, 2000);
  // Two log lines per restart would measure the terminal, not the supervisor.
  spdlog::set_level(spdlog::level::err);
  caf::actor_system_config cfg;
  add_error_category(cfg);
  caf::actor_system sys{cfg};
  std::vector<double> bare, supervised;
  {
    caf::scoped_actor self{sys};
    supervisor_spec spec;
    spec.name = "bench";
    spec.intensity = {1'000'000'000, seconds(1)};
    spec.backoff.initial = caf::timespan{0}; // measure the mechanism, not the policy
    spec.backoff.jitter = 0;
    spec.names = std::make_shared<name_registry>();
    child_spec child;
    child.name = "worker";
    caf::actor listener = self;
    child.start = [listener](caf::actor_system& s) -> caf::expected<caf::actor> {
      return spawn_worker(s, listener);
    };
    spec.children.push_back(child);
    auto sup = spawn_supervisor(sys, spec);
    auto current = await_ready(self);
    bare_round(sys, self, iterations / 10); // warm-up
    supervised_round(self, current, iterations / 10);
    for (int r = 0; r < rounds; ++r) {
      bare.push_back(bare_round(sys, self, iterations));
      supervised.push_back(supervised_round(self, current, iterations));
    }
    self->send_exit(sup, caf::exit_reason::user_shutdown);
    self->wait_for(sup);
  }
  auto b = bench::median(bare);
  auto s = bench::median(supervised);
  std::printf("bare spawn + first message:          %8.2f us (median of %d rounds x %d)\n", b,
              rounds, iterations);
  std::printf("crash -> supervised replacement + msg: %8.2f us\n", s);
  std::printf("ratio supervised / bare:               %8.2f x (goal <= 3)\n", s / b);
  return 0;
}
