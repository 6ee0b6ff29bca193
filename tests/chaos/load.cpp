#include "load.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "load_client.hpp"
#include "load_state.hpp"

namespace troupe::chaos_harness {

struct load_generator::impl {
  explicit impl(load_config c) : state(c) {}

  load_state state;
  std::unique_ptr<load_client> preparer;
  std::vector<std::unique_ptr<load_client>> clients;
  std::vector<std::thread> threads;
  std::mutex mtx;
  std::condition_variable cv;
  int running = 0;

  void enter_thread() const {
    if (state.cfg().on_thread_start)
      state.cfg().on_thread_start();
  }
};

load_generator::load_generator(load_config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

load_generator::~load_generator() {
  stop(std::chrono::seconds(10));
}

bool load_generator::prepare(std::chrono::milliseconds limit, std::string& why) {
  auto& s = *impl_;
  if (s.state.cfg().nodes.empty()) {
    why = "no nodes to send to";
    return false;
  }
  s.preparer = std::make_unique<load_client>(s.state, -1, s.state.cfg().seed);
  auto deadline = std::chrono::steady_clock::now() + limit;
  bool ok = false;
  // On a thread of its own: `on_thread_start` may enter a network namespace, and the
  // caller's thread must stay where it is.
  std::thread worker{[&] {
    s.enter_thread();
    ok = s.preparer->prepare(deadline, why);
  }};
  worker.join();
  return ok;
}

void load_generator::start() {
  auto& s = *impl_;
  if (!s.threads.empty() || s.state.cfg().nodes.empty())
    return;
  s.state.stopping = false;
  auto n = std::max(1, s.state.cfg().clients);
  for (int i = 0; i < n; ++i)
    s.clients.push_back(std::make_unique<load_client>(
        s.state, i, s.state.cfg().seed * 1'000'003 + static_cast<std::uint64_t>(i) + 1));
  s.running = n;
  for (int i = 0; i < n; ++i)
    s.threads.emplace_back([&s, c = s.clients[static_cast<std::size_t>(i)].get()] {
      s.enter_thread();
      c->run();
      std::lock_guard guard{s.mtx};
      --s.running;
      s.cv.notify_all();
    });
}

void load_generator::stop(std::chrono::milliseconds limit) {
  auto& s = *impl_;
  s.state.stopping = true;
  {
    // Every request is bounded by its own timeout, so a client overrunning `limit` does so
    // by at most one request; the join below waits for that.
    std::unique_lock lock{s.mtx};
    s.cv.wait_for(lock, limit, [&] { return s.running == 0; });
  }
  for (auto& t : s.threads)
    if (t.joinable())
      t.join();
  s.threads.clear();
}

double load_generator::error_rate(std::chrono::milliseconds window) const {
  return impl_->state.error_rate(window);
}

std::int64_t load_generator::requests() const {
  return impl_->state.requests();
}

std::vector<operation> load_generator::operations() const {
  std::vector<operation> out;
  if (impl_->preparer)
    out = impl_->preparer->operations();
  for (const auto& c : impl_->clients) {
    auto ops = c->operations();
    out.insert(out.end(), std::make_move_iterator(ops.begin()), std::make_move_iterator(ops.end()));
  }
  return out;
}

} // namespace troupe::chaos_harness
