#pragma once

#include <memory>
#include <string>

#include "fixture.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/placement/directory.hpp"
#include "troupe/placement/region.hpp"

namespace troupe::placement::test {

/// A region for a test to describe in `kind_` and spawn as `region_`, and pings through ask().
class region_suite : public supervision::test::supervision_test {
protected:
  /// Asks entity `key` for ping through ask(); the reply or the error text lands in the slot.
  std::shared_ptr<std::string> ask_ping(const std::string& key,
                                        std::shared_ptr<const directory> known = nullptr) {
    using namespace std::chrono_literals;
    auto out = std::make_shared<std::string>();
    keep(sys_ref().spawn([=, region = region_](caf::event_based_actor* self) {
      ask(
          self, region, key, 10s, std::make_tuple(supervision::test::ping_atom::value),
          [=](const std::string& reply) { *out = reply; },
          [=](const caf::error& err) { *out = "error: " + describe(err); }, 3, known);
    }));
    return out;
  }

  std::shared_ptr<directory> directory_ = std::make_shared<directory>();
  entity_kind kind_;
  caf::actor region_;
};

} // namespace troupe::placement::test
