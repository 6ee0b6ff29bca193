#pragma once

// Harness for components with real threads of their own (blocking pools, the database):
// actors still run only on the test thread under CAF's test_coordinator, but messages may
// arrive from other threads, so the coordinator's job queue is guarded by a lock.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "troupe/core/error.hpp"

namespace troupe::test {

using namespace std::chrono_literals;

/// A test coordinator whose job queue other threads may push to while the test thread runs it.
class locked_coordinator : public caf::scheduler::test_coordinator {
public:
  using test_coordinator::test_coordinator;

  /// Module factory used by `actor_system_config::load`.
  static caf::actor_system::module* make(caf::actor_system& sys, caf::detail::type_list<>) {
    return new locked_coordinator(sys);
  }

  /// Runs every ready job while holding the queue lock (recursive: actors send too).
  size_t run_locked() {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    return run();
  }

  /// Moves simulated time forward under the queue lock.
  size_t advance_locked(caf::timespan x) {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    return advance_time(x);
  }

protected:
  void enqueue(caf::resumable* ptr) override {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    test_coordinator::enqueue(ptr);
  }

private:
  std::recursive_mutex mtx_;
};

/// An actor system config with the locked coordinator; a base so it outlives the system.
struct locked_config {
  locked_config() {
    cfg_.load<locked_coordinator>();
    add_error_category(cfg_);
  }
  caf::actor_system_config cfg_;
};

/// Fixture owning an actor system whose actors run on the test thread only.
class threaded_test : public ::testing::Test, protected locked_config {
protected:
  threaded_test() : sys_(cfg_), sched_(dynamic_cast<locked_coordinator&>(sys_.scheduler())) {}

  ~threaded_test() override {
    for (auto& a : actors_)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    sched_.run_locked();
  }

  /// Spawns a caller actor that runs `body` once; kept alive until the fixture ends.
  void inside_actor(std::function<void(caf::event_based_actor*)> body) {
    actors_.push_back(sys_.spawn([body](caf::event_based_actor* self) -> caf::behavior {
      body(self);
      // A behavior keeps the actor alive for the responses it awaits.
      return {[](int) {}};
    }));
    sched_.run_locked();
  }

  /// Runs actors until `done()` holds or `limit` passes (real time: other threads do the work).
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      sched_.run_locked();
      if (done())
        return true;
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(1ms);
    }
  }

  /// Runs actors for `span` of real time, for checks that something does NOT happen.
  void run_for(std::chrono::milliseconds span) {
    run_until([] { return false; }, span);
  }

  caf::actor_system sys_;
  locked_coordinator& sched_;

private:
  std::vector<caf::actor> actors_;
};

/// Slot for one asynchronous result, filled inside an actor and read by the test thread.
template <class T>
struct result_slot {
  std::mutex mtx;
  std::optional<caf::expected<T>> value;
  int calls = 0;
  std::thread::id thread;

  /// Stores `x`, counting calls so that a second answer shows up as a failure.
  void set(caf::expected<T> x) {
    std::lock_guard<std::mutex> guard{mtx};
    ++calls;
    thread = std::this_thread::get_id();
    value = std::move(x);
  }

  /// Returns whether a result arrived.
  bool has() {
    std::lock_guard<std::mutex> guard{mtx};
    return value.has_value();
  }
};

} // namespace troupe::test
