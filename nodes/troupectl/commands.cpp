#include "commands.hpp"

#include <nlohmann/json.hpp>

#include "exit_code.hpp"
#include "views.hpp"

namespace troupe::ctl {

namespace {

using json = nlohmann::json;

// Keeps RFC 3986's unreserved characters; everything else travels as %XX.
std::string percent_encode(std::string_view in) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

std::string entities_target(const invocation& inv) {
  std::string query;
  if (inv.entity_kind)
    query += "kind=" + percent_encode(*inv.entity_kind);
  if (inv.limit)
    query += (query.empty() ? "" : "&") + std::string{"limit="} + std::to_string(*inv.limit);
  return "/admin/entities" + (query.empty() ? "" : "?" + query);
}

std::string fault_body(const fault_spec& f) {
  json body{{"type", f.type}, {"duration_ms", f.duration_ms}};
  if (f.probability)
    body["probability"] = *f.probability;
  if (f.delay_ms)
    body["delay_ms"] = *f.delay_ms;
  json match = json::object();
  for (auto [key, value] : {std::pair{"node", &f.node}, std::pair{"kind", &f.kind},
                            std::pair{"key", &f.key}, std::pair{"message", &f.message}})
    if (*value)
      match[key] = **value;
  body["match"] = match;
  if (f.path)
    body["path"] = *f.path;
  if (f.dependency)
    body["dependency"] = *f.dependency;
  return body.dump();
}

// The id of a new fault, whether the answer is the fault or wraps it.
std::string fault_id(const json& doc) {
  if (doc.contains("id"))
    return doc["id"].is_string() ? doc["id"].get<std::string>() : doc["id"].dump();
  if (doc.contains("fault") && doc["fault"].is_object())
    return fault_id(doc["fault"]);
  return {};
}

std::string rendered(const invocation& inv, const json& doc) {
  switch (inv.what) {
  case command::cluster:
    return render_cluster(doc);
  case command::tree:
    return render_tree(doc);
  case command::entities:
    return render_entities(doc);
  case command::faults_list:
    return render_faults(doc);
  case command::faults_add:
    return fault_id(doc) + "\n";
  case command::faults_rm:
    return "removed " + inv.fault_id + "\n";
  case command::faults_reset:
    if (doc.contains("removed") && doc["removed"].is_number())
      return "removed " + doc["removed"].dump() + (doc["removed"] == 1 ? " fault\n" : " faults\n");
    return "all faults removed\n";
  case command::health:
    break;
  }
  return {};
}

int unreachable_node(const invocation& inv, const caf::error& why, std::ostream& err) {
  err << "troupectl: cannot reach " << inv.url << ": " << reason(why) << "\n";
  return exit_code::unreachable;
}

std::string with_newline(std::string text) {
  if (!text.empty() && text.back() != '\n')
    text += '\n';
  return text;
}

// /healthz then /readyz: alive says the process serves, ready says it takes traffic.
int run_health(const invocation& inv, const transport& send, std::ostream& out, std::ostream& err) {
  auto live = send({"GET", "/healthz", {}});
  if (!live)
    return unreachable_node(inv, live.error(), err);
  auto ready = send({"GET", "/readyz", {}});
  if (!ready)
    return unreachable_node(inv, ready.error(), err);
  auto live_doc = json::parse(live->body, nullptr, false);
  if (inv.json) {
    auto ready_doc = json::parse(ready->body, nullptr, false);
    out << json{{"healthz", live_doc.is_discarded() ? json(live->body) : live_doc},
                {"readyz", ready_doc.is_discarded() ? json(ready->body) : ready_doc}}
               .dump()
        << "\n";
  }
  if (exit_code_of(live->status) != exit_code::ok) {
    err << "troupectl: not alive: " << problem_line(live->status, live->body) << "\n";
    return exit_code::server_error;
  }
  if (!inv.json) {
    out << "alive";
    if (live_doc.is_object() && live_doc.contains("version"))
      out << " (version " << live_doc["version"].get<std::string>() << ")";
    out << "\n";
  }
  if (exit_code_of(ready->status) != exit_code::ok) {
    err << "troupectl: not ready: " << problem_line(ready->status, ready->body) << "\n";
    return exit_code::server_error;
  }
  if (!inv.json)
    out << "ready\n";
  return exit_code::ok;
}

} // namespace

request request_for(const invocation& inv) {
  switch (inv.what) {
  case command::cluster:
    return {"GET", "/admin/cluster", {}};
  case command::tree:
    return {"GET", "/admin/supervision", {}};
  case command::entities:
    return {"GET", entities_target(inv), {}};
  case command::faults_list:
    return {"GET", "/admin/chaos/faults", {}};
  case command::faults_add:
    return {"POST", "/admin/chaos/faults", fault_body(inv.fault)};
  case command::faults_rm:
    return {"DELETE", "/admin/chaos/faults/" + percent_encode(inv.fault_id), {}};
  case command::faults_reset:
    return {"POST", "/admin/chaos/reset", {}};
  case command::health:
    break;
  }
  return {"GET", "/healthz", {}};
}

int run(const invocation& inv, const transport& send, std::ostream& out, std::ostream& err) {
  if (inv.what == command::health)
    return run_health(inv, send, out, err);
  auto answer = send(request_for(inv));
  if (!answer)
    return unreachable_node(inv, answer.error(), err);
  if (auto code = exit_code_of(answer->status); code != exit_code::ok) {
    err << "troupectl: " << problem_line(answer->status, answer->body) << "\n";
    return code;
  }
  if (inv.json) {
    out << with_newline(answer->body);
    return exit_code::ok;
  }
  auto doc = answer->body.empty() ? json::object() : json::parse(answer->body, nullptr, false);
  if (doc.is_discarded()) {
    err << "troupectl: the node's answer is not JSON: "
        << problem_line(answer->status, answer->body) << "\n";
    return exit_code::server_error;
  }
  out << rendered(inv, doc);
  return exit_code::ok;
}

} // namespace troupe::ctl
