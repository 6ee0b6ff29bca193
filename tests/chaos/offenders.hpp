#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::chaos_harness {

/// Counts the offenders of one invariant and keeps the first few for its detail sentence.
class offenders {
public:
  void add(std::string what) {
    if (first_.size() < 3)
      first_.push_back(std::move(what));
    ++count_;
  }

  std::int64_t count() const { return count_; }

  /// "" when there is none, else " (first: a; b; c)".
  std::string first() const {
    if (first_.empty())
      return {};
    std::string out = " (first: ";
    for (std::size_t i = 0; i < first_.size(); ++i)
      out += (i ? "; " : "") + first_[i];
    return out + ")";
  }

private:
  std::int64_t count_ = 0;
  std::vector<std::string> first_;
};

/// `us` as seconds with one decimal, for detail sentences.
inline std::string seconds(std::int64_t us) {
  auto tenths = us / 100'000;
  return std::to_string(tenths / 10) + "." +
         std::to_string(tenths % 10 < 0 ? -(tenths % 10) : tenths % 10) + " s";
}

} // namespace troupe::chaos_harness
