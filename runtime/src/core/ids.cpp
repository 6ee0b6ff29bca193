#include "troupe/core/ids.hpp"

#include <cctype>
#include <stdexcept>
#include <sys/random.h>
#include <vector>

namespace troupe {

namespace {

void fill_random(unsigned char* out, size_t n) {
  while (n > 0) {
    auto got = getrandom(out, n, 0);
    if (got < 0)
      throw std::runtime_error("getrandom failed");
    out += got;
    n -= static_cast<size_t>(got);
  }
}

constexpr char hex_digits[] = "0123456789abcdef";

} // namespace

bool is_uuid(std::string_view s) {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i])))
      return false;
  }
  return true;
}

std::string random_hex(size_t n) {
  std::vector<unsigned char> bytes(n);
  fill_random(bytes.data(), n);
  std::string out;
  out.reserve(2 * n);
  for (auto b : bytes) {
    out += hex_digits[b >> 4];
    out += hex_digits[b & 0x0f];
  }
  return out;
}

std::string random_uuid() {
  unsigned char b[16];
  fill_random(b, sizeof(b));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40); // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out += '-';
    out += hex_digits[b[i] >> 4];
    out += hex_digits[b[i] & 0x0f];
  }
  return out;
}

} // namespace troupe
