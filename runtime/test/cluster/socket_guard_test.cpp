// The cluster port's sweep against real loopback sockets of this process: the test listens,
// connects and accepts, then sweeps and looks at what the clients see.

#include "troupe/cluster/socket_guard.hpp"

#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace troupe::cluster {
namespace {

using namespace std::chrono_literals;

class socket_sweep : public ::testing::Test {
protected:
  void SetUp() override {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
    ASSERT_EQ(listen(listener_, 64), 0);
    socklen_t len = sizeof at;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&at), &len);
    port_ = ntohs(at.sin_port);
  }

  void TearDown() override {
    for (int fd : fds_)
      close(fd);
    close(listener_);
  }

  /// A client connection and its accepted end; returns the client's descriptor.
  int connect_one() {
    int client = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port_);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    int server = accept(listener_, nullptr, nullptr);
    EXPECT_GE(server, 0);
    fds_.push_back(client);
    fds_.push_back(server);
    return client;
  }

  /// Whether the other end closed `client` (end of stream within a bounded poll).
  static bool closed(int client) {
    pollfd p{client, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) // loopback delivers the end of stream at once
      return false;
    char sink[256];
    while (true) {
      auto n = recv(client, sink, sizeof sink, MSG_DONTWAIT);
      if (n == 0)
        return true;
      if (n < 0)
        return false;
    }
  }

  connection_limits limits(std::chrono::milliseconds idle, size_t per_address = 16) const {
    connection_limits l;
    l.port = port_;
    l.idle = idle;
    l.per_address = per_address;
    return l;
  }

  int listener_ = -1;
  uint16_t port_ = 0;
  std::vector<int> fds_;
};

TEST_F(socket_sweep, a_connection_silent_for_the_idle_bound_is_closed) {
  int client = connect_one();
  auto result = sweep_connections(limits(0ms));
  EXPECT_EQ(result.open, 1u);
  EXPECT_EQ(result.closed_idle, 1u);
  EXPECT_TRUE(closed(client));
}

TEST_F(socket_sweep, connections_within_their_bounds_are_left_alone) {
  int a = connect_one();
  int b = connect_one();
  auto result = sweep_connections(limits(60s));
  EXPECT_EQ(result.open, 2u);
  EXPECT_EQ(result.closed_idle + result.closed_over_limit, 0u);
  EXPECT_FALSE(closed(a));
  EXPECT_FALSE(closed(b));
}

TEST_F(socket_sweep, over_an_address_bound_those_that_sent_least_are_closed) {
  std::vector<int> clients;
  for (int i = 0; i < 5; ++i)
    clients.push_back(connect_one());
  // Two of them talk, as members exchanging heartbeats would.
  for (int i : {1, 3})
    ASSERT_EQ(send(clients[static_cast<size_t>(i)], "heartbeat", 9, 0), 9);
  auto result = sweep_connections(limits(60s, 2));
  EXPECT_EQ(result.closed_over_limit, 3u);
  for (size_t i = 0; i < clients.size(); ++i)
    EXPECT_EQ(closed(clients[i]), i != 1 && i != 3) << "client " << i;
}

TEST_F(socket_sweep, the_listener_and_other_ports_are_never_touched) {
  auto result = sweep_connections(limits(0ms));
  EXPECT_EQ(result.open, 0u);
  int client = connect_one(); // the listener still accepts
  EXPECT_EQ(close_connections(static_cast<uint16_t>(port_ + 1)), 0u);
  EXPECT_FALSE(closed(client));
  EXPECT_EQ(close_connections(port_), 1u);
  EXPECT_TRUE(closed(client));
}

} // namespace
} // namespace troupe::cluster
