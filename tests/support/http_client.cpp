#include "support/http_client.hpp"

#include <algorithm>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace troupe::testing {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

http_reply http_call(uint16_t port, const std::string& method, const std::string& target,
                     const std::map<std::string, std::string>& headers, const std::string& body,
                     std::chrono::milliseconds timeout) {
  return http_call("127.0.0.1", port, method, target, headers, body, timeout);
}

http_reply http_call(const std::string& host, uint16_t port, const std::string& method,
                     const std::string& target, const std::map<std::string, std::string>& headers,
                     const std::string& body, std::chrono::milliseconds timeout) {
  http_reply reply;
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream{io};
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint{boost::asio::ip::make_address(host), port});
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    req.set(bhttp::field::host, host);
    for (auto& [k, v] : headers)
      req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    reply.status = static_cast<int>(res.result_int());
    for (auto& field : res) {
      std::string name{field.name_string()};
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      reply.headers[name] = std::string{field.value()};
    }
    reply.body = res.body();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  } catch (const std::exception& ex) {
    reply.error = ex.what();
  }
  return reply;
}

} // namespace troupe::testing
