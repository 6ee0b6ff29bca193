// Stand-in for the load generator until tests/chaos/load.cpp exists in this tree: probes
// /healthz through each node and records the answers, enough to drive the harness.
#include <atomic>
#include <mutex>
#include <thread>

#include "load.hpp"
#include "support/http_client.hpp"

namespace troupe::chaos_harness {

struct load_generator::impl {
  load_config cfg;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  mutable std::mutex mtx;
  std::vector<operation> ops;
};

load_generator::load_generator(load_config cfg) : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
}

load_generator::~load_generator() {
  stop(std::chrono::seconds(5));
}

bool load_generator::prepare(std::chrono::milliseconds, std::string&) {
  return true;
}

void load_generator::start() {
  for (int c = 0; c < std::max(1, impl_->cfg.clients / 4); ++c)
    impl_->threads.emplace_back([this, c] {
      if (impl_->cfg.on_thread_start)
        impl_->cfg.on_thread_start();
      auto now = [this] {
        return std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now() - impl_->cfg.origin)
            .count();
      };
      for (std::size_t i = static_cast<std::size_t>(c); !impl_->stop; ++i) {
        const auto& ep = impl_->cfg.nodes[i % impl_->cfg.nodes.size()];
        operation op{"get_stock", ep.name, "probe", now(), 0, 0, 1, nlohmann::json::object()};
        op.status =
            testing::http_call(ep.host, ep.port, "GET", "/healthz", {}, {}, std::chrono::seconds(1))
                .status;
        op.answered = now();
        std::lock_guard guard{impl_->mtx};
        impl_->ops.push_back(op);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
}

void load_generator::stop(std::chrono::milliseconds) {
  impl_->stop = true;
  for (auto& t : impl_->threads)
    if (t.joinable())
      t.join();
}

double load_generator::error_rate(std::chrono::milliseconds window) const {
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::steady_clock::now() - impl_->cfg.origin)
                 .count();
  std::lock_guard guard{impl_->mtx};
  double sent = 0;
  double failed = 0;
  for (auto it = impl_->ops.rbegin();
       it != impl_->ops.rend() && it->sent > now - window.count() * 1000; ++it) {
    ++sent;
    failed += it->status == 0 || it->status >= 500;
  }
  return sent == 0 ? 0 : failed / sent;
}

std::vector<operation> load_generator::operations() const {
  std::lock_guard guard{impl_->mtx};
  return impl_->ops;
}

} // namespace troupe::chaos_harness
