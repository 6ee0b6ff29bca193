#pragma once

#include <string>
#include <vector>

#include "troupe/order/messages.hpp"

namespace troupe::order {

/// Returns a hex SHA-256 of what an order request asks for, to tell a replay of it
/// (same digest) from another request under the same idempotency key.
std::string request_digest(const std::vector<order_item>& items, const std::string& method,
                           const std::string& token);

} // namespace troupe::order
