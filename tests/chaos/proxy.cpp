#include "proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <deque>
#include <future>
#include <list>
#include <stdexcept>

#include "pods/command.hpp"
#include "sandbox.hpp"

// From linux/netfilter_ipv4.h, which clashes with netinet/in.h.
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif

namespace troupe::chaos_harness {

namespace {

using steady = std::chrono::steady_clock;
constexpr std::size_t max_queued = 1 << 20; // per direction; reading pauses above it

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(steady::now().time_since_epoch())
      .count();
}

struct chunk {
  std::int64_t due = 0;
  std::string data;
  std::size_t sent = 0;
};

// One direction of a proxied connection: bytes read from `from`, held until due, written to
// `to` in order.
struct flow {
  std::deque<chunk> queue;
  std::size_t queued = 0;
  std::int64_t last_due = 0;
  bool eof = false;
  bool shut = false;
};

struct proxied {
  int client = -1;
  int upstream = -1;
  std::uint32_t peer = 0;
  bool connecting = true;
  bool dead = false;
  flow up;   // client -> upstream
  flow down; // upstream -> client
};

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Reads what `from` has into `f`, each chunk due `delay_ms` from now (never before the one
// ahead of it: a delay that drops must not reorder bytes).
void pull(int from, flow& f, int delay_ms, proxied& l) {
  char buf[65536];
  auto n = ::read(from, buf, sizeof(buf));
  if (n > 0) {
    auto due = std::max(now_us() + std::int64_t{delay_ms} * 1000, f.last_due);
    f.last_due = due;
    f.queue.push_back({due, std::string(buf, static_cast<std::size_t>(n)), 0});
    f.queued += static_cast<std::size_t>(n);
  } else if (n == 0) {
    f.eof = true;
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    l.dead = true;
  }
}

// Writes what is due of `f` to `to`; half-closes `to` once `f` ended and drained.
void push(int to, flow& f, proxied& l) {
  auto now = now_us();
  while (!f.queue.empty() && f.queue.front().due <= now) {
    auto& c = f.queue.front();
    auto n = ::send(to, c.data.data() + c.sent, c.data.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        l.dead = true;
      return;
    }
    c.sent += static_cast<std::size_t>(n);
    f.queued -= static_cast<std::size_t>(n);
    if (c.sent < c.data.size())
      return;
    f.queue.pop_front();
  }
  if (f.eof && f.queue.empty() && !f.shut) {
    ::shutdown(to, SHUT_WR);
    f.shut = true;
  }
}

} // namespace

latency_proxy::latency_proxy(std::vector<std::string> node_ns, std::vector<std::string> node_ip,
                             std::string subnet, std::uint16_t cluster_port)
    : ns_(std::move(node_ns)), delay_(new std::atomic<int>[node_ip.size()]) {
  for (std::size_t i = 0; i < node_ip.size(); ++i) {
    ip_.push_back(::inet_addr(node_ip[i].c_str()));
    delay_[i] = 0;
  }
  for (std::size_t i = 0; i < ns_.size(); ++i) {
    std::promise<int> listening;
    auto listener = listening.get_future();
    threads_.emplace_back([this, i, &listening] {
      int fd = -1;
      try {
        sandbox::enter(ns_[i]);
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_ANY);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
            ::listen(fd, 128) != 0) {
          ::close(fd);
          fd = -1;
        }
      } catch (const std::exception&) {
        fd = -1;
      }
      listening.set_value(fd);
      if (fd >= 0)
        serve(i, fd);
    });
    if (listener.get() < 0)
      throw std::runtime_error("the latency proxy cannot listen in " + ns_[i]);
    testing::must_run({"ip",
                       "netns",
                       "exec",
                       ns_[i],
                       "iptables",
                       "-t",
                       "nat",
                       "-A",
                       "OUTPUT",
                       "-p",
                       "tcp",
                       "-d",
                       subnet,
                       "--dport",
                       std::to_string(cluster_port),
                       "-m",
                       "mark",
                       "!",
                       "--mark",
                       std::to_string(mark),
                       "-j",
                       "REDIRECT",
                       "--to-ports",
                       std::to_string(port)});
  }
}

