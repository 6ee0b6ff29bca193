#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace troupe::observability {

/// How log lines are written to stderr.
enum class log_format {
  /// Human-readable: `2026-01-01 12:00:00.000 info  [node] message`.
  text,
  /// One JSON object per line: {"ts","level","logger","msg"}.
  json,
};

/// Parses "text" or "json".
std::optional<log_format> parse_log_format(std::string_view name);

/// Returns whether `name` is a level spdlog knows (trace, debug, info, warn, error, critical, off).
bool is_log_level(std::string_view name);

/// Installs the process-wide default logger writing to stderr at `level` in `format`.
void setup_logging(std::string_view level, log_format format, const std::string& node_name);

} // namespace troupe::observability
