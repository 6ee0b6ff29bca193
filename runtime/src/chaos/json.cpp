#include "troupe/chaos/json.hpp"

#include <cmath>

namespace troupe::chaos {

namespace {

// Names, keys and paths are short; anything longer is a mistake, not a target.
constexpr size_t max_text = 256;

std::string read_text(const nlohmann::json& obj, const char* field, std::string& out) {
  auto i = obj.find(field);
  if (i == obj.end() || i->is_null())
    return {};
  if (!i->is_string())
    return std::string{field} + ": must be a string";
  out = i->get<std::string>();
  if (out.size() > max_text)
    return std::string{field} + ": at most " + std::to_string(max_text) + " characters";
  if (out.find('\0') != std::string::npos)
    return std::string{field} + ": must not contain U+0000";
  return {};
}

std::string read_ms(const nlohmann::json& obj, const char* field, std::chrono::milliseconds& out,
                    bool required) {
  auto i = obj.find(field);
  if (i == obj.end() || i->is_null())
    return required ? std::string{field} + ": required" : std::string{};
  if (!i->is_number_integer())
    return std::string{field} + ": must be an integer number of milliseconds";
  constexpr int64_t limit = 86'400'000;
  bool in_range = i->is_number_unsigned() ? i->get<uint64_t>() <= uint64_t{limit}
                                          : i->get<int64_t>() >= 0 && i->get<int64_t>() <= limit;
  if (!in_range)
    return std::string{field} + ": out of range";
  out = std::chrono::milliseconds{i->get<int64_t>()};
  return {};
}

std::string unknown_member(const nlohmann::json& obj, std::initializer_list<const char*> known,
                           const std::string& prefix) {
  for (const auto& [name, value] : obj.items()) {
    bool ok = false;
    for (auto k : known)
      ok = ok || name == k;
    if (!ok)
      return prefix + name.substr(0, 64) + ": unknown field";
  }
  return {};
}

} // namespace

std::variant<fault_spec, std::string> parse_fault(const nlohmann::json& body) {
  fault_spec spec;
  if (!body.is_object())
    return std::string{"body: must be a JSON object"};
  if (auto bad = unknown_member(
          body, {"type", "duration_ms", "probability", "delay_ms", "match", "path", "dependency"},
          "");
      !bad.empty())
    return bad;
  std::string type;
  if (auto bad = read_text(body, "type", type); !bad.empty())
    return bad;
  if (type.empty())
    return std::string{"type: required"};
  auto parsed = parse_fault_type(type);
  if (!parsed)
    return "type: unknown fault type '" + type.substr(0, 64) + "'";
  spec.type = *parsed;
  if (auto bad = read_ms(body, "duration_ms", spec.duration, true); !bad.empty())
    return bad;
  if (auto bad = read_ms(body, "delay_ms", spec.delay, false); !bad.empty())
    return bad;
  if (auto i = body.find("probability"); i != body.end() && !i->is_null()) {
    if (!i->is_number() || !std::isfinite(i->get<double>()))
      return std::string{"probability: must be a number between 0 and 1"};
    spec.probability = i->get<double>();
  }
  if (auto i = body.find("match"); i != body.end() && !i->is_null()) {
    if (!i->is_object())
      return std::string{"match: must be an object"};
    if (auto bad = unknown_member(*i, {"node", "kind", "key", "message"}, "match."); !bad.empty())
      return bad;
    for (auto [field, out] :
         {std::pair{"node", &spec.match.node}, std::pair{"kind", &spec.match.kind},
          std::pair{"key", &spec.match.key}, std::pair{"message", &spec.match.message}})
      if (auto bad = read_text(*i, field, *out); !bad.empty())
        return "match." + bad;
  }
  if (auto bad = read_text(body, "path", spec.path); !bad.empty())
    return bad;
  if (auto bad = read_text(body, "dependency", spec.dependency); !bad.empty())
    return bad;
  return spec;
}

nlohmann::json to_json(const fault_view& f) {
  const auto& s = f.spec;
  nlohmann::json match = nlohmann::json::object();
  for (auto [field, value] :
       {std::pair{"node", &s.match.node}, std::pair{"kind", &s.match.kind},
        std::pair{"key", &s.match.key}, std::pair{"message", &s.match.message}})
    if (!value->empty())
      match[field] = *value;
  nlohmann::json out{
      {"id", std::to_string(f.id)},
      {"type", std::string{to_string(s.type)}},
      {"match", std::move(match)},
      {"probability", s.probability},
      {"delay_ms", s.delay.count()},
      {"duration_ms", s.duration.count()},
      {"expires_in_ms", f.expires_in.count()},
      {"hits", f.hits},
  };
  if (!s.path.empty())
    out["path"] = s.path;
  if (!s.dependency.empty())
    out["dependency"] = s.dependency;
  return out;
}

} // namespace troupe::chaos
