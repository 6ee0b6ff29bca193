#include "troupe/core/blocking_pool.hpp"

#include <atomic>
#include <future>
#include <stdexcept>

#include <caf/sec.hpp>

#include "threaded_fixture.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::test {
namespace {

// Holds jobs on a pool thread until the test opens it; bounded so a failing test ends.
struct gate {
  std::promise<void> opened;
  std::shared_future<void> waiter = opened.get_future().share();
  std::atomic<int> entered{0};

  void pass() {
    ++entered;
    waiter.wait_for(5s);
  }
  void open() { opened.set_value(); }
};

class blocking_pool_test : public threaded_test {
protected:
  std::shared_ptr<blocking_pool> start(size_t threads, size_t max_queue) {
    blocking_pool::config cfg;
    cfg.name = "test";
    cfg.threads = threads;
    cfg.max_queue = max_queue;
    pool_ = blocking_pool::start(sys_, cfg, metrics_);
    return pool_;
  }

  ~blocking_pool_test() override {
    if (pool_)
      pool_->stop();
    sched_.run_locked();
  }

  /// Submits `job` from a fresh actor; the result lands in the returned slot.
  std::shared_ptr<result_slot<int>> submit(std::function<caf::expected<int>()> job,
                                           caf::timespan timeout = 10s) {
    auto slot = std::make_shared<result_slot<int>>();
    inside_actor([=, pool = pool_](caf::event_based_actor* self) {
      pool->run<int>(
          self, job,
          [slot, self](caf::expected<int> x) {
            // Proof that we run as a message handled by the caller.
            EXPECT_NE(self->current_mailbox_element(), nullptr);
            slot->set(std::move(x));
          },
          timeout);
    });
    return slot;
  }

  std::shared_ptr<observability::registry> metrics_ = std::make_shared<observability::registry>();
  std::shared_ptr<blocking_pool> pool_;
};

TEST_F(blocking_pool_test, result_arrives_inside_the_calling_actor) {
  start(2, 16);
  std::atomic<std::thread::id> job_thread;
  auto slot = submit([&] {
    job_thread = std::this_thread::get_id();
    return caf::expected<int>{42};
  });
  ASSERT_TRUE(run_until([&] { return slot->has(); }));
  ASSERT_TRUE(*slot->value) << describe(slot->value->error());
  EXPECT_EQ(**slot->value, 42);
  EXPECT_NE(job_thread.load(), std::this_thread::get_id());
  EXPECT_EQ(slot->thread, std::this_thread::get_id());
  auto& jobs = metrics_->counters("troupe_pool_jobs_total", "", {"pool", "outcome"});
  EXPECT_EQ(jobs.with({"test", "ok"}).value(), 1u);
  EXPECT_NE(metrics_->render().find("troupe_pool_job_seconds_count{pool=\"test\"} 1"),
            std::string::npos);
}

TEST_F(blocking_pool_test, job_error_reaches_the_caller_unchanged) {
  start(1, 16);
  auto slot = submit([] { return caf::expected<int>{make_error(errc::no_such_record, "x")}; });
  ASSERT_TRUE(run_until([&] { return slot->has(); }));
  ASSERT_FALSE(*slot->value);
  EXPECT_TRUE(is(slot->value->error(), errc::no_such_record));
}

TEST_F(blocking_pool_test, exception_becomes_store_failure_with_its_message) {
  start(1, 16);
  auto slot = submit([]() -> caf::expected<int> { throw std::runtime_error("hash exploded"); });
  ASSERT_TRUE(run_until([&] { return slot->has(); }));
  ASSERT_FALSE(*slot->value);
  EXPECT_TRUE(is(slot->value->error(), errc::store_failure));
  EXPECT_NE(describe(slot->value->error()).find("hash exploded"), std::string::npos);
}

TEST_F(blocking_pool_test, full_queue_is_shed_at_once) {
  start(1, 1);
  gate g;
  auto busy = submit([&] {
    g.pass();
    return caf::expected<int>{1};
  });
  ASSERT_TRUE(run_until([&] { return g.entered == 1; }));
  auto queued = submit([] { return caf::expected<int>{2}; });
  auto shed = submit([] { return caf::expected<int>{3}; });
  // No pool thread is free, so only an answer given at submission can be here.
  sched_.run_locked();
  ASSERT_TRUE(shed->has());
  ASSERT_FALSE(*shed->value);
  EXPECT_TRUE(is(shed->value->error(), errc::overloaded));
  EXPECT_FALSE(queued->has());
  g.open();
  ASSERT_TRUE(run_until([&] { return busy->has() && queued->has(); }));
  EXPECT_EQ(**busy->value, 1);
  EXPECT_EQ(**queued->value, 2);
}

// A worker whose first ready_up waits at a gate, then succeeds or fails as told.
class gated_worker : public pool_worker {
public:
  gated_worker(gate& g, bool succeed) : gate_(g), succeed_(succeed) {}

  std::chrono::milliseconds ready_up() override {
    if (tries_++ == 0)
      gate_.pass();
    ready_ = succeed_;
    return succeed_ ? 0ms : 10s;
  }

