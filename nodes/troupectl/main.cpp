// troupectl: an operator's view of a Troupe cluster, and a lever for chaos, through one
// node's admin API.

#include <chrono>
#include <iostream>

#include "client.hpp"
#include "commands.hpp"
#include "options.hpp"

int main(int argc, char** argv) {
  using namespace troupe::ctl;
  auto parsed = parse_command_line(argc, argv);
  if (!parsed.run) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.message;
    if (!parsed.message.empty() && parsed.message.back() != '\n')
      (parsed.exit_code == 0 ? std::cout : std::cerr) << '\n';
    return parsed.exit_code;
  }
  auto& inv = *parsed.run;
  auto send = http_transport(inv.node, inv.token, std::chrono::milliseconds{inv.timeout_ms});
  return run(inv, send, std::cout, std::cerr);
}
