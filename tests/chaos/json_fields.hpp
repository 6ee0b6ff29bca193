#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace troupe::chaos_harness {

/// The string field `name` of `j`; "" when `j` is no object or the field is no string (answers
/// and records are read without trusting their shape).
inline std::string text_field(const nlohmann::json& j, const char* name) {
  auto i = j.is_object() ? j.find(name) : j.end();
  return i != j.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

/// The integer field `name` of `j`; `otherwise` when there is none.
inline std::int64_t int_field(const nlohmann::json& j, const char* name, std::int64_t otherwise) {
  auto i = j.is_object() ? j.find(name) : j.end();
  return i != j.end() && i->is_number_integer() ? i->get<std::int64_t>() : otherwise;
}

} // namespace troupe::chaos_harness
