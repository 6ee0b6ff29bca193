#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace troupe::chaos_harness {

/// The display name the load writes for sequence number `seq` of a user.
inline std::string display_name_for(std::int64_t seq) {
  return "chaos " + std::to_string(seq);
}

/// The sequence number a display name written by the load carries; none for any other name.
inline std::optional<std::int64_t> seq_in(const std::string& display_name) {
  const std::string prefix = "chaos ";
  if (display_name.size() <= prefix.size() || display_name.compare(0, prefix.size(), prefix) != 0)
    return std::nullopt;
  std::int64_t seq = 0;
  for (auto i = prefix.size(); i < display_name.size(); ++i) {
    char c = display_name[i];
    if (c < '0' || c > '9' || seq > (INT64_MAX - 9) / 10)
      return std::nullopt;
    seq = seq * 10 + (c - '0');
  }
  return seq;
}

} // namespace troupe::chaos_harness
