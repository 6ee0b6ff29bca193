#include "troupe/chaos/fault.hpp"

namespace troupe::chaos {

std::string_view to_string(fault_type x) {
  switch (x) {
  case fault_type::delay:
    return "delay";
  case fault_type::drop:
    return "drop";
  case fault_type::duplicate:
    return "duplicate";
  case fault_type::kill_entity:
    return "kill_entity";
  case fault_type::kill_actor:
    return "kill_actor";
  case fault_type::crash_node:
    return "crash_node";
  case fault_type::store_slow:
    return "store_slow";
  case fault_type::store_fail:
    return "store_fail";
  case fault_type::dependency_slow:
    return "dependency_slow";
  case fault_type::dependency_fail:
    return "dependency_fail";
  }
  return "unknown";
}

std::optional<fault_type> parse_fault_type(std::string_view name) {
  for (auto t : all_fault_types)
    if (to_string(t) == name)
      return t;
  return std::nullopt;
}

bool is_message_fault(fault_type type) {
  return type == fault_type::delay || type == fault_type::drop || type == fault_type::duplicate;
}

bool is_one_shot(fault_type type) {
  return type == fault_type::kill_entity || type == fault_type::kill_actor ||
         type == fault_type::crash_node;
}

} // namespace troupe::chaos
