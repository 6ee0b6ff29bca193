// troupe-chaos: a chaos campaign against a cluster of troupe-node processes in network
// namespaces of its own. Exit 0: every invariant held; 1: one did not or the SLO guard
// stopped the campaign; 2: bad options or no campaign could be set up; 77: not possible here
// (not root, no `ip netns`), which ctest reports as skipped.
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "campaign.hpp"
#include "options.hpp"
#include "pods/command.hpp"

namespace {

void on_signal(int) {
  troupe::chaos_harness::interrupted = true;
}

} // namespace

int main(int argc, char** argv) {
  troupe::chaos_harness::campaign_options o;
  if (auto code = troupe::chaos_harness::parse_options(argc, argv, o))
    return *code;
  if (::geteuid() != 0) {
    std::fprintf(stderr, "troupe-chaos: needs root (network namespaces, iptables); skipped\n");
    return 77;
  }
  if (troupe::testing::run_command({"ip", "netns", "list"}).code != 0) {
    std::fprintf(stderr, "troupe-chaos: `ip netns` is not available here; skipped\n");
    return 77;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  return troupe::chaos_harness::run_campaign(o);
}
