#pragma once

#include "troupe/http/trace.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <spdlog/common.h>

#include "troupe/http/message.hpp"
#include "troupe/http/responder.hpp"
#include "troupe/http/response.hpp"

namespace troupe::http {

struct server_state;

/// One accepted socket: reads a request, hands it to the router, writes the answer, repeats.
///
/// Everything runs on the socket's strand; answers from other threads are posted to it.
class connection : public std::enable_shared_from_this<connection> {
public:
  /// Takes over `socket`, whose executor must be a strand; `client` is the peer's address,
  /// counted in the state's per-client table until the connection finishes.
  connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<server_state> state,
             std::string client);

  /// Updates the active-connections gauge.
  ~connection();

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Starts reading on the strand.
  void start();

  /// Closes the socket at once; only while no io thread runs (server stop).
  void close() noexcept;

private:
  using clock = std::chrono::steady_clock;
  using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
  using error_code = boost::system::error_code;

  void await_request();
  void parse_buffered();
  bool expects_continue() const;
  void read_more();
  void on_read(error_code ec);
  void handle();
  // Sets the metric labels and the HEAD flag of a request; an empty target is unmatched.
  void label(verb method, std::string_view target);
  responder make_responder(uint64_t seq);
  void deliver(uint64_t seq, response res);
  void reject(status code, std::string_view type, std::string title, std::string detail);
  void write(response res, bool close_after);
  void on_write(error_code ec, bool close_after);
  // The level of the line each answered request gets.
  spdlog::level::level_enum access_level() const;
  void linger();
  void finish();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<server_state> state_;
  // The peer's address: the key of the per-client cap, and what handlers see as the client.
  std::string client_;
  // The strand the socket runs on (known when the acceptor made one, as the server does).
  std::optional<strand_type> strand_;
  // The serialized response being written; its capacity is reused.
  std::string wire_;
  unsigned status_ = 0;
  // Each request gets a number so a stale or duplicate answer can be recognised and dropped.
  uint64_t seq_ = 0;
  bool awaiting_answer_ = false;
  bool first_request_ = true;
  // Whether bytes of the current request have arrived (its read timeout is running).
  bool request_started_ = false;
  bool continue_sent_ = false;
  bool keep_alive_ = false;
  // The request is HEAD: its answer goes out without a body.
  bool head_ = false;
  unsigned version_ = 11;
  std::string route_;
  trace_info trace_;
  std::string method_;
  clock::time_point started_;
};

} // namespace troupe::http
