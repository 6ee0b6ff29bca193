#include "troupe/core/owed_reply.hpp"

#include <vector>

#include <caf/mailbox_element.hpp>
#include <caf/sec.hpp>

#include "troupe/core/error.hpp"

namespace troupe::detail {

bool owed_reply::give(caf::expected<job_output> x) {
  if (given_.exchange(true))
    return false;
  if (auto timer = timer_.lock())
    timer->forget(*this);
  // The reference held the caller alive until now, as a pending response does in CAF.
  auto to = std::move(to_);
  if (x)
    to->enqueue(caf::make_mailbox_element(nullptr, id_, {}, std::move(*x)), nullptr);
  else
    to->enqueue(caf::make_mailbox_element(nullptr, id_, {}, std::move(x.error())), nullptr);
  return true;
}

std::shared_ptr<reply_timer> reply_timer::start() {
  std::shared_ptr<reply_timer> t{new reply_timer};
  // The thread holds only a raw pointer: `stop` joins it before the timer can go away.
  t->thread_ = std::thread{[raw = t.get()] { raw->loop(); }};
  return t;
}

void reply_timer::watch(const std::shared_ptr<owed_reply>& r, clock::time_point deadline) {
  r->timer_ = weak_from_this();
  bool wake = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return; // `stop` answered everything; this reply is answered by whoever owes it
    r->entry_ = due_.emplace(deadline, r);
    r->watched_ = true;
    wake = deadline < wakes_at_;
  }
  if (wake)
    cv_.notify_one();
}

void reply_timer::forget(owed_reply& r) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!r.watched_)
    return;
  r.watched_ = false;
  due_.erase(r.entry_);
}

void reply_timer::loop() {
  std::unique_lock<std::mutex> lock{mtx_};
  while (!stopping_) {
    auto now = clock::now();
    std::vector<std::shared_ptr<owed_reply>> late;
    while (!due_.empty() && due_.begin()->first <= now) {
      late.push_back(std::move(due_.begin()->second));
      late.back()->watched_ = false;
      due_.erase(due_.begin());
    }
    if (!late.empty()) {
      lock.unlock();
      for (auto& r : late)
        r->give(caf::make_error(caf::sec::request_timeout));
      lock.lock();
      continue;
    }
    // With nothing due, sleep until a watch brings a deadline; answered replies left the
    // map already, so a busy stream of short jobs never wakes this thread.
    wakes_at_ = due_.empty() ? clock::time_point::max() : due_.begin()->first;
    if (due_.empty())
      cv_.wait(lock);
    else
      cv_.wait_until(lock, wakes_at_);
    wakes_at_ = clock::time_point::min();
  }
}

void reply_timer::stop(const caf::error& why) {
  std::vector<std::shared_ptr<owed_reply>> owed;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return;
    stopping_ = true;
    for (auto& [_, r] : due_) {
      r->watched_ = false;
      owed.push_back(std::move(r));
    }
    due_.clear();
  }
  cv_.notify_one();
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id())
      thread_.detach();
    else
      thread_.join();
  }
  for (auto& r : owed)
    r->give(why);
}

reply_timer::~reply_timer() {
  stop(make_error(errc::shutting_down, "reply timer stopped"));
}

} // namespace troupe::detail
