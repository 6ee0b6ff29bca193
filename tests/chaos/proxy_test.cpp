#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "pods/command.hpp"
#include "proxy.hpp"
#include "sandbox.hpp"

namespace troupe::chaos_harness {
namespace {

using steady = std::chrono::steady_clock;
constexpr std::uint16_t peer_port = 7000;

// Echoes one connection's bytes back, in namespace `ns`, until the peer closes.
std::thread echo_server(const std::string& ns, std::promise<void>& listening) {
  return std::thread{[ns, &listening] {
    sandbox::enter(ns);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(peer_port);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(fd, 4);
    listening.set_value();
    int c = ::accept(fd, nullptr, nullptr);
    char buf[64];
    for (ssize_t n; (n = ::read(c, buf, sizeof(buf))) > 0;)
      ::write(c, buf, static_cast<std::size_t>(n));
    ::close(c);
    ::close(fd);
  }};
}

// Milliseconds for one byte there and back on `fd`.
double round_trip(int fd) {
  auto t = steady::now();
  char b = 'x';
  EXPECT_EQ(::write(fd, &b, 1), 1);
  EXPECT_EQ(::read(fd, &b, 1), 1);
  return std::chrono::duration<double, std::milli>(steady::now() - t).count();
}

TEST(latency_proxy, is_in_the_path_and_delays_established_connections) {
  if (::geteuid() != 0 || testing::run_command({"ip", "netns", "list"}).code != 0)
    GTEST_SKIP() << "needs root and ip netns";
  sandbox box{2};
  latency_proxy proxy{
      {box.node_ns(1), box.node_ns(2)}, {box.node_ip(1), box.node_ip(2)}, box.subnet(), peer_port};
  std::promise<void> listening;
  auto server = echo_server(box.node_ns(2), listening);
  listening.get_future().wait();
  std::promise<int> connected;
  std::thread client{[&] {
    sandbox::enter(box.node_ns(1));
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(peer_port);
    addr.sin_addr.s_addr = ::inet_addr(box.node_ip(2).c_str());
    connected.set_value(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 ? fd
                                                                                             : -1);
  }};
  int fd = connected.get_future().get();
  client.join();
  ASSERT_GE(fd, 0);
  EXPECT_LT(round_trip(fd), 100);
  EXPECT_EQ(proxy.connections(), 1u) << "the connection went around the proxy";
  proxy.set_delay(1, 150); // the peer's delay holds the bytes on this existing connection too
  EXPECT_GE(round_trip(fd), 290);
  proxy.set_delay(1, 0);
  EXPECT_LT(round_trip(fd), 100);
  ::close(fd);
  server.join();
}

} // namespace
} // namespace troupe::chaos_harness
