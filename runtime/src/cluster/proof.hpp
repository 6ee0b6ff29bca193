#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace troupe::cluster::detail {

/// Hex HMAC-SHA256 under `secret` of `fields`, each prefixed by its length (so no two lists
/// of fields encode alike). Proves knowledge of the secret without sending it; the fields
/// bind the proof to one handshake: both nonces, both nodes, and which side speaks.
std::string proof(std::string_view secret, std::initializer_list<std::string_view> fields);

/// Compares two proofs in constant time.
bool same_proof(std::string_view a, std::string_view b);

} // namespace troupe::cluster::detail
