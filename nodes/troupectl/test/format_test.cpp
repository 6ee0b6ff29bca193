// Tables and views: what an operator reads, from the JSON the node sends.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "table.hpp"
#include "views.hpp"

namespace troupe::ctl {
namespace {

using json = nlohmann::json;

TEST(troupectl_table, aligns_columns_without_trailing_blanks) {
  table t{{"NAME", "STATE", "X"}};
  t.add({"n1", "up", "1"});
  t.add({"longer-name", "", "22"});
  t.add({"short"});
  EXPECT_EQ(t.render(), "NAME         STATE  X\n"
                        "n1           up     1\n"
                        "longer-name         22\n"
                        "short\n");
}

TEST(troupectl_table, counts_code_points_not_bytes) {
  table t{{"A", "B"}};
  t.add({"ééé", "x"});
  t.add({"abcd", "y"});
  EXPECT_EQ(t.render(), "A     B\nééé   x\nabcd  y\n");
  EXPECT_EQ(display_width("│  └─"), 5u);
}

TEST(troupectl_table, header_alone_when_empty) {
  table t{{"ID", "TYPE"}};
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.render(), "ID  TYPE\n");
}

TEST(troupectl_views, cluster_names_the_answering_node_and_members) {
  auto doc = json::parse(R"({"node":"n1","incarnation":"0123456789abcdef","transport":"insecure",
    "warning":"plain TCP","members":[
      {"name":"n1","state":"up","since_ms":5234,"address":"127.0.0.1:7101","roles":["a","b"],
       "incarnation":"0123456789abcdef"},
      {"name":"n2","state":"down","since_ms":200,"address":"127.0.0.1:7102","roles":[],
       "incarnation":"fedcba9876543210"}]})");
  EXPECT_EQ(render_cluster(doc), "answered by n1 (incarnation 01234567, transport insecure)\n"
                                 "warning: plain TCP\n"
                                 "NAME  STATE  SINCE  ADDRESS         ROLES  INCARNATION\n"
                                 "n1    up     5.2s   127.0.0.1:7101  a,b    01234567\n"
                                 "n2    down   200ms  127.0.0.1:7102         fedcba98\n");
}

TEST(troupectl_views, cluster_without_members_is_a_header) {
  EXPECT_EQ(render_cluster(json::parse(R"({"members":[]})")),
            "NAME  STATE  SINCE  ADDRESS  ROLES  INCARNATION\n");
}

TEST(troupectl_views, tree_is_indented_with_branches) {
  auto doc = json::parse(R"({"name":"root","kind":"supervisor","state":"running",
    "strategy":"one_for_one","restart_budget_left":3,"children":[
      {"name":"http","kind":"worker","state":"running","restarts":0},
      {"name":"domain","kind":"supervisor","state":"running","restarts":1,
       "strategy":"one_for_all","last_failure":"boom","children":[
         {"name":"users","kind":"worker","state":"restarting","restarts":2,
          "backoff_pending_ms":1500}]},
      {"name":"late","kind":"supervisor","state":"running","restarts":0,
       "inspect_error":"timeout"}]})");
  EXPECT_EQ(render_tree(doc),
            "root  supervisor  running  one_for_one  budget=3\n"
            "├─ http  worker  running  restarts=0\n"
            "├─ domain  supervisor  running  one_for_all  restarts=1  last failure: boom\n"
            "│  └─ users  worker  restarting  restarts=2  restart in 1.5s\n"
            "└─ late  supervisor  running  restarts=0  not inspected: timeout\n");
}

TEST(troupectl_views, entities_table_per_kind) {
  auto doc = json::parse(R"({"node":"n1","kinds":[
    {"kind":"user","active":3,"keys":["u1","u2"]},{"kind":"stock","active":0,"keys":[]}]})");
  EXPECT_EQ(render_entities(doc), "answered by n1\n"
                                  "\nuser: 3 active, 2 shown\nKEY\nu1\nu2\n"
                                  "\nstock: 0 active\n");
  EXPECT_EQ(render_entities(json::parse(R"({"node":"n1","kinds":[]})")),
            "answered by n1\nno active entities\n");
}

TEST(troupectl_views, faults_table_tolerates_missing_fields) {
  auto doc = json::parse(R"({"faults":[
    {"id":"f1","type":"delay","match":{"node":"n1","kind":"user"},"probability":0.5,
     "delay_ms":200,"duration_ms":60000,"expires_in_ms":59000,"hits":4},
    {"id":"f2","type":"dependency_fail","dependency":"payments","delay_ms":0},
    {"id":"f3","type":"drop"}]})");
  EXPECT_EQ(render_faults(doc),
            "ID  TYPE             MATCH                PROBABILITY  DELAY  FOR  EXPIRES IN  HITS\n"
            "f1  delay            node=n1 kind=user    0.5          200ms  1m   59s         4\n"
            "f2  dependency_fail  dependency=payments\n"
            "f3  drop             *\n");
  EXPECT_EQ(render_faults(json::parse(R"({"faults":[]})")), "no faults\n");
}

TEST(troupectl_views, problem_line_is_one_line) {
  EXPECT_EQ(problem_line(404, R"({"type":"x","title":"Not Found","status":404,
                                 "detail":"no fault f9"})"),
            "HTTP 404 Not Found: no fault f9");
  EXPECT_EQ(problem_line(503, R"({"title":"Not ready"})"), "HTTP 503 Not ready");
  EXPECT_EQ(problem_line(502, "bad\ngateway"), "HTTP 502: bad gateway");
  EXPECT_EQ(problem_line(500, ""), "HTTP 500");
}

} // namespace
} // namespace troupe::ctl
