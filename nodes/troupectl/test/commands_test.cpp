// Commands against a scripted transport: the requests they send, what they print, and
// the exit codes they return.

#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "exit_code.hpp"
#include "troupe/core/error.hpp"

namespace troupe::ctl {
namespace {

using json = nlohmann::json;

// Answers each request with the next scripted outcome and keeps what was sent.
struct scripted {
  explicit scripted(std::vector<caf::expected<reply>> script) : answers(std::move(script)) {}

  std::vector<caf::expected<reply>> answers;
  std::vector<request> sent;

  transport as_transport() {
    return [this](const request& r) -> caf::expected<reply> {
      sent.push_back(r);
      if (answers.empty())
        return make_error(errc::io_failure, "nothing scripted");
      auto next = std::move(answers.front());
      answers.erase(answers.begin());
      return next;
    };
  }
};

struct outcome {
  int code;
  std::string out;
  std::string err;
};

outcome run_with(invocation inv, scripted& node) {
  std::ostringstream out;
  std::ostringstream err;
  auto code = run(inv, node.as_transport(), out, err);
  return {code, out.str(), err.str()};
}

invocation for_command(command what) {
  invocation inv;
  inv.url = "http://127.0.0.1:1";
  inv.what = what;
  return inv;
}

TEST(troupectl_commands, requests_per_command) {
  auto inv = for_command(command::entities);
  inv.entity_kind = "a b&c";
  inv.limit = 3;
  EXPECT_EQ(request_for(inv).target, "/admin/entities?kind=a%20b%26c&limit=3");
  inv.entity_kind.reset();
  inv.limit.reset();
  EXPECT_EQ(request_for(inv).target, "/admin/entities");
  inv = for_command(command::faults_rm);
  inv.fault_id = "f/1";
  EXPECT_EQ(request_for(inv).method, "DELETE");
  EXPECT_EQ(request_for(inv).target, "/admin/chaos/faults/f%2F1");
  inv = for_command(command::faults_reset);
  EXPECT_EQ(request_for(inv).method, "POST");
  EXPECT_EQ(request_for(inv).target, "/admin/chaos/reset");
}

TEST(troupectl_commands, fault_add_sends_only_what_was_given) {
  auto inv = for_command(command::faults_add);
  inv.fault.type = "drop";
  inv.fault.duration_ms = 2000;
  inv.fault.kind = "user";
  auto body = json::parse(request_for(inv).body);
  EXPECT_EQ(body, json::parse(R"({"type":"drop","duration_ms":2000,"match":{"kind":"user"}})"));
  inv.fault.probability = 0.25;
  inv.fault.delay_ms = 100;
  inv.fault.dependency = "payments";
  inv.fault.path = "/p";
  body = json::parse(request_for(inv).body);
  EXPECT_EQ(body["probability"], 0.25);
  EXPECT_EQ(body["delay_ms"], 100);
  EXPECT_EQ(body["dependency"], "payments");
  EXPECT_EQ(body["path"], "/p");
}

TEST(troupectl_commands, fault_add_prints_the_new_id_or_everything_with_json) {
  scripted node{{reply{201, R"({"id":"f7","type":"drop"})"}}};
  auto inv = for_command(command::faults_add);
  inv.fault.type = "drop";
  inv.fault.duration_ms = 1000;
  auto r = run_with(inv, node);
  EXPECT_EQ(r.code, exit_code::ok);
  EXPECT_EQ(r.out, "f7\n");
  ASSERT_EQ(node.sent.size(), 1u);
  EXPECT_EQ(node.sent[0].method, "POST");
  EXPECT_EQ(node.sent[0].target, "/admin/chaos/faults");

  node.answers.push_back(reply{201, R"({"id":"f8","type":"drop"})"});
  inv.json = true;
  r = run_with(inv, node);
  EXPECT_EQ(r.out, "{\"id\":\"f8\",\"type\":\"drop\"}\n");
}

TEST(troupectl_commands, error_statuses_map_to_exit_codes_with_one_line) {
  scripted node{{reply{401, R"({"title":"Unauthorized","detail":"the admin token is not valid"})"},
                 reply{403, R"({"title":"Forbidden","detail":"admin endpoints are disabled"})"},
                 reply{404, R"({"title":"Not Found","detail":"no fault f9"})"}}};
  auto r = run_with(for_command(command::cluster), node);
  EXPECT_EQ(r.code, exit_code::not_authorized);
  EXPECT_EQ(r.err, "troupectl: HTTP 401 Unauthorized: the admin token is not valid\n");
  EXPECT_EQ(r.out, "");
  r = run_with(for_command(command::tree), node);
  EXPECT_EQ(r.code, exit_code::not_authorized);
  auto rm = for_command(command::faults_rm);
  rm.fault_id = "f9";
  r = run_with(rm, node);
  EXPECT_EQ(r.code, exit_code::server_error);
  EXPECT_EQ(r.err, "troupectl: HTTP 404 Not Found: no fault f9\n");
}

TEST(troupectl_commands, unreachable_names_the_url) {
  scripted node{{make_error(errc::timeout, "no answer within 5ms")}};
  auto r = run_with(for_command(command::cluster), node);
  EXPECT_EQ(r.code, exit_code::unreachable);
  EXPECT_EQ(r.err, "troupectl: cannot reach http://127.0.0.1:1: no answer within 5ms\n");
}

TEST(troupectl_commands, an_answer_that_is_not_json_is_a_server_error) {
  scripted node{{reply{200, "<html>"}}};
  auto r = run_with(for_command(command::cluster), node);
  EXPECT_EQ(r.code, exit_code::server_error);
  EXPECT_NE(r.err.find("not JSON"), std::string::npos) << r.err;
}

TEST(troupectl_commands, rm_and_reset_accept_an_empty_answer) {
  scripted node{{reply{204, ""}, reply{204, ""}, reply{200, R"({"removed":3})"}}};
  auto rm = for_command(command::faults_rm);
  rm.fault_id = "f1";
  auto r = run_with(rm, node);
  EXPECT_EQ(r.code, exit_code::ok);
  EXPECT_EQ(r.out, "removed f1\n");
  r = run_with(for_command(command::faults_reset), node);
  EXPECT_EQ(r.code, exit_code::ok);
  EXPECT_EQ(r.out, "all faults removed\n");
  r = run_with(for_command(command::faults_reset), node);
  EXPECT_EQ(r.out, "removed 3 faults\n");
}

TEST(troupectl_commands, health_says_alive_and_ready_or_why_not) {
  scripted node{{reply{200, R"({"status":"ok","version":"1.2"})"},
                 reply{200, R"({"status":"ready"})"}, reply{200, R"({"status":"ok"})"},
                 reply{503, R"({"title":"Not ready","detail":"joining the cluster"})"}}};
  auto r = run_with(for_command(command::health), node);
  EXPECT_EQ(r.code, exit_code::ok);
  EXPECT_EQ(r.out, "alive (version 1.2)\nready\n");
  ASSERT_EQ(node.sent.size(), 2u);
  EXPECT_EQ(node.sent[0].target, "/healthz");
  EXPECT_EQ(node.sent[1].target, "/readyz");
  r = run_with(for_command(command::health), node);
  EXPECT_EQ(r.code, exit_code::server_error);
  EXPECT_EQ(r.out, "alive\n");
  EXPECT_EQ(r.err, "troupectl: not ready: HTTP 503 Not ready: joining the cluster\n");
}

TEST(troupectl_commands, health_json_holds_both_answers) {
  scripted node{{reply{200, R"({"status":"ok"})"}, reply{200, R"({"status":"ready"})"}}};
  auto inv = for_command(command::health);
  inv.json = true;
  auto r = run_with(inv, node);
  EXPECT_EQ(r.code, exit_code::ok);
  EXPECT_EQ(json::parse(r.out),
            json::parse(R"({"healthz":{"status":"ok"},"readyz":{"status":"ready"}})"));
}

} // namespace
} // namespace troupe::ctl