  bool usable() const override { return ready_; }

private:
  gate& gate_;
  bool succeed_;
  int tries_ = 0;
  bool ready_ = false;
};

class pool_at_start_test : public blocking_pool_test {
protected:
  void start_gated(bool succeed) {
    blocking_pool::config cfg;
    cfg.name = "store";
    cfg.threads = 1;
    cfg.fail_fast_when_unusable = errc::store_unavailable;
    cfg.make_worker = [this, succeed](size_t) {
      return std::make_unique<gated_worker>(first_try_, succeed);
    };
    pool_ = blocking_pool::start(sys_, cfg, metrics_);
    ASSERT_TRUE(run_until([&] { return first_try_.entered == 1; }));
  }

  gate first_try_;
};

TEST_F(pool_at_start_test, a_job_offered_before_the_first_connect_waits_for_it) {
  start_gated(true);
  auto job = submit([] { return caf::expected<int>{7}; });
  // A fail-fast answer would be given at submission, so it would be here already.
  sched_.run_locked();
  EXPECT_FALSE(job->has());
  first_try_.open();
  ASSERT_TRUE(run_until([&] { return job->has(); }));
  ASSERT_TRUE(*job->value) << describe(job->value->error());
  EXPECT_EQ(**job->value, 7);
}

TEST_F(pool_at_start_test, a_failed_first_connect_fails_the_jobs_that_waited_and_later_ones_fast) {
  start_gated(false);
  auto waited = submit([] { return caf::expected<int>{7}; });
  sched_.run_locked();
  EXPECT_FALSE(waited->has());
  first_try_.open();
  ASSERT_TRUE(run_until([&] { return waited->has(); }));
  ASSERT_FALSE(*waited->value);
  EXPECT_TRUE(is(waited->value->error(), errc::store_unavailable));
  auto later = submit([] { return caf::expected<int>{8}; });
  sched_.run_locked();
  ASSERT_TRUE(later->has());
  ASSERT_FALSE(*later->value);
  EXPECT_TRUE(is(later->value->error(), errc::store_unavailable));
}

TEST_F(blocking_pool_test, stop_answers_queued_jobs_with_shutting_down) {
  start(1, 16);
  gate g;
  auto running = submit([&] {
    g.pass();
    return caf::expected<int>{1};
  });
  ASSERT_TRUE(run_until([&] { return g.entered == 1; }));
  auto queued_a = submit([] { return caf::expected<int>{2}; });
  auto queued_b = submit([] { return caf::expected<int>{3}; });
  // The running job ends on its own shortly; stop must not wait for anything else.
  std::thread opener{[&] {
    std::this_thread::sleep_for(100ms);
    g.open();
  }};
  auto before = std::chrono::steady_clock::now();
  pool_->stop();
  auto took = std::chrono::steady_clock::now() - before;
  opener.join();
  EXPECT_LT(took, 2s);
  ASSERT_TRUE(run_until([&] { return running->has() && queued_a->has() && queued_b->has(); }));
  EXPECT_EQ(**running->value, 1);
  ASSERT_FALSE(*queued_a->value);
  EXPECT_TRUE(is(queued_a->value->error(), errc::shutting_down));
  ASSERT_FALSE(*queued_b->value);
  EXPECT_TRUE(is(queued_b->value->error(), errc::shutting_down));
  auto late = submit([] { return caf::expected<int>{4}; });
  ASSERT_TRUE(run_until([&] { return late->has(); }));
  EXPECT_FALSE(*late->value);
  pool_->stop(); // idempotent
}

TEST_F(blocking_pool_test, timeout_reaches_the_caller_and_the_late_result_is_dropped) {
  start(1, 16);
  gate g;
  auto began = std::chrono::steady_clock::now();
  auto slot = submit(
      [&] {
        g.pass();
        return caf::expected<int>{1};
      },
      200ms);
  ASSERT_TRUE(run_until([&] { return g.entered == 1; }));
  // The pool's timer answers while the job still runs (real time: the timer is a thread).
  ASSERT_TRUE(run_until([&] { return slot->has(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - began, 200ms);
  ASSERT_FALSE(*slot->value);
  EXPECT_EQ(slot->value->error(), caf::sec::request_timeout);
  g.open();
  auto after = submit([] { return caf::expected<int>{7}; });
  // The pool has one thread, so once `after` is answered the late result was delivered too.
  ASSERT_TRUE(run_until([&] { return after->has(); }));
  sched_.run_locked();
  EXPECT_EQ(slot->calls, 1);
  EXPECT_EQ(**after->value, 7);
}

TEST_F(blocking_pool_test, an_answered_job_leaves_no_timeout_to_fire_later) {
  start(1, 16);
  auto slot = submit([] { return caf::expected<int>{5}; }, 10s);
  ASSERT_TRUE(run_until([&] { return slot->has(); }));
  // CAF's request timeout would still be pending in simulated time and fire as a message.
  EXPECT_FALSE(sched_.has_pending_timeout());
  sched_.advance_locked(20s);
  EXPECT_EQ(sched_.run_locked(), 0u);
  EXPECT_EQ(slot->calls, 1);
  EXPECT_EQ(**slot->value, 5);
}

} // namespace
} // namespace troupe::test
