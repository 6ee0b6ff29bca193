#include "troupe/http/json_body.hpp"

#include <boost/beast/http/field.hpp>

#include "troupe/http/response.hpp"
#include "troupe/http/url.hpp"

namespace troupe::http {

namespace {

using json = nlohmann::json;

// Long targets are client-chosen; echoing them would bloat every problem.
constexpr size_t max_instance_size = 256;
// Unknown member names are client-chosen too; longer ones are not repeated back.
constexpr size_t max_echoed_name = 64;

constexpr std::string_view body_title = "The request body is invalid.";

std::string instance_of(const request& req) {
  auto path = target_path(std_view(req.target()));
  return path.size() <= max_instance_size ? std::string{path} : std::string{};
}

response bad_body(std::string detail, std::string instance = {}) {
  return problem_response(status::bad_request, problem::bad_request, std::string{body_title},
                          std::move(detail), std::move(instance));
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) {
  auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos)
    return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// Compares the media type (before any ';' parameters) with application/json, ignoring case.
bool is_json_media_type(std::string_view content_type) {
  auto type = trim(content_type.substr(0, content_type.find(';')));
  constexpr std::string_view want = "application/json";
  if (type.size() != want.size())
    return false;
  for (size_t i = 0; i < want.size(); ++i)
    if (lower(type[i]) != want[i])
      return false;
  return true;
}

// Finds the nesting depth without parsing, so a deep body is refused before any allocation.
bool nested_too_deep(std::string_view body) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_json_depth)
        return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// Finds the first string (member name or value) holding U+0000 and names where it is, e.g.
// "items[0].sku". PostgreSQL's text cannot hold it and C APIs cut strings there, so it is
// refused once here instead of truncating or failing somewhere downstream.
std::optional<std::string> find_nul(const json& value, const std::string& at) {
  auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  if (value.is_string())
    return has_nul(value.get_ref<const std::string&>()) ? std::optional{at} : std::nullopt;
  if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i)
      if (auto found = find_nul(value[i], at + "[" + std::to_string(i) + "]"))
        return found;
  } else if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      auto name = at.empty() ? it.key() : at + "." + it.key();
      if (has_nul(it.key()))
        return at.empty() ? std::string{"a member name"} : "a member name in " + at;
      if (auto found = find_nul(it.value(), name))
        return found;
    }
  }
  return std::nullopt;
}

std::string field_detail(std::string_view field, std::string_view what) {
  std::string out = "field '";
  out += field;
  out += "' ";
  out += what;
  return out;
}

// Checks one present, non-null member; nullopt means it is fine.
std::optional<response> check_string(const json& value, std::string_view field, size_t min_len,
                                     size_t max_len) {
  if (!value.is_string())
    return bad_body(field_detail(field, "must be a string"));
  auto len = utf8_length(value.get_ref<const std::string&>());
  if (!len)
    return bad_body(field_detail(field, "is not valid UTF-8"));
  if (value.get_ref<const std::string&>().find('\0') != std::string::npos)
    return bad_body(field_detail(field, "must not contain U+0000"));
  if (*len < min_len)
    return bad_body(field_detail(field, "must be at least " + std::to_string(min_len) +
                                            (min_len == 1 ? " character" : " characters") +
                                            " long"));
  if (*len > max_len)
    return bad_body(field_detail(field, "must be at most " + std::to_string(max_len) +
                                            (max_len == 1 ? " character" : " characters") +
                                            " long"));
  return std::nullopt;
}

const json* member(const json& obj, std::string_view field) {
  if (!obj.is_object())
    return nullptr;
  auto i = obj.find(field);
  return i == obj.end() || i->is_null() ? nullptr : &*i;
}

} // namespace

std::optional<size_t> utf8_length(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++count) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return std::nullopt;
    }
    if (s.size() - i <= n)
      return std::nullopt;
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80)
        return std::nullopt;
      cp = cp << 6 | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return std::nullopt;
    i += n + 1;
  }
  return count;
}

std::variant<json, response> read_json_object(const request& req) {
  auto content_type = req.find(boost::beast::http::field::content_type);
  if (content_type == req.end() || !is_json_media_type(std_view(content_type->value())))
    return problem_response(status::unsupported_media_type, problem::unsupported_media_type,
                            "The request body must be JSON.",
                            "send the body with Content-Type: application/json", instance_of(req));
  const auto& body = req.body();
  if (trim(body).empty())
    return bad_body("the request body is empty; expected a JSON object", instance_of(req));
  if (nested_too_deep(body))
    return bad_body("the JSON body nests deeper than " + std::to_string(max_json_depth) + " levels",
                    instance_of(req));
  json parsed;
  try {
    parsed = json::parse(body);
  } catch (const json::parse_error& e) {
    // Only the position: the parser's own message quotes the offending input.
    return bad_body("the request body is not valid JSON (error at byte " + std::to_string(e.byte) +
                        ")",
                    instance_of(req));
  } catch (const json::exception&) {
    return bad_body("the request body is not valid JSON", instance_of(req));
  }
  if (!parsed.is_object())
    return bad_body(std::string{"the request body must be a JSON object, not "} +
                        (parsed.is_array() ? "an " : "a ") + parsed.type_name(),
                    instance_of(req));
  if (auto where = find_nul(parsed, {})) {
    if (where->starts_with("a member name"))
      return bad_body(*where + " contains U+0000", instance_of(req));
    auto echoed = utf8_length(*where).value_or(max_echoed_name + 1) <= max_echoed_name;
    return bad_body(echoed ? field_detail(*where, "must not contain U+0000")
                           : std::string{"a field must not contain U+0000"},
                    instance_of(req));
  }
  return parsed;
}

std::variant<std::string, response> required_string(const json& obj, std::string_view field,
                                                    size_t min_len, size_t max_len) {
  const auto* value = member(obj, field);
  if (value == nullptr)
    return bad_body(field_detail(field, "is required"));
  if (auto problem = check_string(*value, field, min_len, max_len))
    return std::move(*problem);
  return value->get<std::string>();
}

std::variant<std::optional<std::string>, response>
optional_string(const json& obj, std::string_view field, size_t min_len, size_t max_len) {
  const auto* value = member(obj, field);
  if (value == nullptr)
    return std::optional<std::string>{};
  if (auto problem = check_string(*value, field, min_len, max_len))
    return std::move(*problem);
  return std::optional<std::string>{value->get<std::string>()};
}

std::optional<response> reject_unknown_fields(const json& obj,
                                              std::initializer_list<std::string_view> known) {
  if (!obj.is_object())
    return std::nullopt;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const auto& name = it.key();
    bool listed = false;
    for (auto k : known)
      listed = listed || k == name;
    if (listed)
      continue;
    auto len = utf8_length(name);
    if (!len || *len > max_echoed_name)
      return bad_body("the request body has an unknown field");
    return bad_body(field_detail(name, "is not allowed here"));
  }
  return std::nullopt;
}

} // namespace troupe::http
