#pragma once

// Entities of the order domain on the deterministic scheduler: requests go through a region
// the way callers send them (placement::ask), and their answers land in slots the test reads
// after running or advancing simulated time.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include <caf/event_based_actor.hpp>

#include "fixture.hpp"
#include "troupe/core/error.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/placement/locator.hpp"
#include "troupe/placement/region.hpp"

namespace troupe::order::test {

using namespace std::chrono_literals;

/// Where an answer lands; empty until it arrives.
template <class T>
using answer = std::shared_ptr<std::optional<caf::expected<T>>>;

/// Returns the answer in `x`, or an error saying that none has arrived yet.
template <class T>
caf::expected<T> value_of(const answer<T>& x) {
  if (!x->has_value())
    return make_error(errc::timeout, "no answer has arrived (yet)");
  return **x;
}

/// Returns whether `x` holds the error `code`, with a message for the assertion otherwise.
template <class T>
::testing::AssertionResult fails_with(const caf::expected<T>& x, errc code) {
  if (x)
    return ::testing::AssertionFailure() << "succeeded, expected " << to_string(code);
  if (!is(x.error(), code))
    return ::testing::AssertionFailure()
           << "failed with " << describe(x.error()) << ", expected " << to_string(code);
  return ::testing::AssertionSuccess();
}

/// Base of the entity tests: an actor system on the test coordinator with simulated time.
class entity_test : public supervision::test::supervision_test {
protected:
  /// Far beyond any simulated time a test advances: the tests observe the entities' timeouts.
  static constexpr caf::timespan ask_timeout = std::chrono::hours(24);

  /// Spawns a region for `kind`, keeps it for the test and runs until it is up.
  caf::actor region(placement::entity_kind kind) {
    auto r = placement::spawn_region(sys_ref(), std::move(kind), metrics_);
    keep(r);
    run();
    return r;
  }

  /// Sends `msg` to entity `key` of `region` and runs; the single answer of type `T` lands
  /// in the slot returned.
  template <class T, class... Ts>
  answer<T> send(const caf::actor& region, const std::string& key, Ts... msg) {
    auto out = std::make_shared<std::optional<caf::expected<T>>>();
    inside([=](caf::event_based_actor* self) {
      placement::ask(
          self, region, key, ask_timeout, std::make_tuple(msg...),
          [=](const T& x) { *out = caf::expected<T>{x}; },
          [=](const caf::error& err) { *out = caf::expected<T>{err}; });
    });
    return out;
  }

  /// Sends `msg` to entity `key` of `region`, runs and returns the answer.
  template <class T, class... Ts>
  caf::expected<T> ask(const caf::actor& region, const std::string& key, Ts... msg) {
    return value_of(send<T>(region, key, msg...));
  }

  /// Runs `fn(self)` inside a fresh actor (repository calls answer inside one), and runs.
  template <class Fn>
  void inside(Fn fn) {
    keep(sys_ref().spawn([fn](caf::event_based_actor* self) { fn(self); }));
    run();
  }

  /// Finds entities in the regions registered by name on this (only) node.
  std::shared_ptr<const placement::locator> locator() {
    return std::make_shared<placement::locator>(
        placement::locator::config{nullptr, names_, {}, {}});
  }

  /// Current value of the region counter `name` (e.g. troupe_entity_crashes_total) of `kind`.
  uint64_t region_counter(const std::string& name, const std::string& kind) {
    return metrics_->counters(name, "", {"kind"}).with({kind}).value();
  }
};

} // namespace troupe::order::test
