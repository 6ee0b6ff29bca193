#include <array>
#include <string>

#include <openssl/sha.h>

#include "digest.hpp"
#include "troupe/order/routes.hpp"

namespace troupe::order {

namespace {

std::array<unsigned char, SHA256_DIGEST_LENGTH> sha256(const std::string& input) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), d.data());
  return d;
}

constexpr char hex[] = "0123456789abcdef";

} // namespace

std::string request_digest(const std::vector<order_item>& items, const std::string& method,
                           const std::string& token) {
  // Lengths before strings: no two different requests serialize alike.
  std::string input;
  for (const auto& i : items)
    input += std::to_string(i.sku.size()) + ':' + i.sku + '*' + std::to_string(i.quantity) + ';';
  input +=
      std::to_string(method.size()) + ':' + method + std::to_string(token.size()) + ':' + token;
  std::string out;
  for (auto b : sha256(input)) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0xf]);
  }
  return out;
}

std::string order_id_for(const std::string& user_id, const std::string& idempotency_key) {
  // The NUL keeps ("ab", "c") and ("a", "bc") apart.
  std::string input = user_id;
  input.push_back('\0');
  input += idempotency_key;
  auto d = sha256(input);
  // RFC 9562 version 8 (custom) with the RFC variant: a valid UUID for the uuid column.
  d[6] = static_cast<unsigned char>((d[6] & 0x0f) | 0x80);
  d[8] = static_cast<unsigned char>((d[8] & 0x3f) | 0x80);
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out.push_back('-');
    out.push_back(hex[d[i] >> 4]);
    out.push_back(hex[d[i] & 0xf]);
  }
  return out;
}

} // namespace troupe::order
