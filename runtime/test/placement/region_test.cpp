// Regions: activation on first use, idle passivation, one activation per key,
// reactivation after a crash, and ask()'s retry when an activation went away.

#include "region_suite.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/placement/directory.hpp"
#include "troupe/placement/region.hpp"

namespace troupe::placement {
namespace {

using namespace std::chrono_literals;
using supervision::test::crash_atom;
using supervision::test::ping_atom;

class region_test : public test::region_suite {
protected:
  region_test() {
    kind_.name = "thing";
    kind_.idle_timeout = 2min;
    kind_.published = directory_;
    kind_.activate = [this](caf::event_based_actor* self, const entity_context& ctx) {
      log_->events.push_back("start " + ctx.key());
      self->attach_functor([log = log_, key = ctx.key()] { log->events.push_back("stop " + key); });
      return ctx.serve(self,
                       caf::message_handler{
                           [key = ctx.key()](ping_atom) { return "pong " + key; },
                           [](crash_atom) -> std::string { throw std::runtime_error("boom"); },
                       });
    };
    region_ = spawn_region(sys_ref(), kind_, metrics_);
    keep(region_);
    run();
  }

  /// Resolves `key` through the region and returns the activation.
  caf::actor resolve(const std::string& key) {
    auto out = std::make_shared<caf::actor>();
    keep(sys_ref().spawn([=, region = region_](caf::event_based_actor* self) {
      self->request(region, caf::infinite, resolve_atom::value, key).then([=](const caf::actor& a) {
        *out = a;
      });
    }));
    run();
    return *out;
  }

  uint64_t count() {
    return metrics_->gauges("troupe_entities_active", "", {"kind"}).with({"thing"}).value();
  }
};

TEST_F(region_test, the_first_resolve_activates_and_later_ones_reuse_the_activation) {
  auto a = resolve("k1");
  auto b = resolve("k1");
  auto c = resolve("k2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(log_->take(), (std::vector<std::string>{"start k1", "start k2"}));
  EXPECT_EQ(count(), 2);
}

TEST_F(region_test, an_idle_activation_is_passivated_after_its_timeout) {
  auto reply = ask_ping("k1");
  run();
  EXPECT_EQ(*reply, "pong k1");
  advance(119s);
  EXPECT_EQ(count(), 1);
  advance(1s);
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(log_->take(), (std::vector<std::string>{"start k1", "stop k1"}));
  EXPECT_EQ(*ask_ping("k1"), "");
  run();
  EXPECT_EQ(log_->take(), (std::vector<std::string>{"start k1"}));
}

TEST_F(region_test, messages_keep_an_activation_alive) {
  ask_ping("k1");
  run();
  for (int i = 0; i < 5; ++i) {
    advance(90s);
    ask_ping("k1");
    run();
  }
  EXPECT_EQ(count(), 1);
  EXPECT_EQ(log_->take(), (std::vector<std::string>{"start k1"}));
}

TEST_F(region_test, a_crashed_entity_fails_its_caller_and_comes_back_on_the_next_message) {
  auto entity = resolve("k1");
  auto failed = std::make_shared<std::string>();
  keep(sys_ref().spawn([=](caf::event_based_actor* self) {
    self->request(entity, 10s, crash_atom::value)
        .then([=](const std::string&) { *failed = "no error"; },
              [=](const caf::error& err) { *failed = describe(err); });
  }));
  run();
  EXPECT_NE(failed->find("runtime_error"), std::string::npos) << *failed;
  EXPECT_EQ(count(), 0);
  auto reply = ask_ping("k1");
  run();
  EXPECT_EQ(*reply, "pong k1");
  EXPECT_NE(resolve("k1"), entity);
  EXPECT_EQ(metrics_->counters("troupe_entity_crashes_total", "", {"kind"}).with({"thing"}).value(),
            1u);
}

TEST_F(region_test, a_request_that_finds_its_activation_gone_is_sent_again_to_the_next_one) {
  auto first = resolve("k1");
  log_->take();
  auto reply = ask_ping("k1"); // its resolve answer is queued, not yet read
  sched_ref().run_once();      // the asker sends resolve
  sched_ref().run_once();      // the region answers with `first`
  // Meanwhile `first` goes idle and the region stops it, before the request lands.
  sched_ref().advance_time(kind_.idle_timeout);
  ASSERT_TRUE(sched_ref().prioritize(first));
  sched_ref().run_once(); // first asks to passivate
  ASSERT_TRUE(sched_ref().prioritize(region_));
  sched_ref().run_once(); // the region sends it the exit
  run();
  EXPECT_EQ(*reply, "pong k1");
  EXPECT_EQ(log_->take(), (std::vector<std::string>{"stop k1", "start k1"}));
}

TEST_F(region_test, a_resolve_during_passivation_waits_for_the_old_activation_to_stop) {
  auto first = resolve("k1");
  log_->take();
  sched_ref().advance_time(kind_.idle_timeout);
  ASSERT_TRUE(sched_ref().prioritize(first));
  sched_ref().run_once(); // first asks to passivate
  ASSERT_TRUE(sched_ref().prioritize(region_));
  sched_ref().run_once(); // region marks it passivating and sends the exit
  auto second = resolve("k1");
  EXPECT_NE(second, first);
  EXPECT_EQ(log_->take(), (std::vector<std::string>{"stop k1", "start k1"}));
}

TEST_F(region_test, the_directory_lists_exactly_the_live_activations) {
  auto first = resolve("k1");
  EXPECT_EQ(directory_->find("k1"), first);
  advance(kind_.idle_timeout);
  EXPECT_FALSE(directory_->find("k1")) << "still listed after passivation";
  auto reply = ask_ping("k1", directory_);
  run();
  EXPECT_EQ(*reply, "pong k1");
  EXPECT_TRUE(directory_->find("k1"));
}

TEST_F(region_test, a_stale_directory_entry_falls_back_to_the_region) {
  auto first = resolve("k1");
  log_->take();
  caf::anon_send_exit(first, caf::exit_reason::kill);
  // A directory that has not caught up still names the dead activation.
  auto stale = std::make_shared<directory>();
  stale->set("k1", first);
  run();
  auto reply = ask_ping("k1", stale);
  run();
  EXPECT_EQ(*reply, "pong k1");
  EXPECT_EQ(log_->take(), (std::vector<std::string>{"stop k1", "start k1"}));
}

TEST_F(region_test, shutdown_stops_every_activation_first) {
  resolve("k1");
  resolve("k2");
  log_->take();
  auto reason = watch(region_);
  caf::anon_send_exit(region_, caf::exit_reason::user_shutdown);
  run();
  auto events = log_->take();
  std::sort(events.begin(), events.end());
  EXPECT_EQ(events, (std::vector<std::string>{"stop k1", "stop k2"}));
  ASSERT_TRUE(reason->has_value());
}

} // namespace
} // namespace troupe::placement
