#pragma once

#include <string>
#include <vector>

namespace troupe::chaos_harness {

/// Network namespaces of one campaign, named "troupe-chaos-<run>-...": a switch holding a
/// bridge, one namespace per node, one for PostgreSQL and one for the clients, each wired to
/// the bridge by a veth pair, all in 198.18.<run>.0/24 with no route out. Nothing is added to
/// the root namespace. The run number is one no live campaign holds (a lock file per number);
/// what a crashed campaign left under it is removed first. The destructor removes everything.
class sandbox {
public:
  /// Makes the namespaces for `nodes` nodes; throws (after cleaning up) on failure.
  explicit sandbox(int nodes);
  ~sandbox();
  sandbox(const sandbox&) = delete;
  sandbox& operator=(const sandbox&) = delete;

  /// The run number (the third octet of every address).
  int run() const { return run_; }

  /// Namespace names.
  std::string node_ns(int i) const;
  std::string db_ns() const { return prefix_ + "db"; }
  std::string client_ns() const { return prefix_ + "client"; }
  std::string switch_ns() const { return prefix_ + "switch"; }

  /// Addresses.
  std::string node_ip(int i) const { return ip(10 + i); }
  std::string db_ip() const { return ip(2); }
  std::string client_ip() const { return ip(3); }
  /// "198.18.<run>.0/24".
  std::string subnet() const;

  /// A folder of this run's own (/tmp/troupe-chaos-<run>), removed with the sandbox; what a
  /// crashed run left there goes when its number is taken again.
  const std::string& scratch() const { return scratch_; }

  /// The node's port on the switch (where traffic towards the node leaves the bridge).
  std::string switch_port(int i) const { return "n" + std::to_string(i); }

  /// Removes every namespace and lock this run made (also what the destructor does).
  void teardown();

  /// Moves the calling thread into namespace `name` (threads it starts later follow it).
  static void enter(const std::string& name);

  /// The namespaces that exist with this harness's prefix (for tests of the teardown).
  static std::vector<std::string> leftovers();

private:
  std::string ip(int host) const {
    return "198.18." + std::to_string(run_) + "." + std::to_string(host);
  }
  void add_ns(const std::string& name);
  void wire(const std::string& ns, const std::string& port, const std::string& address);
  static void remove_run(const std::string& prefix);

  int run_ = 0;
  int lock_fd_ = -1;
  std::string prefix_;
  std::string scratch_;
  std::vector<std::string> made_;
};

} // namespace troupe::chaos_harness
