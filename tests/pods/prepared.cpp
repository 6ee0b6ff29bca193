#include "pods/prepared.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "pods/command.hpp"

namespace troupe::testing {

using namespace std::chrono_literals;

prepared::prepared() : objects(nlohmann::json::array()) {
  char tmpl[] = "/tmp/troupe-pods-XXXXXX";
  dir = ::mkdtemp(tmpl);
  auto out = must_run({TROUPE_PODS_PREPARE, dir}, 600s);
  std::istringstream lines{out};
  for (std::string line; std::getline(lines, line);)
    if (auto eq = line.find('='); eq != std::string::npos && line.starts_with("export "))
      ::setenv(line.substr(7, eq - 7).c_str(), line.substr(eq + 1).c_str(), 1);
  std::ifstream in{dir + "/dev.json"};
  objects = manifests{nlohmann::json::parse(in)};
}

prepared::~prepared() {
  run_command({"rm", "-rf", dir});
}

} // namespace troupe::testing
