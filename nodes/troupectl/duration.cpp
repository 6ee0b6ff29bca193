#include "duration.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <utility>

namespace troupe::ctl {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, int64_t>, 4> units{
      {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}}};
  int64_t count = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (ec != std::errc{} || end == text.data() || count < 0)
    return std::nullopt;
  std::string_view unit{end, static_cast<size_t>(text.data() + text.size() - end)};
  for (auto [name, scale] : units)
    if (unit == name) {
      if (count > std::numeric_limits<int64_t>::max() / scale)
        return std::nullopt;
      return std::chrono::milliseconds{count * scale};
    }
  return std::nullopt;
}

std::string format_duration(int64_t ms) {
  if (ms < 0)
    return "-" + format_duration(-ms);
  if (ms < 1000)
    return std::to_string(ms) + "ms";
  if (ms < 60'000) {
    auto tenths = ms / 100;
    auto text = std::to_string(tenths / 10);
    if (tenths % 10 != 0)
      text += "." + std::to_string(tenths % 10);
    return text + "s";
  }
  if (ms < 3'600'000) {
    auto s = ms / 1000;
    return std::to_string(s / 60) + "m" + (s % 60 != 0 ? std::to_string(s % 60) + "s" : "");
  }
  auto m = ms / 60'000;
  return std::to_string(m / 60) + "h" + (m % 60 != 0 ? std::to_string(m % 60) + "m" : "");
}

} // namespace troupe::ctl
