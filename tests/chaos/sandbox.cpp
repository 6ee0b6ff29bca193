#include "sandbox.hpp"

#include <csignal>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "pods/command.hpp"

namespace troupe::chaos_harness {

namespace fs = std::filesystem;
using testing::must_run;
using testing::run_command;

namespace {

constexpr const char* base_prefix = "troupe-chaos-";
constexpr const char* lock_dir = "/run/troupe-chaos";
// Run numbers (third octets) this harness uses; the pods suite keeps to low ones.
constexpr int first_run = 160;
constexpr int last_run = 199;

std::vector<std::string> namespaces() {
  std::vector<std::string> out;
  std::istringstream in{run_command({"ip", "netns", "list"}).out};
  std::string line;
  while (std::getline(in, line)) {
    auto name = line.substr(0, line.find(' '));
    if (!name.empty())
      out.push_back(name);
  }
  return out;
}

} // namespace

std::string sandbox::node_ns(int i) const {
  return prefix_ + "node-" + std::to_string(i);
}

std::string sandbox::subnet() const {
  return "198.18." + std::to_string(run_) + ".0/24";
}

std::vector<std::string> sandbox::leftovers() {
  std::vector<std::string> out;
  for (auto& n : namespaces())
    if (n.rfind(base_prefix, 0) == 0)
      out.push_back(n);
  return out;
}

// Ends what still runs in a namespace of `prefix` (a crashed campaign's nodes and database),
// then removes the namespaces: deleting a namespace does not stop its processes.
void sandbox::remove_run(const std::string& prefix) {
  for (auto& n : namespaces()) {
    if (n.rfind(prefix, 0) != 0)
      continue;
    std::istringstream pids{run_command({"ip", "netns", "pids", n}).out};
    std::string pid;
    while (pids >> pid)
      if (std::stoi(pid) != ::getpid()) // the harness itself may live in the client namespace
        ::kill(std::stoi(pid), SIGKILL);
    run_command({"ip", "netns", "delete", n});
  }
}

sandbox::sandbox(int nodes) {
  fs::create_directories(lock_dir);
  for (int r = first_run; r <= last_run && lock_fd_ < 0; ++r) {
    auto path = std::string{lock_dir} + "/" + std::to_string(r) + ".lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd); // a live campaign holds this one
      continue;
    }
    lock_fd_ = fd;
    run_ = r;
  }
  if (lock_fd_ < 0)
    throw std::runtime_error("every run number of the chaos harness is taken");
  prefix_ = std::string{base_prefix} + std::to_string(run_) + "-";
  scratch_ = (fs::temp_directory_path() / (base_prefix + std::to_string(run_))).string();
  remove_run(prefix_); // nobody holds the lock: whatever has this prefix is stale
  std::error_code ignored;
  fs::remove_all(scratch_, ignored);
  fs::create_directories(scratch_);
  try {
    add_ns(switch_ns());
    must_run({"ip", "-n", switch_ns(), "link", "add", "br0", "type", "bridge"});
    must_run({"ip", "-n", switch_ns(), "link", "set", "br0", "up"});
    add_ns(db_ns());
    wire(db_ns(), "db", db_ip());
    add_ns(client_ns());
    wire(client_ns(), "cl", client_ip());
    for (int i = 1; i <= nodes; ++i) {
      add_ns(node_ns(i));
      wire(node_ns(i), switch_port(i), node_ip(i));
    }
  } catch (...) {
    teardown();
    throw;
  }
}

sandbox::~sandbox() {
  teardown();
}

void sandbox::add_ns(const std::string& name) {
  must_run({"ip", "netns", "add", name});
  made_.push_back(name);
  must_run({"ip", "-n", name, "link", "set", "lo", "up"});
}

// A veth pair: `port` on the bridge, eth0 with `address` in `ns`. Only the subnet's own
// route exists in `ns`, so nothing there reaches beyond the bridge.
void sandbox::wire(const std::string& ns, const std::string& port, const std::string& address) {
  must_run({"ip", "-n", switch_ns(), "link", "add", port, "type", "veth", "peer", "name", "eth0",
            "netns", ns});
  must_run({"ip", "-n", switch_ns(), "link", "set", port, "master", "br0", "up"});
  must_run({"ip", "-n", ns, "addr", "add", address + "/24", "dev", "eth0"});
  must_run({"ip", "-n", ns, "link", "set", "eth0", "up"});
}

void sandbox::teardown() {
  if (lock_fd_ < 0)
    return;
  remove_run(prefix_);
  made_.clear();
  std::error_code ignored;
  fs::remove_all(scratch_, ignored);
  ::close(lock_fd_); // the lock goes with the descriptor; the file stays for the next run
  lock_fd_ = -1;
}

void sandbox::enter(const std::string& name) {
  int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
    if (fd >= 0)
      ::close(fd);
    throw std::runtime_error("cannot enter network namespace " + name);
  }
  ::close(fd);
}

} // namespace troupe::chaos_harness
