#pragma once

// The provider implementations behind make_provider.

#include <chrono>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "troupe/notification/provider.hpp"

namespace troupe::notification {

/// Makes a provider that logs each delivery at info level and reports success at once.
std::shared_ptr<provider> make_log_provider();

/// Makes a provider that POSTs each delivery as JSON to `url`, each attempt bounded by
/// `timeout`; fails for a bad URL or timeout, or when its io thread cannot start.
caf::expected<std::shared_ptr<provider>> make_webhook_provider(const std::string& url,
                                                               std::chrono::milliseconds timeout);

} // namespace troupe::notification
