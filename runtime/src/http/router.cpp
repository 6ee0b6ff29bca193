#include "troupe/http/router.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include <boost/beast/http/field.hpp>

#include "troupe/http/json_body.hpp"
#include "troupe/http/response.hpp"
#include "troupe/http/url.hpp"

namespace troupe::http {

namespace {

/// A route as stored at the node its pattern ends on.
struct entry {
  handler fn;
  std::string pattern;
  std::vector<std::string> param_names; // in path order
};

std::vector<std::string_view> split_segments(std::string_view path) {
  // "/" has no segments; "/a/" has "a" and "" (a trailing slash is significant).
  std::vector<std::string_view> out;
  if (path == "/")
    return out;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      return out;
    path.remove_prefix(slash + 1);
  }
}

bool is_param(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

bool valid_param_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Decoded parameters become keys, SQL text and log lines; those need valid text without
// NUL, so one check here spares every handler (empty when the value is fine).
std::string parameter_problem(const std::string& value) {
  if (value.find('\0') != std::string::npos)
    return "must not contain U+0000";
  if (!utf8_length(value))
    return "is not valid UTF-8";
  return {};
}

std::string method_name(verb v) {
  return std::string{boost::beast::http::to_string(v)};
}

} // namespace

struct router::node {
  std::map<std::string, std::unique_ptr<node>, std::less<>> literals;
  std::unique_ptr<node> param;
  std::map<verb, entry> methods;
};

router::router() : root_(std::make_unique<node>()) {}

router::~router() = default;

void router::add(verb method, std::string pattern, handler h) {
  if (!h)
    throw std::invalid_argument("http route " + pattern + ": empty handler");
  if (pattern.empty() || pattern.front() != '/' || pattern.find_first_of("?#") != std::string::npos)
    throw std::invalid_argument("http route " + pattern + ": a pattern is an absolute path");
  auto* at = root_.get();
  std::vector<std::string> names;
  for (auto segment : split_segments(pattern)) {
    if (segment.empty())
      throw std::invalid_argument("http route " + pattern + ": empty segment");
    if (is_param(segment)) {
      auto name = std::string{segment.substr(1, segment.size() - 2)};
      if (!valid_param_name(name) || std::count(names.begin(), names.end(), name) > 0)
        throw std::invalid_argument("http route " + pattern + ": bad parameter {" + name + "}");
      names.push_back(std::move(name));
      if (!at->param)
        at->param = std::make_unique<node>();
      at = at->param.get();
    } else {
      if (segment.find_first_of("{}") != std::string_view::npos)
        throw std::invalid_argument("http route " + pattern + ": a parameter is a whole segment");
      auto i = at->literals.find(segment);
      if (i == at->literals.end())
        i = at->literals.emplace(std::string{segment}, std::make_unique<node>()).first;
      at = i->second.get();
    }
  }
  if (at->methods.count(method) > 0)
    throw std::logic_error("http route " + method_name(method) + " " + pattern +
                           " conflicts with " + at->methods[method].pattern);
  routes_.emplace_back(method_name(method), pattern);
  std::sort(routes_.begin(), routes_.end(), [](const auto& x, const auto& y) {
    return std::tie(x.second, x.first) < std::tie(y.second, y.first);
  });
  at->methods.emplace(method, entry{std::move(h), std::move(pattern), std::move(names)});
}

namespace {

struct candidate {
  const std::map<verb, entry>* methods;
  std::vector<std::string> values;
};

// Depth-first, literal before parameter: candidates come out most specific first.
template <class Node>
void collect(const Node& at, const std::vector<std::string>& segments, size_t i,
             std::vector<std::string>& values, std::vector<candidate>& out) {
  if (i == segments.size()) {
    if (!at.methods.empty())
      out.push_back(candidate{&at.methods, values});
    return;
  }
  if (auto lit = at.literals.find(segments[i]); lit != at.literals.end())
    collect(*lit->second, segments, i + 1, values, out);
  if (at.param && !segments[i].empty()) {
    values.push_back(segments[i]);
    collect(*at.param, segments, i + 1, values, out);
    values.pop_back();
  }
}

} // namespace

route_match router::match(verb method, std::string_view target) const {
  route_match result;
  auto path = target_path(target);
  if (!path.starts_with('/'))
    return result;
  std::vector<std::string> segments;
  for (auto raw : split_segments(path)) {
    auto decoded = percent_decode(raw);
    if (!decoded) {
      result.outcome = route_match::kind::bad_path;
      return result;
    }
    segments.push_back(std::move(*decoded));
  }
  std::vector<std::string> values;
  std::vector<candidate> candidates;
  collect(*root_, segments, 0, values, candidates);
  for (auto& c : candidates) {
    auto i = c.methods->find(method);
    // RFC 9110 §9.3.2: HEAD is GET without the body, which the connection leaves out.
    if (i == c.methods->end() && method == verb::head)
      i = c.methods->find(verb::get);
    if (i != c.methods->end()) {
      result.outcome = route_match::kind::found;
      result.target = &i->second.fn;
      result.route = i->second.pattern;
      for (size_t k = 0; k < c.values.size(); ++k) {
        auto& name = i->second.param_names[k];
        if (auto what = parameter_problem(c.values[k]); !what.empty() && result.invalid.empty()) {
          result.outcome = route_match::kind::bad_parameter;
          result.invalid = "path parameter '" + name + "' " + what;
        }
        result.params.emplace(name, std::move(c.values[k]));
      }
      if (result.outcome == route_match::kind::bad_parameter)
        result.params.clear();
      return result;
    }
  }
  if (candidates.empty())
    return result;
  std::set<std::string> allowed;
  for (auto& c : candidates)
    for (auto& [v, e] : *c.methods) {
      allowed.insert(method_name(v));
      if (v == verb::get)
        allowed.insert(method_name(verb::head));
    }
  result.outcome = route_match::kind::method_not_allowed;
  result.route = candidates.front().methods->begin()->second.pattern;
  for (auto& name : allowed)
    result.allow += (result.allow.empty() ? "" : ", ") + name;
  return result;
}

void router::dispatch(request req, responder res) const {
  auto m = match(req.method(), std_view(req.target()));
  dispatch(std::move(m), std::move(req), std::move(res));
}

void router::dispatch(route_match m, request req, responder res, trace_info trace,
                      std::string client) const {
  auto path = std::string{target_path(std_view(req.target()))};
  switch (m.outcome) {
  case route_match::kind::found: {
    auto& fn = *m.target;
    fn(request_context{std::move(req), std::move(m.params), std::move(m.route), std::move(trace),
                       std::move(client)},
       std::move(res));
    return;
  }
  case route_match::kind::not_found:
    res(problem_response(status::not_found, problem::not_found, "Not Found",
                         "no resource at this path", std::move(path)));
    return;
  case route_match::kind::method_not_allowed: {
    auto out = problem_response(
        status::method_not_allowed, problem::method_not_allowed, "Method Not Allowed",
        std::string{std_view(req.method_string())} + " is not allowed here; use " + m.allow,
        std::move(path));
    out.set(boost::beast::http::field::allow, m.allow);
    res(std::move(out));
    return;
  }
  case route_match::kind::bad_parameter:
    res(problem_response(status::bad_request, problem::bad_request, "Bad Request",
                         std::move(m.invalid)));
    return;
  case route_match::kind::bad_path:
    res(problem_response(status::bad_request, problem::bad_request, "Bad Request",
                         "the path has a malformed percent escape"));
    return;
  }
}

std::vector<std::pair<std::string, std::string>> router::routes() const {
  return routes_;
}

} // namespace troupe::http
