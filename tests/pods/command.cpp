#include "pods/command.hpp"

#include <stdexcept>

#include "support/process.hpp"

namespace troupe::testing {

command_result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  std::vector<std::string> full{"/usr/bin/env"};
  full.insert(full.end(), argv.begin(), argv.end());
  process p{full};
  command_result r;
  auto code = p.wait_exit(limit);
  r.code = code.value_or(-1);
  r.out = p.out();
  r.err = p.err();
  return r;
}

std::string must_run(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  auto r = run_command(argv, limit);
  if (r.code != 0) {
    std::string line;
    for (const auto& a : argv)
      line += a + " ";
    throw std::runtime_error(line + "exited " + std::to_string(r.code) + ": " + r.err);
  }
  return r.out;
}

} // namespace troupe::testing
