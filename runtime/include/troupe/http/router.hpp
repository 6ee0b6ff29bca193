#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "troupe/http/handler.hpp"
#include "troupe/http/message.hpp"
#include "troupe/http/responder.hpp"

namespace troupe::http {

/// The outcome of looking up a method and target among the routes.
struct route_match {
  /// What the lookup found.
  enum class kind {
    /// A route matched; `target` is its handler.
    found,
    /// No pattern matches the path.
    not_found,
    /// A pattern matches the path, but not for this method; `allow` lists the methods.
    method_not_allowed,
    /// The path has a malformed percent escape.
    bad_path,
    /// A route matched, but a decoded path parameter holds U+0000 or invalid UTF-8;
    /// `invalid` says which.
    bad_parameter,
  };

  /// What the lookup found.
  kind outcome = kind::not_found;
  /// The handler to run (only for `found`); owned by the router.
  const handler* target = nullptr;
  /// The matched pattern, or "unmatched"; bounded, so fit for metric labels.
  std::string route = "unmatched";
  /// Decoded path parameters (only for `found`).
  std::unordered_map<std::string, std::string> params;
  /// Sorted, comma-separated allowed methods (only for `method_not_allowed`).
  std::string allow;
  /// What is wrong with which parameter (only for `bad_parameter`).
  std::string invalid;
};

/// Maps (method, path pattern) to handlers; patterns are literal and `{name}` segments.
///
/// A literal segment beats a parameter at the same position. When several patterns
/// match a path, the most specific one with the method wins; if none has it, the
/// answer is 405 listing the methods of all of them. HEAD runs the GET handler of a path
/// without a HEAD route of its own (the server sends no body). Set it up before serving:
/// `add` is not thread-safe, lookups are.
class router {
public:
  /// Creates an empty router.
  router();
  /// Destroys the routes.
  ~router();
  router(const router&) = delete;
  router& operator=(const router&) = delete;

  /// Adds a route; throws std::invalid_argument on a bad pattern, std::logic_error on a duplicate.
  void add(verb method, std::string pattern, handler h);

  /// Looks up `method` and the path of `target` (the query string is ignored).
  route_match match(verb method, std::string_view target) const;

  /// Runs the matching handler, or answers 404/405/400 problem+json itself; handlers never
  /// see a path parameter with U+0000 or invalid UTF-8.
  void dispatch(request req, responder res) const;

  /// Like `dispatch`, but with a lookup the caller already did (it wanted the route label),
  /// and the client's address for the handler.
  void dispatch(route_match m, request req, responder res, trace_info trace = {},
                std::string client = {}) const;

  /// Returns (METHOD, pattern) of every route, sorted by pattern then method.
  std::vector<std::pair<std::string, std::string>> routes() const;

private:
  struct node;
  std::unique_ptr<node> root_;
  std::vector<std::pair<std::string, std::string>> routes_;
};

} // namespace troupe::http
