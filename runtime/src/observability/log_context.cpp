#include "troupe/observability/log_context.hpp"

#include <utility>

namespace troupe::observability {

namespace {

const log_context none;

// Per thread: io threads and actor threads each run one piece of work at a time.
thread_local const log_context* current = &none;

} // namespace

const log_context& current_log_context() noexcept {
  return *current;
}

log_scope::log_scope(const log_context& ctx) noexcept : previous_(std::exchange(current, &ctx)) {}

log_scope::~log_scope() {
  current = previous_;
}

} // namespace troupe::observability
