#include "troupe/notification/provider.hpp"

namespace troupe::notification {

std::string to_string(channel x) {
  switch (x) {
  case channel::email:
    return "email";
  case channel::push:
    return "push";
  case channel::sms:
    return "sms";
  }
  return "unknown";
}

std::optional<channel> parse_channel(std::string_view name) {
  for (auto x : {channel::email, channel::push, channel::sms})
    if (to_string(x) == name)
      return x;
  return std::nullopt;
}

} // namespace troupe::notification
