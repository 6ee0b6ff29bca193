// The baseline of bench/user_get: the least a Beast keep-alive server can do —
// one io thread, one fixed body, no routing, no actors. Prints its port.
//
//   baseline_http_server BODY_FILE [threads=1]

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket s, const std::string& body) : stream_(std::move(s)), body_(body) {}

  void read() {
    req_ = {};
    bhttp::async_read(stream_, buffer_, req_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (!ec)
                          self->write();
                      });
  }

private:
  void write() {
    res_ = {bhttp::status::ok, req_.version()};
    res_.set(bhttp::field::server, "baseline");
    res_.set(bhttp::field::content_type, "application/json");
    res_.keep_alive(req_.keep_alive());
    res_.body() = body_;
    res_.prepare_payload();
    bhttp::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec && self->res_.keep_alive())
        self->read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> req_;
  bhttp::response<bhttp::string_body> res_;
  const std::string& body_;
};

void accept(tcp::acceptor& acc, const std::string& body) {
  acc.async_accept(asio::make_strand(acc.get_executor()),
                   [&acc, &body](beast::error_code ec, tcp::socket s) {
                     if (!ec)
                       std::make_shared<session>(std::move(s), body)->read();
                     accept(acc, body);
                   });
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: baseline_http_server BODY_FILE [threads]\n");
    return 2;
  }
  std::ifstream in{argv[1]};
  std::stringstream text;
  text << in.rdbuf();
  std::string body = text.str();
  int threads = argc > 2 ? std::stoi(argv[2]) : 1;
  asio::io_context io{threads};
  tcp::acceptor acc{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::printf("%u\n", acc.local_endpoint().port());
  std::fflush(stdout);
  accept(acc, body);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back([&io] { io.run(); });
  io.run();
}
