#pragma once

#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "troupe/chaos/registry.hpp"

namespace troupe::chaos {

/// Reads a fault from the body of `POST /admin/chaos/faults`, or says which field is wrong.
std::variant<fault_spec, std::string> parse_fault(const nlohmann::json& body);

/// The JSON of one fault as the admin API shows it.
nlohmann::json to_json(const fault_view& f);

} // namespace troupe::chaos
