#pragma once

// What the alternating-rounds benchmarks share: their two arguments and the median.

#include <algorithm>
#include <string>
#include <vector>

namespace troupe::bench {

/// How many alternating rounds, and how many iterations in each.
struct rounds {
  int count = 9;
  int iterations = 0;

  /// Reads `[rounds] [iterations]` from the command line, with `iterations` by default.
  static rounds from_args(int argc, char** argv, int iterations) {
    return {argc > 1 ? std::stoi(argv[1]) : 9, argc > 2 ? std::stoi(argv[2]) : iterations};
  }
};

/// The median of `xs` (the upper one for an even count).
inline double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

} // namespace troupe::bench
