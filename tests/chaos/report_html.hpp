#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "record.hpp"

namespace troupe::chaos_harness {

/// `text` with &, <, >, " and ' replaced by character references.
std::string html_escape(std::string_view text);

/// The self-contained report page of a campaign whose result.json is `result`.
std::string report_html(const run_record& run, const nlohmann::json& result);

} // namespace troupe::chaos_harness
