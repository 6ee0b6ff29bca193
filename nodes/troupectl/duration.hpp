#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::ctl {

/// Parses "500ms", "2s", "1m" or "1h" (a whole number and a unit); nullopt otherwise.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Formats milliseconds for a person: "250ms", "2s", "1.5s", "3m12s", "2h5m".
std::string format_duration(int64_t ms);

} // namespace troupe::ctl
