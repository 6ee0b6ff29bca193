#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::chaos {

/// What a fault does.
enum class fault_type : uint8_t {
  /// Requests to matching entities arrive `delay` later.
  delay,
  /// Requests to matching entities never arrive; the caller sees its timeout.
  drop,
  /// Requests to matching entities arrive twice, back to back; the second answer is ignored.
  duplicate,
  /// Kills the live activation of (kind, key) on this node once, at creation.
  kill_entity,
  /// Kills the actor (or supervisor subtree) at a supervision path once, at creation.
  kill_actor,
  /// Ends this process abruptly (SIGKILL) after answering.
  crash_node,
  /// Store calls take `delay` longer.
  store_slow,
  /// Store calls fail as if the connection had failed.
  store_fail,
  /// Calls to the named dependency take `delay` longer.
  dependency_slow,
  /// Calls to the named dependency fail.
  dependency_fail,
};

/// Every fault type, in declaration order.
inline constexpr fault_type all_fault_types[] = {
    fault_type::delay,          fault_type::drop,       fault_type::duplicate,
    fault_type::kill_entity,    fault_type::kill_actor, fault_type::crash_node,
    fault_type::store_slow,     fault_type::store_fail, fault_type::dependency_slow,
    fault_type::dependency_fail};

/// Returns the stable name of `x`, e.g. "store_fail".
std::string_view to_string(fault_type x);

/// Parses a stable name; nullopt for an unknown one.
std::optional<fault_type> parse_fault_type(std::string_view name);

/// Which requests a message fault applies to; an empty field matches anything.
struct fault_match {
  /// The node the request is routed to (the owner of the key).
  std::string node;
  /// The entity kind, e.g. "user".
  std::string kind;
  /// The entity key.
  std::string key;
  /// The message name (see `message_name`).
  std::string message;
};

/// A fault as asked for.
struct fault_spec {
  /// What the fault does.
  fault_type type = fault_type::delay;
  /// How long it lives before it reverts by itself.
  std::chrono::milliseconds duration{0};
  /// The share of matching calls it hits, 0..1.
  double probability = 1.0;
  /// Added latency for the delay types; the wait before a crash.
  std::chrono::milliseconds delay{0};
  /// Which requests it hits (message types and kill_entity).
  fault_match match;
  /// The supervision path of kill_actor, e.g. "/root/user".
  std::string path;
  /// The dependency name of the dependency types, e.g. as a domain registers it.
  std::string dependency;
};

/// Whether `type` acts on requests to entities (delay, drop, duplicate).
bool is_message_fault(fault_type type);

/// Whether `type` acts once at creation (kill_entity, kill_actor, crash_node).
bool is_one_shot(fault_type type);

} // namespace troupe::chaos
