// The guard's rules for what comes from this node or from nobody; what peers send is covered
// by tests/security with real nodes.

#include "troupe/cluster/guard.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>

#include "troupe/cluster/shared_view.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::cluster {
namespace {

using ping_atom = caf::atom_constant<caf::atom("ping")>;

class remote_guard_rules : public ::testing::Test {
protected:
  remote_guard_rules()
      : sys_(cfg_), local_(sys_.spawn([]() -> caf::behavior { return {[](ping_atom) {}}; })),
        metrics_(std::make_shared<observability::registry>()),
        guard_(std::make_shared<shared_view>(), metrics_) {}

  ~remote_guard_rules() override { caf::anon_send_exit(local_, caf::exit_reason::kill); }

  bool admit(caf::strong_actor_ptr sender, caf::message_id mid, caf::message msg) {
    auto e = caf::make_mailbox_element(std::move(sender), mid, {}, std::move(msg));
    return guard_.admit(*e, sys_.node(), "test");
  }

  caf::strong_actor_ptr local() { return caf::actor_cast<caf::strong_actor_ptr>(local_); }

  uint64_t refused(const char* reason) {
    return metrics_->counters("troupe_cluster_refused_total", "", {"actor", "reason"})
        .with({"test", reason})
        .value();
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  caf::actor local_;
  std::shared_ptr<observability::registry> metrics_;
  remote_guard guard_;
};

TEST_F(remote_guard_rules, this_nodes_actors_pass_with_anything_even_an_exit) {
  EXPECT_TRUE(admit(local(), caf::make_message_id(), caf::make_message(ping_atom::value)));
  EXPECT_TRUE(admit(local(), caf::make_message_id(),
                    caf::make_message(caf::exit_msg{local_.address(), caf::exit_reason::kill})));
}

TEST_F(remote_guard_rules, anonymous_exits_and_requests_are_refused_and_counted) {
  EXPECT_FALSE(admit(nullptr, caf::make_message_id(),
                     caf::make_message(caf::exit_msg{local_.address(), caf::exit_reason::kill})));
  EXPECT_FALSE(admit(nullptr, caf::make_message_id(), caf::make_message(ping_atom::value)));
  EXPECT_EQ(refused("anonymous exit"), 1u);
  EXPECT_EQ(refused("anonymous"), 1u);
}

TEST_F(remote_guard_rules, anonymous_timeouts_pass_as_cafs_own_timers_send_them) {
  auto request = caf::make_message_id(42); // a request id
  EXPECT_TRUE(admit(nullptr, request.response_id(),
                    caf::make_message(caf::make_error(caf::sec::request_timeout))));
  EXPECT_TRUE(admit(nullptr, caf::make_message_id(), caf::make_message(caf::timeout_msg{})));
}

} // namespace
} // namespace troupe::cluster
