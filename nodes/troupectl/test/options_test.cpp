// Command lines troupectl takes and refuses, and the exit codes it promises scripts.

#include <cstdlib>

#include <gtest/gtest.h>

#include "duration.hpp"
#include "exit_code.hpp"
#include "options.hpp"

namespace troupe::ctl {
namespace {

parse_result parse(std::vector<std::string> args) {
  args.insert(args.begin(), "troupectl");
  std::vector<const char*> argv;
  for (auto& a : args)
    argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

// The environment must not leak into the defaults the tests check.
class troupectl_options : public ::testing::Test {
protected:
  void SetUp() override {
    unsetenv("TROUPE_URL");
    unsetenv("TROUPE_ADMIN_TOKEN");
  }
};

TEST(troupectl_duration, parses_whole_numbers_with_a_unit) {
  EXPECT_EQ(parse_duration("500ms"), std::chrono::milliseconds{500});
  EXPECT_EQ(parse_duration("2s"), std::chrono::milliseconds{2000});
  EXPECT_EQ(parse_duration("1m"), std::chrono::milliseconds{60'000});
  EXPECT_EQ(parse_duration("1h"), std::chrono::milliseconds{3'600'000});
  EXPECT_EQ(parse_duration("0s"), std::chrono::milliseconds{0});
}

TEST(troupectl_duration, refuses_anything_else) {
  for (auto bad : {"", "5", "ms", "-1s", "1.5s", "2 s", "2sec", "s2", "1d", "2S",
                   "99999999999999999999ms", "9223372036854775807h"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(troupectl_duration, formats_for_people) {
  EXPECT_EQ(format_duration(0), "0ms");
  EXPECT_EQ(format_duration(250), "250ms");
  EXPECT_EQ(format_duration(2000), "2s");
  EXPECT_EQ(format_duration(1500), "1.5s");
  EXPECT_EQ(format_duration(192'000), "3m12s");
  EXPECT_EQ(format_duration(120'000), "2m");
  EXPECT_EQ(format_duration(7'500'000), "2h5m");
}

TEST(troupectl_exit_codes, follow_the_status) {
  EXPECT_EQ(exit_code_of(200), exit_code::ok);
  EXPECT_EQ(exit_code_of(204), exit_code::ok);
  EXPECT_EQ(exit_code_of(401), exit_code::not_authorized);
  EXPECT_EQ(exit_code_of(403), exit_code::not_authorized);
  EXPECT_EQ(exit_code_of(404), exit_code::server_error);
  EXPECT_EQ(exit_code_of(503), exit_code::server_error);
}

TEST_F(troupectl_options, defaults_and_globals_anywhere) {
  auto r = parse({"cluster"});
  ASSERT_TRUE(r.run) << r.message;
  EXPECT_EQ(r.run->what, command::cluster);
  EXPECT_EQ(r.run->node.host, "127.0.0.1");
  EXPECT_EQ(r.run->node.port, 8080);
  EXPECT_EQ(r.run->timeout_ms, 5000);
  EXPECT_FALSE(r.run->json);

  r = parse(
      {"tree", "--json", "--url", "http://10.0.0.2:9000", "--token", "t", "--timeout", "250"});
  ASSERT_TRUE(r.run) << r.message;
  EXPECT_EQ(r.run->what, command::tree);
  EXPECT_TRUE(r.run->json);
  EXPECT_EQ(r.run->node.host, "10.0.0.2");
  EXPECT_EQ(r.run->node.port, 9000);
  EXPECT_EQ(r.run->token, "t");
  EXPECT_EQ(r.run->timeout_ms, 250);
}

TEST_F(troupectl_options, environment_gives_url_and_token) {
  setenv("TROUPE_URL", "http://127.0.0.1:8181", 1);
  setenv("TROUPE_ADMIN_TOKEN", "from-env", 1);
  auto r = parse({"health"});
  ASSERT_TRUE(r.run) << r.message;
  EXPECT_EQ(r.run->node.port, 8181);
  EXPECT_EQ(r.run->token, "from-env");
  r = parse({"--token", "flag-wins", "health"});
  ASSERT_TRUE(r.run) << r.message;
  EXPECT_EQ(r.run->token, "flag-wins");
}

TEST_F(troupectl_options, supervision_is_tree) {
  auto r = parse({"supervision"});
  ASSERT_TRUE(r.run) << r.message;
  EXPECT_EQ(r.run->what, command::tree);
}

TEST_F(troupectl_options, entities_filters) {
  auto r = parse({"entities", "--kind", "user", "--limit", "5"});
  ASSERT_TRUE(r.run) << r.message;
  EXPECT_EQ(r.run->what, command::entities);
  EXPECT_EQ(r.run->entity_kind, "user");
  EXPECT_EQ(r.run->limit, 5);
}

TEST_F(troupectl_options, faults_add_takes_every_field) {
  auto r =
      parse({"faults", "add",     "delay", "--for",  "2m",        "--node",       "n1",
             "--kind", "user",    "--key", "k",      "--message", "get",          "--probability",
             "0.5",    "--delay", "300ms", "--path", "/x",        "--dependency", "payments"});
  ASSERT_TRUE(r.run) << r.message;
  auto& f = r.run->fault;
  EXPECT_EQ(r.run->what, command::faults_add);
  EXPECT_EQ(f.type, "delay");
  EXPECT_EQ(f.duration_ms, 120'000);
  EXPECT_EQ(f.delay_ms, 300);
  EXPECT_EQ(f.probability, 0.5);
  EXPECT_EQ(f.node, "n1");
  EXPECT_EQ(f.kind, "user");
  EXPECT_EQ(f.key, "k");
  EXPECT_EQ(f.message, "get");
  EXPECT_EQ(f.path, "/x");
  EXPECT_EQ(f.dependency, "payments");
}

TEST_F(troupectl_options, faults_rm_and_reset) {
  auto r = parse({"faults", "rm", "f-12"});
  ASSERT_TRUE(r.run) << r.message;
  EXPECT_EQ(r.run->what, command::faults_rm);
  EXPECT_EQ(r.run->fault_id, "f-12");
  r = parse({"faults", "reset"});
  ASSERT_TRUE(r.run) << r.message;
  EXPECT_EQ(r.run->what, command::faults_reset);
  r = parse({"faults", "list"});
  ASSERT_TRUE(r.run) << r.message;
  EXPECT_EQ(r.run->what, command::faults_list);
}

// A usage error is two lines: what is wrong (naming the flag or argument), then --help.
void expect_usage_error(const parse_result& r, const std::string& names) {
  EXPECT_FALSE(r.run);
  EXPECT_EQ(r.exit_code, exit_code::usage_error);
  auto first = r.message.substr(0, r.message.find('\n'));
  EXPECT_NE(first.find(names), std::string::npos) << r.message;
  EXPECT_EQ(r.message.substr(r.message.find('\n') + 1), "run 'troupectl --help' for usage")
      << r.message;
}

TEST_F(troupectl_options, bad_input_is_a_usage_error_naming_it) {
  expect_usage_error(parse({}), "a command is required");
  expect_usage_error(parse({"bogus"}), "unknown command 'bogus'");
  expect_usage_error(parse({"faults", "bogus"}), "unknown command 'bogus'");
  expect_usage_error(parse({"cluster", "--bogus"}), "--bogus");
  expect_usage_error(parse({"faults"}), "faults: a subcommand is required");
  expect_usage_error(parse({"faults", "add", "meteor", "--for", "1s"}), "meteor");
  expect_usage_error(parse({"faults", "add", "drop"}), "--for");
  expect_usage_error(parse({"faults", "add", "drop", "--for", "soon"}), "--for");
  expect_usage_error(parse({"faults", "add", "drop", "--for", "0s"}), "--for");
  expect_usage_error(parse({"faults", "add", "delay", "--for", "1s", "--delay", "1.5s"}),
                     "--delay");
  expect_usage_error(parse({"faults", "add", "drop", "--for", "1s", "--probability", "2"}),
                     "--probability");
  expect_usage_error(parse({"faults", "rm"}), "id");
  expect_usage_error(parse({"--timeout", "0", "cluster"}), "--timeout");
  expect_usage_error(parse({"--timeout", "soon", "cluster"}), "--timeout");
  expect_usage_error(parse({"--url", "https://x:1", "cluster"}), "--url");
  expect_usage_error(parse({"--url", "localhost:8080", "cluster"}), "--url");
  expect_usage_error(parse({"entities", "--limit", "-1"}), "--limit");
}

TEST_F(troupectl_options, help_and_version_exit_zero) {
  auto help = parse({"--help"});
  EXPECT_FALSE(help.run);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.message.find("Exit codes"), std::string::npos) << help.message;
  EXPECT_NE(help.message.find("faults"), std::string::npos) << help.message;
  auto sub = parse({"faults", "add", "--help"});
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_NE(sub.message.find("--probability"), std::string::npos) << sub.message;
  auto version = parse({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.message, version_line() + "\n");
  EXPECT_EQ(version.message.rfind("troupectl ", 0), 0u);
}

TEST_F(troupectl_options, help_never_shows_the_token) {
  setenv("TROUPE_ADMIN_TOKEN", "s3cret-admin-token", 1);
  auto help = parse({"--help"});
  EXPECT_EQ(help.message.find("s3cret-admin-token"), std::string::npos);
}

} // namespace
} // namespace troupe::ctl
