#pragma once

#include <atomic>
#include <memory>
#include <string_view>

#include "troupe/chaos/registry.hpp"

namespace troupe::chaos {

/// The registry the runtime's hooks read: installed by a node started with chaos enabled,
/// absent otherwise, so each hook costs one atomic load of a null pointer when chaos is off.
class faults {
public:
  /// Makes `r` the process's registry (null: none). Install before hooks run and remove
  /// only after they stopped: hooks hold no reference.
  static void install(std::shared_ptr<registry> r);

  /// The installed registry if it has an active fault, else null.
  static registry* active() noexcept {
    auto* r = current_.load(std::memory_order_acquire);
    return r != nullptr && !r->empty() ? r : nullptr;
  }

  /// The effect on one call to dependency `name` (e.g. a provider a domain names); domains
  /// call it before each call and add the delay or fail the call.
  static call_effect check_dependency(std::string_view name) {
    auto* r = active();
    return r != nullptr ? r->on_dependency(name) : call_effect{};
  }

  /// The effect on one store call.
  static call_effect check_store() {
    auto* r = active();
    return r != nullptr ? r->on_store() : call_effect{};
  }

private:
  static std::atomic<registry*> current_;
};

/// Installs a registry for the lifetime of the guard (tests, and a node's `run`).
class install_guard {
public:
  /// Installs `r`.
  explicit install_guard(std::shared_ptr<registry> r) { faults::install(std::move(r)); }
  /// Removes it.
  ~install_guard() { faults::install(nullptr); }
  install_guard(const install_guard&) = delete;
  install_guard& operator=(const install_guard&) = delete;
};

} // namespace troupe::chaos
