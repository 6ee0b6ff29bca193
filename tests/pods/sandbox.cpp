#include "pods/sandbox.hpp"

#include <fcntl.h>
#include <filesystem>
#include <sched.h>
#include <stdexcept>
#include <unistd.h>

#include "pods/command.hpp"

namespace troupe::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

pod_sandbox::pod_sandbox(std::string name, int subnet)
    : name_(std::move(name)), subnet_(subnet),
      volumes_(fs::temp_directory_path() / ("troupe-" + name_)) {
  must_run({"ip", "netns", "add", name_});
  auto fd = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0)
    throw std::runtime_error("cannot enter network namespace " + name_);
  ::close(fd);
  must_run({"ip", "link", "set", "lo", "up"});
  // Without arp_notify a pod keeps a stale ARP entry for the DNS server after any pod starts
  // or stops, and lookups stall for half a minute.
  must_run(
      {"sysctl", "-qw", "net.ipv4.conf.default.arp_notify=1", "net.ipv4.conf.all.arp_notify=1"});
  fs::create_directories(volumes_);
  must_run({"podman", "network", "create", "--subnet",
            "198.18." + std::to_string(subnet_) + ".0/24", name_});
  network_ = true;
}

pod_sandbox::~pod_sandbox() {
  if (!pods_.empty()) {
    std::vector<std::string> rm{"podman", "rm", "-f", "-t", "0"};
    rm.insert(rm.end(), pods_.begin(), pods_.end());
    run_command(rm, 60s);
  }
  if (network_)
    run_command({"podman", "network", "rm", "-f", name_}, 30s);
  run_command({"ip", "netns", "delete", name_}, 10s);
  std::error_code ignored;
  fs::remove_all(volumes_, ignored);
}

std::string pod_sandbox::address(int host) const {
  return "198.18." + std::to_string(subnet_) + "." + std::to_string(host);
}

void pod_sandbox::run(const pod_plan& plan, const std::string& ip,
                      const std::vector<std::string>& aliases) {
  std::vector<std::string> argv{"podman",  "run",       "-d",  "--name", plan.name, "--hostname",
                                plan.name, "--network", name_, "--ip",   ip};
  for (const auto& alias : aliases)
    argv.push_back("--network-alias=" + alias);
  for (const auto& [k, v] : plan.env)
    argv.push_back("--env=" + k + "=" + v);
  argv.insert(argv.end(), plan.flags.begin(), plan.flags.end());
  if (!plan.command.empty())
    argv.push_back("--entrypoint=" + nlohmann::json(plan.command).dump());
  argv.push_back(plan.image);
  argv.insert(argv.end(), plan.args.begin(), plan.args.end());
  pods_.push_back(plan.name);
  must_run(argv, 120s);
}

std::string pod_sandbox::podman(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"podman"};
  argv.insert(argv.end(), args.begin(), args.end());
  return must_run(argv, 120s);
}

int pod_sandbox::exit_code(const std::string& name) const {
  return std::stoi(podman({"inspect", "--format", "{{.State.ExitCode}}", name}));
}

} // namespace troupe::testing
