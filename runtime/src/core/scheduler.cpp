#include "troupe/core/scheduler.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace troupe {

namespace {

// The schedule of CAF's simple clock behind one mutex, and a thread that sleeps until its
// first entry is due. It derives from CAF's thread-safe clock only because the coordinator's
// `clock()` returns that type; none of that clock's queue is used.
class quiet_clock final : public caf::detail::thread_safe_actor_clock {
public:
  using simple = caf::detail::simple_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override {
    change([&] { simple::set_ordinary_timeout(t, self, type, id); });
  }

  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    change([&] { simple::set_request_timeout(t, self, id); });
  }

  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override {
    change([&] { simple::set_multi_timeout(t, self, type, id); });
  }

  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override {
    change([&] { simple::cancel_ordinary_timeout(self, type); });
  }

  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override {
    change([&] { simple::cancel_request_timeout(self, id); });
  }

  void cancel_timeouts(caf::abstract_actor* self) override {
    change([&] { simple::cancel_timeouts(self); });
  }

  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override {
    change([&] { simple::schedule_message(t, std::move(receiver), std::move(content)); });
  }

  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override {
    change([&] {
      simple::schedule_message(t, std::move(target), std::move(sender), std::move(content));
    });
  }

  void cancel_all() override {
    change([&] { simple::cancel_all(); });
  }

  // Ships what falls due until `stop`.
  void run() {
    std::unique_lock<std::mutex> lock{mtx_};
    while (!stopping_) {
      trigger_expired_timeouts();
      if (schedule().empty()) {
        wakes_at_ = time_point::max();
        cv_.wait(lock);
      } else {
        wakes_at_ = schedule().begin()->first;
        cv_.wait_until(lock, wakes_at_);
      }
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    cv_.notify_one();
  }

private:
  // Applies `f` to the schedule; wakes the thread only if the first entry is now due before
  // the time it sleeps until (while it runs it holds the lock, so it sees every change).
  template <class F>
  void change(F f) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      f();
      wake = !schedule().empty() && schedule().begin()->first < wakes_at_;
      if (wake)
        wakes_at_ = schedule().begin()->first;
    }
    if (wake)
      cv_.notify_one();
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  time_point wakes_at_ = time_point::max();
  bool stopping_ = false;
};

// CAF's coordinator with the quiet clock in place of its own (whose thread then idles).
template <class Policy>
class quiet_coordinator final : public caf::scheduler::coordinator<Policy> {
public:
  using super = caf::scheduler::coordinator<Policy>;

  using super::super;

  static caf::actor_system::module* make(caf::actor_system& sys, caf::detail::type_list<>) {
    return new quiet_coordinator(sys);
  }

  caf::detail::thread_safe_actor_clock& clock() noexcept override { return clock_; }

protected:
  void start() override {
    thread_ = std::thread{[this] {
      caf::detail::set_thread_name("troupe.clock");
      this->system().thread_started();
      clock_.run();
      this->system().thread_terminates();
    }};
    super::start();
  }

  void stop() override {
    super::stop();
    clock_.stop();
    thread_.join();
  }

private:
  quiet_clock clock_;
  std::thread thread_;
};

} // namespace

bool install_scheduler(caf::actor_system_config& cfg, std::string_view policy) {
  if (policy == "sharing")
    cfg.load<quiet_coordinator<caf::policy::work_sharing>>();
  else if (policy == "stealing")
    cfg.load<quiet_coordinator<caf::policy::work_stealing>>();
  else
    return false;
  return true;
}

} // namespace troupe
