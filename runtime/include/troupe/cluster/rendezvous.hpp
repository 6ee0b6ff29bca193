#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::cluster {

/// The weight of `member` for `key` in rendezvous (highest random weight) hashing: a
/// well-mixed 64-bit hash of both. The same inputs give the same score on every node and
/// in every process, so nodes agree on owners without talking.
uint64_t rendezvous_score(std::string_view member, std::string_view key);

/// Returns the owner of `key` among `members` (the one with the highest score; ties go to
/// the smaller name), or nothing when there are no members.
///
/// Adding a member moves only the keys it now wins; removing one moves only the keys it
/// owned. Every other key keeps its owner, which is why a membership change passivates
/// few activations.
std::optional<std::string> owner_of(std::string_view key, const std::vector<std::string>& members);

} // namespace troupe::cluster
