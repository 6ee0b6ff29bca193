#pragma once

#include <string>
#include <string_view>

namespace troupe::cluster::detail {

/// Hex HMAC-SHA256 under `secret` of a nonce and the prover's identity: proves knowledge
/// of the secret without sending it, bound to one handshake and one node.
std::string proof(std::string_view secret, std::string_view nonce, std::string_view name,
                  std::string_view incarnation);

/// Compares two proofs in constant time.
bool same_proof(std::string_view a, std::string_view b);

} // namespace troupe::cluster::detail
