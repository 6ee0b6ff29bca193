#include <iterator>
#include <string>

#include "troupe/order/messages.hpp"

namespace troupe::order {

namespace {

// Indexed by the enum; these names are the API's and the store's.
constexpr const char* names[] = {"pending",   "reserved", "authorized", "confirmed",
                                 "rejecting", "rejected", "cancelling", "cancelled"};

} // namespace

const char* to_string(order_status s) noexcept {
  auto i = static_cast<size_t>(s);
  return i < std::size(names) ? names[i] : "unknown";
}

bool parse(const std::string& name, order_status& out) noexcept {
  for (size_t i = 0; i < std::size(names); ++i)
    if (name == names[i]) {
      out = static_cast<order_status>(i);
      return true;
    }
  return false;
}

bool is_final(order_status s) noexcept {
  return s == order_status::confirmed || s == order_status::rejected ||
         s == order_status::cancelled;
}

} // namespace troupe::order
