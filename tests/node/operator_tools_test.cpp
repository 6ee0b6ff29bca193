// What operators' tools expect of a node: the version it was built from, Prometheus'
// checker satisfied, HEAD that keeps a connection usable, access lines, a quiet start.

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/node.hpp"
#include "support/postgres_suite.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

const std::string jwt_secret = "an-operator-tools-test-secret-0123456789";

// The version `--version` prints, e.g. "0.1.0-3-gabc1234" from "troupe-node 0.1.0-3-gabc1234
// (abc1234)"; empty if the line has another shape.
std::string version_of(const std::string& line) {
  std::smatch m;
  static const std::regex shape{R"(^troupe-node (\S+) \((\S+)\)\n$)"};
  return std::regex_match(line, m, shape) ? m[1].str() : std::string{};
}

TEST(operator_tools, version_is_printed_logged_served_and_exported) {
  process printed{running_node::with_binary({"--version"})};
  auto code = printed.wait_exit(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  auto version = version_of(printed.out());
  ASSERT_FALSE(version.empty()) << printed.out();

  running_node node{{"--jwt-secret", jwt_secret}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  EXPECT_NE(node.proc.err().find("started: troupe-node " + version), std::string::npos)
      << node.proc.err();
  auto health = node.get("/healthz");
  ASSERT_EQ(health.status, 200);
  EXPECT_EQ(nlohmann::json::parse(health.body)["version"], version);
  auto metrics = node.get("/metrics");
  EXPECT_NE(metrics.body.find("troupe_build_info{version=\"" + version + "\",revision=\""),
            std::string::npos)
      << metrics.body;
}

// Sends `method target` on `stream` and reads the answer (to HEAD: no body follows).
bhttp::response<bhttp::string_body> exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                             bhttp::verb method, const std::string& target) {
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  stream.expires_after(5s);
  bhttp::write(stream, req);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.skip(method == bhttp::verb::head);
  bhttp::read(stream, buffer, parser);
  return parser.release();
}

TEST(operator_tools, head_then_get_on_one_kept_alive_connection) {
  running_node node{{"--jwt-secret", jwt_secret}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  boost::asio::io_context io;
  beast::tcp_stream stream{io};
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), node.port});
  beast::flat_buffer buffer;
  for (auto target : {"/healthz", "/openapi.json", "/readyz"}) {
    auto head = exchange(stream, buffer, bhttp::verb::head, target);
    auto get = exchange(stream, buffer, bhttp::verb::get, target);
    EXPECT_EQ(head.result_int(), 200u) << target;
    EXPECT_TRUE(head.body().empty()) << target;
    EXPECT_TRUE(head.keep_alive()) << target;
    ASSERT_EQ(get.result_int(), 200u) << target;
    EXPECT_EQ(head[bhttp::field::content_length], std::to_string(get.body().size())) << target;
    EXPECT_EQ(head[bhttp::field::content_type], get[bhttp::field::content_type]) << target;
    // Whatever a HEAD answer carried beyond its head would have broken this parse.
    EXPECT_FALSE(get.body().empty()) << target;
  }
  EXPECT_EQ(buffer.size(), 0u) << "bytes left over after the last answer";
}

// Runs `promtool check metrics` on `text`; nullopt when promtool is not installed.
std::optional<std::pair<int, std::string>> promtool_check(const std::string& text) {
  auto path = std::filesystem::temp_directory_path() /
              ("troupe-metrics-" + std::to_string(::getpid()) + ".txt");
  std::ofstream{path} << text;
  process check{
      {"/bin/sh", "-c",
       "command -v promtool >/dev/null || exit 77; promtool check metrics < " + path.string()}};
  auto code = check.wait_exit(30s);
  std::filesystem::remove(path);
  if (code && *code == 77)
    return std::nullopt;
  return std::pair{code.value_or(-1), check.out() + check.err()};
}

