#pragma once

// Deterministic harness: every actor runs on the test thread under CAF's
// test_coordinator, and time moves only when a test advances it.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "troupe/core/error.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/supervision/name_registry.hpp"
#include "troupe/supervision/supervisor.hpp"

namespace troupe::supervision::test {

using namespace std::chrono_literals;

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;

/// What the test workers did, in order: "start a", "stop a", ...
struct journal {
  std::vector<std::string> events;
  std::map<std::string, int> starts;
  /// Names whose next start fails (count of failures left).
  std::map<std::string, int> failing_starts;

  std::vector<std::string> take() { return std::exchange(events, {}); }
};

/// How a test worker behaves when asked to stop.
enum class on_shutdown { obey, ignore };

/// A worker that answers ping, throws on crash and exits normally on finish.
inline start_fn worker(std::shared_ptr<journal> log, std::string name,
                       on_shutdown mode = on_shutdown::obey) {
  return [=](caf::actor_system& sys) -> caf::expected<caf::actor> {
    if (auto& left = log->failing_starts[name]; left > 0) {
      --left;
      return make_error(errc::invalid_argument, name + " refuses to start");
    }
    ++log->starts[name];
    log->events.push_back("start " + name);
    return sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
      self->attach_functor([=] { log->events.push_back("stop " + name); });
      if (mode == on_shutdown::ignore)
        self->set_exit_handler([](caf::exit_msg&) {});
      return {
          [](ping_atom) { return pong_atom::value; },
          [](crash_atom) { throw std::runtime_error("boom"); },
          [self](finish_atom) { self->quit(); },
      };
    });
  };
}

/// A child spec for `worker`.
inline child_spec worker_child(std::shared_ptr<journal> log, std::string name,
                               restart_type restart = restart_type::permanent,
                               on_shutdown mode = on_shutdown::obey) {
  child_spec spec;
  spec.name = name;
  spec.start = worker(std::move(log), name, mode);
  spec.restart = restart;
  spec.shutdown_timeout = 1s;
  return spec;
}

/// An actor system config on the test coordinator; a base so it outlives the system.
struct test_config {
  test_config() {
    cfg_.set("scheduler.policy", caf::atom("testing"));
    add_error_category(cfg_);
  }
  caf::actor_system_config cfg_;
};

/// Test fixture owning an actor system on the test coordinator.
class supervision_test : public ::testing::Test, protected test_config {
protected:
  supervision_test() : sys_(cfg_), sched_(coordinator(sys_)) {}

  ~supervision_test() override {
    // Leave no actor behind, or the actor system's destructor waits forever.
    for (auto& a : to_kill_)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    sched_.run();
  }

  /// A supervisor spec with jitter off, so delays are exact.
  supervisor_spec spec(std::string name, restart_strategy strategy,
                       std::vector<child_spec> children) {
    supervisor_spec s;
    s.name = std::move(name);
    s.strategy = strategy;
    s.children = std::move(children);
    s.names = names_;
    s.metrics = metrics_;
    s.backoff.jitter = 0;
    s.seed = 42;
    return s;
  }

  /// Spawns a supervisor and runs until it has started its children.
  caf::actor start(supervisor_spec s) {
    auto sup = spawn_supervisor(sys_, std::move(s));
    to_kill_.push_back(sup);
    run();
    return sup;
  }

  /// Keeps `a` alive for the test and kills it at the end.
  void keep(const caf::actor& a) { to_kill_.push_back(a); }

  /// The actor system under test.
  caf::actor_system& sys_ref() { return sys_; }

  /// The test coordinator, for stepping one job at a time.
  caf::scheduler::test_coordinator& sched_ref() { return sched_; }

  /// Runs every ready job.
  void run() { sched_.run(); }

  /// Moves simulated time forward and runs whatever became due.
  void advance(caf::timespan x) {
    sched_.advance_time(x);
    run();
  }

  /// Returns the live incarnation registered as `name` (fails the test if none).
  caf::actor live(const std::string& name) {
    auto found = names_->lookup(name);
    EXPECT_TRUE(found) << name << ": " << (found ? "" : describe(found.error()));
    return found ? *found : caf::actor{};
  }

  /// Sends `crash` to the live incarnation of `name` and runs.
  void crash(const std::string& name) {
    caf::anon_send(live(name), crash_atom::value);
    run();
  }

  /// Returns a slot that receives `a`'s exit reason once it is down.
  std::shared_ptr<std::optional<caf::error>> watch(const caf::actor& a) {
    auto reason = std::make_shared<std::optional<caf::error>>();
    // Kept in to_kill_: an actor nobody references dies at once.
    to_kill_.push_back(sys_.spawn([=](caf::event_based_actor* self) -> caf::behavior {
      self->monitor(a);
      self->set_down_handler([=](caf::down_msg& msg) {
        *reason = msg.reason;
        self->quit();
      });
      return {[](ping_atom) {}};
    }));
    run();
    return reason;
  }

  /// Asks `sup` for its tree and returns the JSON text.
  std::string inspect(const caf::actor& sup) {
    auto result = std::make_shared<std::string>();
    sys_.spawn([=](caf::event_based_actor* self) {
      self->request(sup, caf::infinite, inspect_atom::value)
          .then([=](const std::string& json) { *result = json; },
                [=](const caf::error& err) { *result = "error: " + describe(err); });
    });
    run();
    return *result;
  }

  /// Current value of the restart counter of `child` under `sup`.
  uint64_t restarts_metric(const std::string& sup, const std::string& child) {
    return metrics_->counters("troupe_supervisor_restarts_total", "", {"supervisor", "child"})
        .with({sup, child})
        .value();
  }

  std::shared_ptr<journal> log_ = std::make_shared<journal>();
  std::shared_ptr<name_registry> names_ = std::make_shared<name_registry>();
  std::shared_ptr<observability::registry> metrics_ = std::make_shared<observability::registry>();

private:
  static caf::scheduler::test_coordinator& coordinator(caf::actor_system& sys) {
    return dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  }

  caf::actor_system sys_;
  caf::scheduler::test_coordinator& sched_;
  std::vector<caf::actor> to_kill_;
};

} // namespace troupe::supervision::test
