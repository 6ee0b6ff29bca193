#pragma once

#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace troupe::auth {

/// Hashes `password` with Argon2id (libsodium's interactive limits) into a self-describing
/// "$argon2id$..." string with a fresh random salt.
///
/// Blocks for tens of milliseconds and takes 64 MiB: run it on a blocking pool, never on an
/// io thread or an actor's scheduler thread.
caf::expected<std::string> hash_password(std::string_view password);

/// Returns whether `password` matches `encoded_hash` (from `hash_password`); false on any
/// malformed hash.
///
/// Blocks like `hash_password`: run it on a blocking pool, never on an io or actor thread.
bool verify_password(std::string_view encoded_hash, std::string_view password);

} // namespace troupe::auth
