#include "runtime_faults.hpp"

#include <csignal>
#include <sstream>

namespace troupe::chaos_harness {

using namespace std::chrono_literals;

namespace {

// A recent key of `kind` (the planned pick chooses among the newest few): recently written
// entities are the likeliest to have a live activation.
std::string recent_key(database& db, const std::string& kind, std::int64_t pick) {
  std::string sql;
  if (kind == "user")
    sql = "select id from users where role = 'user' order by updated_at desc limit 5";
  else if (kind == "order")
    sql = "select id from orders order by updated_at desc limit 5";
  else
    sql = "select sku from stock order by sku";
  std::vector<std::string> keys;
  std::istringstream rows{db.query(sql)};
  for (std::string line; std::getline(rows, line);)
    if (!line.empty())
      keys.push_back(line);
  return keys.empty() ? std::string{} : keys[static_cast<std::size_t>(pick) % keys.size()];
}

// "/root/<child>" for a child of the node's supervision root (the planned pick chooses).
std::string child_path(node_set& nodes, const std::string& node, std::int64_t pick) {
  auto [status, body] = nodes.admin(node, "GET", "/admin/supervision");
  auto tree = nlohmann::json::parse(body, nullptr, false);
  if (status != 200 || !tree.is_object())
    return {};
  std::vector<std::string> children;
  for (const auto& c : tree.value("children", nlohmann::json::array()))
    if (c.value("state", "") == "running") // a finished one-shot child cannot be killed
      children.push_back(c.value("name", ""));
  if (children.empty())
    return {};
  return "/" + tree.value("name", std::string{"root"}) + "/" +
         children[static_cast<std::size_t>(pick) % children.size()];
}

} // namespace

nlohmann::json runtime_fault_body(const planned_fault& f, const std::string& key,
                                  const std::string& path) {
  auto type = f.type.substr(std::string{"runtime:"}.size());
  nlohmann::json body{{"type", type}, {"duration_ms", std::max<std::int64_t>(f.duration_ms, 1)}};
  for (const char* field : {"probability", "delay_ms", "dependency"})
    if (f.params.contains(field))
      body[field] = f.params[field];
  if (type == "kill_entity")
    body["match"] = {{"kind", f.params.value("kind", "user")}, {"key", key}};
  if (type == "kill_actor")
    body["path"] = path;
  return body;
}

void apply_runtime_fault(const planned_fault& f, fault_context& ctx, nlohmann::json& detail,
                         const std::function<void(std::int64_t)>& hold) {
  auto pick = f.params.value("pick", std::int64_t{0});
  std::string key;
  std::string path;
  if (f.type == "runtime:kill_entity")
    detail["key"] = key = recent_key(ctx.db, f.params.value("kind", "user"), pick);
  if (f.type == "runtime:kill_actor")
    detail["path"] = path = child_path(ctx.nodes, f.target, pick);
  if ((f.type == "runtime:kill_entity" && key.empty()) ||
      (f.type == "runtime:kill_actor" && path.empty())) {
    detail["error"] = "nothing to kill: no key of that kind yet, or no supervision tree";
    return hold(f.duration_ms);
  }
  auto body = runtime_fault_body(f, key, path);
  auto [status, answer] = ctx.nodes.admin(f.target, "POST", "/admin/chaos/faults", body.dump());
  detail["status"] = status;
  auto reply = nlohmann::json::parse(answer, nullptr, false);
  if (status != 201) {
    detail["error"] = answer.substr(0, 300);
    if (f.type != "runtime:crash_node")
      hold(f.duration_ms);
    return;
  }
  if (f.type == "runtime:crash_node") {
    if (!ctx.nodes.wait_exit(f.target, 5s)) {
      detail["error"] = "the node did not crash within 5 s; killed";
      ctx.nodes.signal(f.target, SIGKILL);
      ctx.nodes.wait_exit(f.target, 5s);
    }
    hold(f.duration_ms);
    ctx.nodes.start(f.target);
    return;
  }
  hold(f.duration_ms);
  if (reply.is_object() && reply.contains("id") && f.type != "runtime:kill_entity" &&
      f.type != "runtime:kill_actor")
    ctx.nodes.admin(f.target, "DELETE", // answers 404 if the fault already expired
                    "/admin/chaos/faults/" + (reply["id"].is_string()
                                                  ? reply["id"].get<std::string>()
                                                  : reply["id"].dump()));
}

} // namespace troupe::chaos_harness
