#include "troupe/observability/log_context.hpp"

#include <utility>

namespace troupe::observability {

namespace {

// Per thread: io threads and actor threads each run one piece of work at a time.
thread_local log_context current;

} // namespace

const log_context& current_log_context() noexcept {
  return current;
}

log_scope::log_scope(log_context ctx) : previous_(std::exchange(current, std::move(ctx))) {}

log_scope::~log_scope() {
  current = std::move(previous_);
}

} // namespace troupe::observability
