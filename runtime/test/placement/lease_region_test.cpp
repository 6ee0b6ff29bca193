// A region under its node's lease: requests wait (bounded) while the lease is not held, an
// activation made under an earlier tenure answers nothing and makes way for a fresh one, and a
// key owned elsewhere, or a request from another node that came without the lease, is refused
// unprocessed.

#include "region_suite.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/placement/directory.hpp"
#include "troupe/placement/region.hpp"

namespace troupe::placement {
namespace {

using namespace std::chrono_literals;
using supervision::test::ping_atom;

class lease_region_test : public test::region_suite {
protected:
  lease_region_test() {
    kind_.name = "thing";
    kind_.idle_timeout = 2min;
    kind_.published = directory_;
    kind_.tenure = [this] { return *tenure_; };
    kind_.owned_here = [this](const std::string&) { return *owned_; };
    kind_.activate = [this](caf::event_based_actor* self, const entity_context& ctx) {
      log_->events.push_back("start " + ctx.key() + " @" + std::to_string(ctx.tenure()));
      self->attach_functor([log = log_, key = ctx.key()] { log->events.push_back("stop " + key); });
      return ctx.serve(
          self, caf::message_handler{[key = ctx.key()](ping_atom) { return "pong " + key; }});
    };
    region_ = spawn_region(sys_ref(), kind_, metrics_);
    keep(region_);
    run();
  }

  std::shared_ptr<uint64_t> tenure_ = std::make_shared<uint64_t>(1);
  std::shared_ptr<bool> owned_ = std::make_shared<bool>(true);
};

TEST_F(lease_region_test, a_request_waits_while_the_lease_is_not_held) {
  *tenure_ = 0;
  auto reply = ask_ping("k1");
  run();
  advance(300ms);
  EXPECT_EQ(*reply, "") << "answered without a lease";
  EXPECT_TRUE(log_->take().empty()) << "activated without a lease";
  *tenure_ = 2;
  advance(20ms);
  EXPECT_EQ(*reply, "pong k1");
  EXPECT_EQ(log_->take(), (std::vector<std::string>{"start k1 @2"}));
}

TEST_F(lease_region_test, a_request_that_waits_past_the_settle_timeout_fails_retryably) {
  *tenure_ = 0;
  auto reply = ask_ping("k1");
  run();
  advance(kind_.settle_timeout + 20ms);
  EXPECT_NE(reply->find("not_settled"), std::string::npos) << *reply; // unprocessed: routed again
  EXPECT_NE(reply->find("cannot be answered for yet"), std::string::npos) << *reply;
}

TEST_F(lease_region_test, an_activation_of_an_earlier_tenure_makes_way_for_a_fresh_one) {
  auto first = ask_ping("k1");
  run();
  EXPECT_EQ(*first, "pong k1");
  auto old = directory_->find("k1");
  ASSERT_TRUE(old);
  *tenure_ = 3; // the lease lapsed and came back: another node may have written k1 meanwhile
  auto refused = std::make_shared<std::string>();
  keep(sys_ref().spawn([=](caf::event_based_actor* self) {
    self->request(old, 10s, ping_atom::value)
        .then([=](const std::string& r) { *refused = r; },
              [=](const caf::error& err) { *refused = describe(err); });
  }));
  run();
  EXPECT_NE(refused->find("request_receiver_down"), std::string::npos) << *refused;
  auto second = ask_ping("k1", directory_); // the directory may still name the old one
  run();
  EXPECT_EQ(*second, "pong k1");
  EXPECT_EQ(log_->take(), (std::vector<std::string>{"start k1 @1", "stop k1", "start k1 @3"}));
}

TEST_F(lease_region_test, a_key_owned_elsewhere_is_refused_unprocessed) {
  *owned_ = false;
  auto reply = ask_ping("k1");
  run();
  EXPECT_NE(reply->find("not_settled"), std::string::npos) << *reply;
  EXPECT_TRUE(log_->take().empty());
}

TEST_F(lease_region_test, a_request_from_another_node_that_came_without_the_lease_is_refused) {
  // A thawed node reads what its peers sent before they marked it down and failed those
  // requests to their callers: carried out once the lease is back, a write would land on top
  // of writes acknowledged since.
  *tenure_ = 0;
  auto reply = std::make_shared<std::string>();
  keep(sys_ref().spawn([=, region = region_](caf::event_based_actor* self) {
    self->request(region, 10s, forward_atom::value, std::string{"k1"},
                  observability::trace_context{}, caf::make_message(ping_atom::value))
        .then([=](const std::string& r) { *reply = r; },
              [=](const caf::error& err) { *reply = describe(err); });
  }));
  run();
  *tenure_ = 2;
  advance(20ms);
  EXPECT_NE(reply->find("not_settled"), std::string::npos) << *reply;
  EXPECT_TRUE(log_->take().empty()) << "activated for a request its sender may have given up";
}

} // namespace
} // namespace troupe::placement
