#include "troupe/cluster/socket_guard.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/tcp.h> // its tcp_info has the byte counts that glibc's lacks
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace troupe::cluster {

namespace {

// TCP_ESTABLISHED of the kernel's connection states.
constexpr uint8_t established = 1;

struct accepted {
  int fd;
  std::string peer;        // remote address, without the port
  uint32_t silent_ms;      // since the last data received
  uint64_t bytes_received; // in the connection's life
};

uint16_t port_of(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return 0;
}

std::string host_of(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, text, sizeof text);
  else if (a.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, text, sizeof text);
  return text;
}

// The established TCP connections of this process whose local port is `port`, listeners left
// out. Descriptors are read from /proc/self/fd; one that closes meanwhile just fails a call.
std::vector<accepted> accepted_on(uint16_t port) {
  std::vector<accepted> out;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr)
    return out;
  int own = dirfd(dir);
  while (auto* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == own)
      continue;
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &len) != 0 ||
        (local.ss_family != AF_INET && local.ss_family != AF_INET6) || port_of(local) != port)
      continue;
    int listening = 0;
    len = sizeof listening;
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
        listening != 0)
      continue;
    tcp_info info{};
    len = sizeof info;
    if (getsockopt(static_cast<int>(fd), IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
        info.tcpi_state != established)
      continue;
    sockaddr_storage remote{};
    len = sizeof remote;
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&remote), &len) != 0)
      continue;
    out.push_back({static_cast<int>(fd), host_of(remote), info.tcpi_last_data_recv,
                   info.tcpi_bytes_received});
  }
  closedir(dir);
  return out;
}

} // namespace

sweep_result sweep_connections(const connection_limits& limits) {
  auto all = accepted_on(limits.port);
  sweep_result result;
  result.open = all.size();
  // Members exchange heartbeats, so they have received the most; a bound exceeded closes the
  // connections that carried the least first.
  std::sort(all.begin(), all.end(), [](const accepted& a, const accepted& b) {
    return a.bytes_received < b.bytes_received;
  });
  auto idle_ms = static_cast<uint32_t>(limits.idle.count());
  std::map<std::string, size_t> kept_per_peer;
  size_t kept = 0;
  std::vector<const accepted*> survivors;
  for (const auto& c : all) {
    if (c.silent_ms >= idle_ms) {
      shutdown(c.fd, SHUT_RDWR);
      ++result.closed_idle;
    } else {
      survivors.push_back(&c);
    }
  }
  // Bounds keep the busiest: walk from the most bytes received.
  for (auto i = survivors.rbegin(); i != survivors.rend(); ++i) {
    auto& mine = kept_per_peer[(*i)->peer];
    if (mine >= limits.per_address || kept >= limits.total) {
      shutdown((*i)->fd, SHUT_RDWR);
      ++result.closed_over_limit;
      continue;
    }
    ++mine;
    ++kept;
  }
  return result;
}

size_t close_connections(uint16_t port) {
  auto all = accepted_on(port);
  for (const auto& c : all)
    shutdown(c.fd, SHUT_RDWR);
  return all.size();
}

} // namespace troupe::cluster
