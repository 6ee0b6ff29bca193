#include "troupe/auth/password.hpp"

#include <sodium.h>

#include "troupe/core/error.hpp"

namespace troupe::auth {

namespace {

// sodium_init picks CPU-specific code and seeds the RNG; a function-local static runs it once
// even when the first calls race.
bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

constexpr std::string_view argon2id_prefix = "$argon2id$";

} // namespace

caf::expected<std::string> hash_password(std::string_view password) {
  if (!sodium_ready())
    return make_error(errc::io_failure, "libsodium failed to initialize");
  if (password.size() > crypto_pwhash_PASSWD_MAX)
    return make_error(errc::invalid_argument, "password too long");
  char out[crypto_pwhash_STRBYTES] = {};
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    // The only documented failure is running out of memory: the host is overloaded.
    return make_error(errc::overloaded, "not enough memory to hash a password");
  return std::string{out};
}

bool verify_password(std::string_view encoded_hash, std::string_view password) {
  if (!sodium_ready())
    return false;
  // libsodium wants a NUL-terminated string; an embedded NUL or an overlong input is not ours.
  if (encoded_hash.size() >= crypto_pwhash_STRBYTES ||
      encoded_hash.find('\0') != std::string_view::npos ||
      encoded_hash.substr(0, argon2id_prefix.size()) != argon2id_prefix ||
      password.size() > crypto_pwhash_PASSWD_MAX)
    return false;
  std::string hash{encoded_hash};
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

} // namespace troupe::auth
