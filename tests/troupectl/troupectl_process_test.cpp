// troupectl, the built binary, against a real troupe-node: what it prints and the exit
// codes scripts rely on (0 ok, 1 server error, 2 usage, 3 unreachable, 4 not authorized).

#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/node.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using tcp = boost::asio::ip::tcp;

const std::string admin_token = "troupectl-test-admin-token";

struct ctl_result {
  int code = -1;
  std::string out;
  std::string err;
};

ctl_result troupectl(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), TROUPECTL_BINARY);
  // The caller's environment must not choose the node or the token behind a test's back.
  env.try_emplace("TROUPE_URL", "http://127.0.0.1:1");
  env.try_emplace("TROUPE_ADMIN_TOKEN", "");
  process p{args, env};
  auto code = p.wait_exit(15s);
  return {code.value_or(-1), p.out(), p.err()};
}

std::string url_of(const running_node& node) {
  return "http://127.0.0.1:" + std::to_string(node.port);
}

// Exactly one line on stderr, holding `needle`.
void expect_one_line(const std::string& err, const std::string& needle) {
  EXPECT_NE(err.find(needle), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

class troupectl_process : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_NE(node.port, 0) << node.proc.err();
    ASSERT_TRUE(node.wait_ready()) << node.proc.err();
  }

  ctl_result as_admin(std::vector<std::string> args) {
    args.insert(args.begin(), {"--url", url_of(node), "--token", admin_token});
    return troupectl(std::move(args));
  }

  running_node node{{"--admin-token", admin_token, "--node-name", "ctl1"}};
};

TEST_F(troupectl_process, cluster_prints_a_member_table) {
  auto r = as_admin({"cluster"});
  EXPECT_EQ(r.code, 0) << r.err;
  // A node without a cluster port is the only member of its own view.
  EXPECT_EQ(r.out.rfind("answered by ctl1 (incarnation ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nNAME  STATE  SINCE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nctl1  up  "), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(troupectl_process, json_prints_the_servers_document) {
  auto r = as_admin({"cluster", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_TRUE(doc.contains("members")) << r.out;
}

TEST_F(troupectl_process, tree_draws_the_supervision_tree) {
  auto r = as_admin({"tree"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("supervisor"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("└─ "), std::string::npos) << r.out;
  auto alias = as_admin({"supervision"});
  EXPECT_EQ(alias.code, 0) << alias.err;
  auto doc = nlohmann::json::parse(as_admin({"--json", "tree"}).out);
  EXPECT_EQ(r.out.substr(0, r.out.find("  ")), doc["name"].get<std::string>());
}

TEST_F(troupectl_process, health_says_alive_and_ready) {
  auto r = troupectl({"health"}, {{"TROUPE_URL", url_of(node)}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("alive (version "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nready\n"), std::string::npos) << r.out;
}

TEST_F(troupectl_process, token_from_the_environment) {
  auto r =
      troupectl({"cluster"}, {{"TROUPE_URL", url_of(node)}, {"TROUPE_ADMIN_TOKEN", admin_token}});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(troupectl_process, a_wrong_or_missing_token_exits_4) {
  auto wrong = troupectl({"--url", url_of(node), "--token", "not-the-token", "cluster"});
  EXPECT_EQ(wrong.code, 4);
  expect_one_line(wrong.err, "401");
  EXPECT_EQ(wrong.err.find("not-the-token"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.out, "");
  auto missing = troupectl({"--url", url_of(node), "tree"});
  EXPECT_EQ(missing.code, 4);
  expect_one_line(missing.err, "401");
}

TEST(troupectl_process_plain, admin_disabled_on_the_node_exits_4) {
  running_node node{{"--node-name", "ctl2"}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  auto r = troupectl({"--url", url_of(node), "--token", "whatever", "cluster"});
  EXPECT_EQ(r.code, 4);
  expect_one_line(r.err, "403");
}

TEST(troupectl_process_plain, a_closed_port_exits_3_naming_the_url) {
  boost::asio::io_context io;
  uint16_t port = 0;
  {
    tcp::acceptor probe{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
    port = probe.local_endpoint().port();
  }
  auto url = "http://127.0.0.1:" + std::to_string(port);
  auto r = troupectl({"--url", url, "cluster"});
  EXPECT_EQ(r.code, 3);
  expect_one_line(r.err, "cannot reach " + url);
}

TEST(troupectl_process_plain, a_silent_node_exits_3_after_the_timeout) {
  // Listening but never accepting: the connection succeeds and no answer comes.
  boost::asio::io_context io;
  tcp::acceptor silent{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  auto url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  auto started = std::chrono::steady_clock::now();
  auto r = troupectl({"--url", url, "--timeout", "300", "health"});
  EXPECT_EQ(r.code, 3);
  expect_one_line(r.err, "no answer within 300ms");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(troupectl_process_plain, usage_errors_exit_2_and_send_nothing) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--bogus", "cluster"},
                                        {"bogus"},
                                        {"faults", "add", "meteor", "--for", "1s"},
                                        {"faults", "add", "drop", "--for", "soon"},
                                        {"--url", "ftp://x", "cluster"}}) {
    auto r = troupectl(args);
    EXPECT_EQ(r.code, 2) << args.front();
    EXPECT_NE(r.err.find("--help"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
    EXPECT_EQ(r.err.find("cannot reach"), std::string::npos) << r.err;
  }
}

TEST(troupectl_process_plain, faults_added_listed_removed_and_reset) {
  running_node node{{"--admin-token", admin_token, "--node-name", "ctl3", "--chaos"}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--url", url_of(node), "--token", admin_token});
    return troupectl(std::move(args));
  };
  auto added = ctl({"faults", "add", "delay", "--for", "1m", "--kind", "user", "--probability",
                    "0.5", "--delay", "200ms"});
  ASSERT_EQ(added.code, 0) << added.err;
  auto id = added.out.substr(0, added.out.find('\n'));
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(added.out, id + "\n");

  auto listed = ctl({"faults", "list"});
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_NE(listed.out.find(id), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("kind=user"), std::string::npos) << listed.out;
  auto doc = nlohmann::json::parse(ctl({"--json", "faults", "list"}).out);
  ASSERT_EQ(doc["faults"].size(), 1u) << doc;
  EXPECT_EQ(doc["faults"][0]["type"], "delay");

  EXPECT_EQ(ctl({"faults", "rm", id}).code, 0);
  EXPECT_EQ(ctl({"faults", "list"}).out, "no faults\n");
  auto again = ctl({"faults", "rm", id});
  EXPECT_EQ(again.code, 1);
  expect_one_line(again.err, "404");

  ASSERT_EQ(ctl({"faults", "add", "drop", "--for", "30s", "--node", "ctl3"}).code, 0);
  EXPECT_EQ(ctl({"faults", "reset"}).code, 0);
  EXPECT_EQ(ctl({"faults", "list"}).out, "no faults\n");

  auto entities = ctl({"entities", "--limit", "5"});
  EXPECT_EQ(entities.code, 0) << entities.err;
}

TEST(troupectl_process_plain, help_and_version) {
  auto help = troupectl({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("Exit codes"), std::string::npos) << help.out;
  auto version = troupectl({"--version"});
  EXPECT_EQ(version.code, 0);
  process node_version{running_node::with_binary({"--version"})};
  ASSERT_EQ(node_version.wait_exit(5s), 0);
  // Same build, same version: only the program name differs.
  EXPECT_EQ(version.out.substr(version.out.find(' ')),
            node_version.out().substr(node_version.out().find(' ')));
}

} // namespace
} // namespace troupe::testing
