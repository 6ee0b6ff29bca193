#include "views.hpp"

#include "duration.hpp"
#include "table.hpp"

namespace troupe::ctl {

namespace {

using json = nlohmann::json;

// A field as text: strings as they are, other scalars dumped, absent or null as empty.
std::string text_of(const json& doc, const char* key) {
  if (!doc.is_object() || !doc.contains(key) || doc[key].is_null())
    return {};
  auto& v = doc[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string ms_of(const json& doc, const char* key) {
  if (!doc.is_object() || !doc.contains(key) || !doc[key].is_number())
    return {};
  return format_duration(doc[key].get<int64_t>());
}

std::string joined(const json& list, const char* sep) {
  std::string out;
  if (list.is_array())
    for (auto& item : list)
      out += (out.empty() ? "" : sep) + (item.is_string() ? item.get<std::string>() : item.dump());
  return out;
}

// Incarnations are long random strings; eight characters tell starts apart on a screen.
std::string short_id(std::string id) {
  return id.size() > 8 ? id.substr(0, 8) : id;
}

// The parts of a tree entry after its name, those the entry has.
std::string tree_line(const json& n) {
  std::string line = text_of(n, "name");
  auto add = [&](const std::string& part) {
    if (!part.empty())
      line += "  " + part;
  };
  add(text_of(n, "kind"));
  add(text_of(n, "state"));
  add(text_of(n, "strategy"));
  if (n.contains("restarts"))
    add("restarts=" + text_of(n, "restarts"));
  if (n.contains("restart_budget_left"))
    add("budget=" + text_of(n, "restart_budget_left"));
  if (auto b = ms_of(n, "backoff_pending_ms"); !b.empty())
    add("restart in " + b);
  if (auto f = text_of(n, "last_failure"); !f.empty())
    add("last failure: " + f);
  if (auto e = text_of(n, "inspect_error"); !e.empty())
    add("not inspected: " + e);
  return line + "\n";
}

void draw(const json& node, const std::string& indent, std::string& out) {
  if (!node.contains("children") || !node["children"].is_array())
    return;
  auto& children = node["children"];
  for (size_t i = 0; i < children.size(); ++i) {
    bool last = i + 1 == children.size();
    out += indent + (last ? "└─ " : "├─ ") + tree_line(children[i]);
    draw(children[i], indent + (last ? "   " : "│  "), out);
  }
}

} // namespace

std::string render_cluster(const json& doc) {
  std::string out;
  if (auto node = text_of(doc, "node"); !node.empty()) {
    out += "answered by " + node + " (incarnation " + short_id(text_of(doc, "incarnation"));
    if (auto t = text_of(doc, "transport"); !t.empty())
      out += ", transport " + t;
    out += ")\n";
  }
  if (auto w = text_of(doc, "warning"); !w.empty())
    out += "warning: " + w + "\n";
  table t{{"NAME", "STATE", "SINCE", "ADDRESS", "ROLES", "INCARNATION"}};
  if (doc.contains("members") && doc["members"].is_array())
    for (auto& m : doc["members"])
      t.add({text_of(m, "name"), text_of(m, "state"), ms_of(m, "since_ms"), text_of(m, "address"),
             m.contains("roles") ? joined(m["roles"], ",") : "",
             short_id(text_of(m, "incarnation"))});
  return out + t.render();
}

std::string render_tree(const json& doc) {
  std::string out = tree_line(doc);
  draw(doc, "", out);
  return out;
}

std::string render_entities(const json& doc) {
  std::string out;
  if (auto node = text_of(doc, "node"); !node.empty())
    out += "answered by " + node + "\n";
  if (!doc.contains("kinds") || !doc["kinds"].is_array() || doc["kinds"].empty())
    return out + "no active entities\n";
  for (auto& k : doc["kinds"]) {
    auto keys = k.contains("keys") && k["keys"].is_array() ? k["keys"] : json::array();
    out += "\n" + text_of(k, "kind") + ": " + text_of(k, "active") + " active";
    if (k.contains("active") && k["active"].is_number() && keys.size() < k["active"].get<size_t>())
      out += ", " + std::to_string(keys.size()) + " shown";
    out += "\n";
    if (keys.empty())
      continue;
    table t{{"KEY"}};
    for (auto& key : keys)
      t.add({key.is_string() ? key.get<std::string>() : key.dump()});
    out += t.render();
  }
  return out;
}

std::string render_faults(const json& doc) {
  if (!doc.contains("faults") || !doc["faults"].is_array() || doc["faults"].empty())
    return "no faults\n";
  table t{{"ID", "TYPE", "MATCH", "PROBABILITY", "DELAY", "FOR", "EXPIRES IN", "HITS"}};
  for (auto& f : doc["faults"]) {
    std::string match;
    auto add = [&](const json& from, const char* key) {
      if (auto v = text_of(from, key); !v.empty())
        match += (match.empty() ? "" : " ") + std::string{key} + "=" + v;
    };
    if (f.contains("match"))
      for (auto key : {"node", "kind", "key", "message"})
        add(f["match"], key);
    add(f, "path");
    add(f, "dependency");
    t.add({text_of(f, "id"), text_of(f, "type"), match.empty() ? "*" : match,
           text_of(f, "probability"), f.value("delay_ms", json()) == 0 ? "" : ms_of(f, "delay_ms"),
           ms_of(f, "duration_ms"), ms_of(f, "expires_in_ms"), text_of(f, "hits")});
  }
  return t.render();
}

std::string problem_line(unsigned status, std::string_view body) {
  std::string line = "HTTP " + std::to_string(status);
  auto doc = json::parse(body, nullptr, false);
  auto title = text_of(doc, "title");
  auto detail = text_of(doc, "detail");
  if (!title.empty())
    line += " " + title;
  if (!detail.empty())
    line += ": " + detail;
  if (title.empty() && detail.empty() && !body.empty()) {
    std::string start{body.substr(0, std::min<size_t>(body.size(), 200))};
    for (auto& c : start)
      if (c == '\n' || c == '\r')
        c = ' ';
    line += ": " + start;
  }
  return line;
}

} // namespace troupe::ctl
