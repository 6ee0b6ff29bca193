#include "troupe/chaos/faults.hpp"

#include <mutex>

namespace troupe::chaos {

std::atomic<registry*> faults::current_{nullptr};

namespace {

// Keeps the installed registry alive; the atomic raw pointer is what hooks read.
std::mutex holder_mtx;
std::shared_ptr<registry> holder;

} // namespace

void faults::install(std::shared_ptr<registry> r) {
  std::lock_guard<std::mutex> guard{holder_mtx};
  current_.store(r.get(), std::memory_order_release);
  holder = std::move(r);
}

} // namespace troupe::chaos
