#include "rogue.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

namespace troupe::testing {

rogue_peer::rogue_peer(const rogue_identity& who) {
  cfg_.load<caf::io::middleman>();
  cfg_.set("middleman.enable-automatic-connections", false);
  // Heartbeats as a member sends them, so the node does not close the connection as idle.
  cfg_.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds{100}});
  if (who.tls) {
    cfg_.load<caf::openssl::manager>();
    cfg_.openssl_certificate = who.cert;
    cfg_.openssl_key = who.key;
    cfg_.openssl_cafile = who.ca;
  }
  sys_ = std::make_unique<caf::actor_system>(cfg_);
}

std::optional<caf::actor> rogue_peer::connect(uint16_t port, std::chrono::milliseconds limit) {
  auto mm = sys_->has_openssl_manager() ? sys_->openssl_manager().actor_handle()
                                        : sys_->middleman().actor_handle();
  caf::scoped_actor self{*sys_};
  std::optional<caf::actor> out;
  self->request(mm, limit, caf::connect_atom::value, std::string{"127.0.0.1"}, port)
      .receive(
          [&](const caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>&) {
            if (ptr)
              out = caf::actor_cast<caf::actor>(ptr);
          },
          [](caf::error&) {});
  return out;
}

uint16_t rogue_peer::publish(const caf::actor& a) {
  auto mm = sys_->has_openssl_manager() ? sys_->openssl_manager().actor_handle()
                                        : sys_->middleman().actor_handle();
  caf::scoped_actor self{*sys_};
  uint16_t port = 0;
  self->request(mm, std::chrono::seconds(5), caf::publish_atom::value, uint16_t{0},
                caf::actor_cast<caf::strong_actor_ptr>(a), std::set<std::string>{},
                std::string{"127.0.0.1"}, true)
      .receive([&](uint16_t p) { port = p; }, [](caf::error&) {});
  return port;
}

int raw_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

bool closed_within(int fd, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  char sink[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0)
      continue;
    auto n = recv(fd, sink, sizeof sink, 0);
    if (n <= 0)
      return true; // end of stream or reset: the node closed it
  }
  return false;
}

long rss_kib(int pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream in{line.substr(6)};
      long kib = 0;
      in >> kib;
      return kib;
    }
  return 0;
}

} // namespace troupe::testing
