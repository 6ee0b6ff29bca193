#include "options.hpp"

#include <cstdlib>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "troupe/observability/logging.hpp"

namespace troupe::node {

namespace {

std::string default_node_name() {
  if (auto pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0')
    return pod;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0')
    return host;
  return "troupe";
}

// CLI11 reports "--flag: problem" for most errors but names env vars poorly; one
// line with a pointer to --help is what an operator reading a crash loop needs.
std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n')
      c = ' ';
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return "troupe-node: " + text + " (see --help)";
}

} // namespace

parse_result parse_options(int argc, const char* const* argv) {
  parse_result result;
  auto& o = result.options;
  o.node_name = default_node_name();
  CLI::App app{"troupe-node: one node of a Troupe actor cluster", "troupe-node"};
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(36);
  app.add_option("--node-name", o.node_name, "This node's name in logs and metrics")
      ->envname("TROUPE_NODE_NAME");
  app.add_option("--http-host", o.http_host, "Address the HTTP facade binds")
      ->envname("TROUPE_HTTP_HOST");
  app.add_option("--http-port", o.http_port, "Port of the HTTP facade (0 = pick a free one)")
      ->envname("TROUPE_HTTP_PORT");
  app.add_option("--http-threads", o.http_threads, "Threads serving HTTP")
      ->envname("TROUPE_HTTP_THREADS")
      ->check(CLI::Range(size_t{1}, size_t{64}));
  app.add_option("--http-max-connections", o.http_max_connections,
                 "Concurrent HTTP connections before new ones are refused")
      ->envname("TROUPE_HTTP_MAX_CONNECTIONS")
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  app.add_option("--admin-token", o.admin_token, "Bearer token for /admin/* (empty: disabled)")
      ->envname("TROUPE_ADMIN_TOKEN")
      ->capture_default_str();
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, critical or off")
      ->envname("TROUPE_LOG_LEVEL")
      ->check(CLI::Validator(
          [](std::string& v) {
            return observability::is_log_level(v) ? std::string{} : "unknown log level '" + v + "'";
          },
          "LEVEL"));
  app.add_option("--log-format", o.log_format, "text or json")
      ->envname("TROUPE_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--actor-threads", o.actor_threads, "Actor scheduler threads (0 = one per core)")
      ->envname("TROUPE_ACTOR_THREADS")
      ->check(CLI::Range(size_t{0}, size_t{256}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    result.exit_code = 0;
    result.message = app.help();
  } catch (const CLI::ParseError& e) {
    result.exit_code = 2;
    result.message = one_line(e.what());
  }
  return result;
}

} // namespace troupe::node
