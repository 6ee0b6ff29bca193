#include <iterator>

#include "troupe/notification/store.hpp"

namespace troupe::notification {

const char* to_string(delivery_status s) noexcept {
  // Indexed by the enum; these names are the API's and the store's.
  static constexpr const char* names[] = {"pending", "sent", "failed", "dead"};
  auto i = static_cast<size_t>(s);
  return i < std::size(names) ? names[i] : "unknown";
}

} // namespace troupe::notification
