#pragma once

#include <string>
#include <string_view>

namespace troupe {

/// Returns a random (version 4) UUID in its 36-character text form, from the
/// operating system's CSPRNG so ids cannot be guessed.
std::string random_uuid();

/// Returns whether `s` has the 8-4-4-4-12 hex form of a UUID.
bool is_uuid(std::string_view s);

/// Returns `n` random bytes as lower-case hex (2n characters), from the CSPRNG.
std::string random_hex(size_t n);

} // namespace troupe
