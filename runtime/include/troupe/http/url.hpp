#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace troupe::http {

/// Decoded query parameters; the first occurrence of a repeated key wins.
using query_map = std::unordered_map<std::string, std::string>;

/// Decodes %XX escapes (and '+' as space if asked); nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space = false);

/// Returns the path part of a request target, without the query string and fragment.
std::string_view target_path(std::string_view target);

/// Returns the query part of a request target (after '?', before '#'), possibly empty.
std::string_view target_query(std::string_view target);

/// Parses `a=1&b=x+y`, or the query of a target starting with `/`; bad escapes stay verbatim.
query_map parse_query(std::string_view target_or_query);

} // namespace troupe::http