latency_proxy::~latency_proxy() {
  stop_ = true;
  for (auto& t : threads_)
    t.join();
}

void latency_proxy::set_delay(std::size_t i, int ms) {
  delay_[i] = ms;
}

int latency_proxy::delay_between(std::size_t self, std::uint32_t peer_ip) const {
  int d = delay_[self];
  for (std::size_t i = 0; i < ip_.size(); ++i)
    if (ip_[i] == peer_ip)
      d = std::max(d, delay_[i].load());
  return d;
}

void latency_proxy::serve(std::size_t self, int listener) {
  std::list<proxied> links;
  std::vector<pollfd> fds;
  while (!stop_) {
    fds.clear();
    fds.push_back({listener, POLLIN, 0});
    std::int64_t next_due = now_us() + 50000; // wakes to see stop_ at least this often
    for (auto& l : links) {
      short c = 0;
      short u = 0;
      if (!l.up.eof && l.up.queued < max_queued)
        c |= POLLIN;
      if (l.connecting)
        u |= POLLOUT;
      else if (!l.down.eof && l.down.queued < max_queued)
        u |= POLLIN;
      // Asks to write only what is due: a writable socket would otherwise wake poll at once.
      auto now = now_us();
      if (!l.up.queue.empty()) {
        next_due = std::min(next_due, l.up.queue.front().due);
        if (!l.connecting && l.up.queue.front().due <= now)
          u |= POLLOUT;
      }
      if (!l.down.queue.empty()) {
        next_due = std::min(next_due, l.down.queue.front().due);
        if (l.down.queue.front().due <= now)
          c |= POLLOUT;
      }
      fds.push_back({l.client, c, 0});
      fds.push_back({l.upstream, u, 0});
    }
    auto wait_ms = std::max<std::int64_t>(0, (next_due - now_us() + 999) / 1000);
    ::poll(fds.data(), fds.size(), static_cast<int>(wait_ms));
    std::size_t at = 1;
    for (auto& l : links) {
      auto& cfd = fds[at++];
      auto& ufd = fds[at++];
      int delay = delay_between(self, l.peer);
      if (l.connecting && (ufd.revents & (POLLOUT | POLLERR | POLLHUP))) {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(l.upstream, SOL_SOCKET, SO_ERROR, &err, &len);
        l.connecting = false;
        l.dead = err != 0;
      }
      if (cfd.revents & (POLLIN | POLLHUP | POLLERR))
        pull(l.client, l.up, delay, l);
      if (!l.connecting && (ufd.revents & (POLLIN | POLLHUP | POLLERR)))
        pull(l.upstream, l.down, delay, l);
      if (!l.connecting)
        push(l.upstream, l.up, l);
      else if (l.up.eof && l.up.queue.empty())
        l.dead = true; // the node gave up before the peer answered
      push(l.client, l.down, l);
    }
    links.remove_if([](const proxied& l) {
      bool done = l.dead || (l.up.shut && l.down.shut);
      if (done) {
        ::close(l.client);
        ::close(l.upstream);
      }
      return done;
    });
    if (fds[0].revents & POLLIN) {
      int client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0)
        continue;
      sockaddr_in dst{};
      socklen_t len = sizeof(dst);
      if (::getsockopt(client, SOL_IP, SO_ORIGINAL_DST, &dst, &len) != 0) {
        ::close(client);
        continue;
      }
      int up = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      int m = mark;
      ::setsockopt(up, SOL_SOCKET, SO_MARK, &m, sizeof(m));
      set_nodelay(client);
      set_nodelay(up);
      if (::connect(up, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) != 0 &&
          errno != EINPROGRESS) {
        ::close(up);
        ::close(client);
        continue;
      }
      links.push_back({});
      links.back().client = client;
      links.back().upstream = up;
      links.back().peer = dst.sin_addr.s_addr;
      ++connections_;
    }
  }
  for (auto& l : links) {
    ::close(l.client);
    ::close(l.upstream);
  }
  ::close(listener);
}

} // namespace troupe::chaos_harness
