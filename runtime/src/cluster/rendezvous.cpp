#include "troupe/cluster/rendezvous.hpp"

namespace troupe::cluster {

namespace {

// FNV-1a over the bytes, then a 64-bit finalizer: FNV alone leaves the high bits of
// similar inputs ("sku-1", "sku-2") correlated, which would skew the owners.
uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

} // namespace

uint64_t rendezvous_score(std::string_view member, std::string_view key) {
  auto h = fnv1a(0xcbf29ce484222325ULL, member);
  h = fnv1a(h ^ 0xff, key); // a separator, so ("ab", "c") and ("a", "bc") differ
  return mix(h);
}

std::optional<std::string> owner_of(std::string_view key, const std::vector<std::string>& members) {
  const std::string* best = nullptr;
  uint64_t best_score = 0;
  for (const auto& m : members) {
    auto score = rendezvous_score(m, key);
    if (!best || score > best_score || (score == best_score && m < *best)) {
      best = &m;
      best_score = score;
    }
  }
  if (!best)
    return std::nullopt;
  return *best;
}

} // namespace troupe::cluster
