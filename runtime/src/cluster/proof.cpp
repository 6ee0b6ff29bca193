#include "proof.hpp"

#include <array>
#include <cstdio>
#include <string>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace troupe::cluster::detail {

std::string proof(std::string_view secret, std::initializer_list<std::string_view> fields) {
  std::string input;
  for (auto f : fields)
    input.append(std::to_string(f.size())).append(":").append(f);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(), &len);
  std::string out;
  out.reserve(len * 2);
  static constexpr char digits[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(digits[mac[i] >> 4]);
    out.push_back(digits[mac[i] & 0xf]);
  }
  return out;
}

bool same_proof(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace troupe::cluster::detail