TEST(operator_tools, metrics_satisfy_promtool_and_the_usual_dashboards) {
  running_node node{{"--jwt-secret", jwt_secret}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  // Requests of every kind, so the scrape holds each family with series.
  node.get("/healthz");
  node.get("/nowhere");
  http_call(node.port, "HEAD", "/readyz");
  node.send("POST", "/v1/users", std::string(2 * 1024 * 1024, 'x'));
  auto scrape = node.get("/metrics");
  ASSERT_EQ(scrape.status, 200);
  auto& text = scrape.body;
  for (auto name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                    "process_open_fds ", "process_max_fds ", "process_start_time_seconds "})
    EXPECT_NE(text.find(std::string{"\n"} + name), std::string::npos) << name;
  // Known label sets are there at 0 before anything happened.
  EXPECT_NE(text.find("troupe_supervisor_restarts_total{supervisor=\"root\",child=\"http\"} 0\n"),
            std::string::npos)
      << text;
  // A body over the limit is counted under its route and method.
  EXPECT_NE(text.find("troupe_http_requests_total{route=\"/v1/users\",method=\"POST\","
                      "status=\"413\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("troupe_http_request_duration_seconds_count{route=\"/healthz\","
                      "method=\"GET\",status_class=\"2xx\"} 1\n"),
            std::string::npos)
      << text;
  auto checked = promtool_check(text);
  if (!checked)
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  EXPECT_EQ(checked->first, 0) << checked->second;
  EXPECT_EQ(checked->second, "") << "promtool has remarks";
}

TEST(operator_tools, one_access_line_per_request_unless_turned_off) {
  running_node node{{"--jwt-secret", jwt_secret}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  node.get("/v1/users/some-id", {{"X-Request-Id", "req-access-1"},
                                 {"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}});
  auto line = node.proc.wait_for_line("req=req-access-1", 5s);
  ASSERT_TRUE(line) << node.proc.err();
  EXPECT_NE(line->find(" info "), std::string::npos) << *line;
  EXPECT_NE(line->find("trace=" + trace), std::string::npos) << *line;
  EXPECT_NE(line->find("GET /v1/users/{id} -> 401 in "), std::string::npos) << *line;
  EXPECT_NE(line->find(" ms"), std::string::npos) << *line;

  running_node quiet{{"--jwt-secret", jwt_secret}, {{"TROUPE_ACCESS_LOG", "false"}}};
  ASSERT_NE(quiet.port, 0) << quiet.proc.err();
  quiet.get("/healthz", {{"X-Request-Id", "req-quiet-1"}});
  quiet.proc.signal(SIGTERM);
  ASSERT_TRUE(quiet.proc.wait_exit(10s));
  EXPECT_EQ(quiet.proc.err().find("req-quiet-1"), std::string::npos) << quiet.proc.err();
  EXPECT_EQ(quiet.proc.err().find("GET /healthz"), std::string::npos) << quiet.proc.err();
}

class clean_start : public postgres_suite {};

TEST_F(clean_start, a_node_on_a_fresh_database_logs_no_warning) {
  running_node node{{"--store", "postgres", "--database-url", pg_->url(), "--jwt-secret",
                     jwt_secret, "--admin-email", "ops@example.com", "--admin-password",
                     "ops-password-1"}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  // The admin's creation is the last store work of a start: it waited for the migrations.
  ASSERT_TRUE(node.proc.wait_for_line("admin ops@example.com created", 20s)) << node.proc.err();
  ASSERT_TRUE(node.wait_ready()) << node.proc.err();
  node.proc.signal(SIGTERM);
  ASSERT_TRUE(node.proc.wait_exit(15s));
  std::istringstream lines{node.proc.err()};
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.find(" warning "), std::string::npos) << line;
    EXPECT_EQ(line.find(" error "), std::string::npos) << line;
  }
  EXPECT_NE(node.proc.err().find("applied migration"), std::string::npos) << node.proc.err();
}

} // namespace
} // namespace troupe::testing
