#include "troupe/http/server.hpp"

#include <algorithm>
#include <cassert>
#include <climits>
#include <mutex>
#include <shared_mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "http/connection.hpp"
#include "http/server_state.hpp"
#include "troupe/core/error.hpp"
#include "troupe/http/router.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// Pause after an accept error such as EMFILE, so the loop does not spin on it.
constexpr std::chrono::milliseconds accept_retry_delay{50};

std::string format_address(const std::string& host, uint16_t port) {
  auto bracket = host.find(':') != std::string::npos && !host.starts_with('[');
  return (bracket ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

} // namespace

struct server::impl {
  impl(server_config cfg, std::shared_ptr<router> routes,
       std::shared_ptr<observability::registry> metrics)
      // The hint is the thread count: with one io thread Asio skips its cross-thread
      // wake-ups for work posted from that thread.
      : ioc(static_cast<int>(std::min<size_t>(cfg.io_threads, INT_MAX))),
        work(asio::make_work_guard(ioc)), acceptor(ioc), retry_timer(ioc),
        state(std::make_shared<server_state>(std::move(cfg), std::move(routes),
                                             std::move(metrics))) {}

  caf::error listen() {
    auto& cfg = state->cfg;
    auto where = format_address(cfg.host, cfg.port);
    auto fail = [&](const std::string& what, const error_code& ec) {
      return make_error(errc::io_failure, "cannot " + what + " " + where + ": " + ec.message());
    };
    error_code ec;
    tcp::endpoint ep;
    if (auto addr = asio::ip::make_address(cfg.host, ec); !ec) {
      ep = tcp::endpoint{addr, cfg.port};
    } else {
      // A name rather than an address: resolve it once, at start, where blocking is fine.
      tcp::resolver resolver{ioc};
      auto found = resolver.resolve(cfg.host, std::to_string(cfg.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
      if (ec || found.empty())
        return fail("resolve", ec);
      ep = found.begin()->endpoint();
    }
    if (acceptor.open(ep.protocol(), ec); ec)
      return fail("listen on", ec);
    // Address reuse lets a restarted node bind while old connections sit in TIME_WAIT.
    if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec)
      return fail("listen on", ec);
    if (acceptor.bind(ep, ec); ec)
      return fail("listen on", ec);
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
      return fail("listen on", ec);
    auto local = acceptor.local_endpoint(ec);
    if (ec)
      return fail("listen on", ec);
    port = local.port();
    host = local.address().to_string();
    return {};
  }

  void accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
      if (!acceptor.is_open() || ec == asio::error::operation_aborted)
        return;
      if (ec) {
        // Out of descriptors or a similar transient failure: back off instead of spinning.
        spdlog::warn("http: accept failed: {}", ec.message());
        retry_timer.expires_after(accept_retry_delay);
        retry_timer.async_wait([this](error_code wec) {
          if (!wec)
            accept();
        });
        return;
      }
      admit(std::move(socket));
      accept();
    });
  }

  void admit(tcp::socket socket) {
    error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    auto client = client_address(socket);
    std::shared_ptr<connection> conn;
    bool over_client_cap = false;
    {
      std::lock_guard guard{state->connections_mtx};
      auto& cfg = state->cfg;
      auto i = state->per_client.find(client);
      over_client_cap = i != state->per_client.end() && i->second >= cfg.max_connections_per_client;
      if (!over_client_cap && state->connections.size() < cfg.max_connections) {
        conn = std::make_shared<connection>(std::move(socket), state, client);
        state->connections.emplace(conn.get(), conn);
        ++state->per_client[client];
      }
    }
    if (!conn) {
      if (over_client_cap) {
        state->metrics.reject_client();
        spdlog::debug("http: refused a connection from {}: too many open", client);
      } else {
        state->metrics.reject();
      }
      socket.close(ec);
      return;
    }
    conn->start();
  }

  // The peer's address, with IPv4-mapped IPv6 folded to IPv4 so a client counts once.
  static std::string client_address(const tcp::socket& socket) {
    error_code ec;
    auto peer = socket.remote_endpoint(ec);
    if (ec)
      return "unknown";
    auto addr = peer.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
      return asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_string();
    return addr.to_string();
  }

  void run_thread() {
    // Handlers catch their own errors; this only keeps a thread alive against surprises.
    while (true) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("http: io thread caught: {}", e.what());
      } catch (...) {
        spdlog::error("http: io thread caught a non-exception");
      }
    }
  }

  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  std::shared_ptr<server_state> state;
  std::vector<std::thread> threads;
  std::mutex stop_mtx;
  bool stopped = false;
  uint16_t port = 0;
  std::string host;
};

caf::expected<std::unique_ptr<server>>
server::start(server_config cfg, std::shared_ptr<router> routes,
              std::shared_ptr<observability::registry> metrics) {
  if (!routes || !metrics)
    return make_error(errc::invalid_argument, "http server needs a router and a registry");
  if (cfg.io_threads == 0 || cfg.max_connections == 0 || cfg.max_connections_per_client == 0)
    return make_error(errc::invalid_argument, "http server needs io_threads, max_connections and "
                                              "max_connections_per_client > 0");
  auto threads = cfg.io_threads;
  std::unique_ptr<server> result{
      new server(std::make_unique<impl>(std::move(cfg), std::move(routes), std::move(metrics)))};
  auto& p = *result->impl_;
  if (auto err = p.listen())
    return err;
  p.accept();
  try {
    for (size_t i = 0; i < threads; ++i)
      p.threads.emplace_back([&p] { p.run_thread(); });
  } catch (const std::system_error& e) {
    return make_error(errc::io_failure, std::string{"cannot start http io threads: "} + e.what());
  }
  spdlog::debug("http: bound {} with {} io thread(s)", format_address(p.host, p.port), threads);
  return result;
}

server::server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

server::~server() {
  stop();
}

uint16_t server::port() const noexcept {
  return impl_->port;
}

std::string server::host() const {
  return impl_->host;
}

void server::stop() {
  auto& p = *impl_;
  std::lock_guard guard{p.stop_mtx};
  if (p.stopped)
    return;
  p.stopped = true;
  {
    // From here on responders drop their answers instead of posting to the io_context.
    std::unique_lock gate{p.state->gate};
    p.state->open = false;
  }
  p.ioc.stop();
  for (auto& t : p.threads) {
    assert(t.get_id() != std::this_thread::get_id() && "server::stop called from an io thread");
    t.join();
  }
  p.threads.clear();
  // No io thread runs any more, so the sockets may be touched from here.
  error_code ec;
  p.acceptor.close(ec);
  p.retry_timer.cancel();
  std::unordered_map<const connection*, std::shared_ptr<connection>> open;
  {
    std::lock_guard lock{p.state->connections_mtx};
    open.swap(p.state->connections);
  }
  for (auto& [ptr, conn] : open)
    conn->close();
  open.clear();
  spdlog::info("http: stopped listening on {}", format_address(p.host, p.port));
}

} // namespace troupe::http
