#include "support/node.hpp"

#include <algorithm>
#include <thread>

namespace troupe::testing {

using namespace std::chrono_literals;

std::vector<std::string> running_node::with_binary(std::vector<std::string> flags) {
  flags.insert(flags.begin(), TROUPE_NODE_BINARY);
  return flags;
}

namespace {

// A free port unless the caller chose one, by flag or by environment.
std::vector<std::string> with_port(std::vector<std::string> flags,
                                   const std::map<std::string, std::string>& env,
                                   std::vector<std::string> wrapper) {
  if (std::find(flags.begin(), flags.end(), "--http-port") == flags.end() &&
      env.count("TROUPE_HTTP_PORT") == 0) {
    flags.push_back("--http-port");
    flags.push_back("0");
  }
  auto argv = running_node::with_binary(std::move(flags));
  argv.insert(argv.begin(), wrapper.begin(), wrapper.end());
  return argv;
}

} // namespace

running_node::running_node(std::vector<std::string> flags, std::map<std::string, std::string> env,
                           std::vector<std::string> wrapper)
    : proc(with_port(std::move(flags), env, std::move(wrapper)), env) {
  auto line = proc.wait_for_line("listening on http://", 20s);
  if (line)
    port = port_from_listening_line(*line).value_or(0);
}

http_reply running_node::get(const std::string& target,
                             std::map<std::string, std::string> headers) {
  return http_call(port, "GET", target, headers);
}

http_reply running_node::send(const std::string& method, const std::string& target,
                              const std::string& body, std::map<std::string, std::string> headers) {
  if (headers.count("Content-Type") == 0)
    headers["Content-Type"] = "application/json";
  return http_call(port, method, target, headers, body);
}

bool running_node::wait_ready(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (port != 0 && get("/readyz").status == 200)
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

} // namespace troupe::testing
