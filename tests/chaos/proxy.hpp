#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace troupe::chaos_harness {

/// Latency between nodes without netem: in each node's namespace, iptables sends the node's
/// connections to peers' cluster ports (nat OUTPUT, REDIRECT) to a TCP proxy living in that
/// namespace, which finds the real destination (SO_ORIGINAL_DST) and connects to it with a
/// mark the rule skips (SO_MARK). The proxy is in the path from the start with no delay; a
/// latency fault raises the delay of a node, which then holds back every byte on every
/// connection from or to that node, the established ones included.
class latency_proxy {
public:
  /// The proxy's port in every node namespace, and the mark of its own connections.
  static constexpr std::uint16_t port = 7999;
  static constexpr int mark = 0x7c;

  /// Starts a proxy in each namespace of `node_ns` (node address in `node_ip`, same order)
  /// and installs the redirect for connections to `subnet` port `cluster_port`.
  latency_proxy(std::vector<std::string> node_ns, std::vector<std::string> node_ip,
                std::string subnet, std::uint16_t cluster_port);
  ~latency_proxy();
  latency_proxy(const latency_proxy&) = delete;
  latency_proxy& operator=(const latency_proxy&) = delete;

  /// Sets the delay of node `i` (0-based), each direction, in milliseconds.
  void set_delay(std::size_t i, int ms);

  /// Connections proxied so far (to see that the proxy is in the path).
  std::uint64_t connections() const { return connections_.load(); }

private:
  void serve(std::size_t i, int listener);
  int delay_between(std::size_t self, std::uint32_t peer_ip) const;

  std::vector<std::string> ns_;
  std::vector<std::uint32_t> ip_; // network byte order
  std::unique_ptr<std::atomic<int>[]> delay_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> connections_{0};
  std::vector<std::thread> threads_;
};

} // namespace troupe::chaos_harness
