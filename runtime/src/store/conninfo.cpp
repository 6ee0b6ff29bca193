#include "store/conninfo.hpp"

#include <algorithm>

namespace troupe::store::detail {

std::string endpoint_of(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos)
    return "the configured database";
  auto rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?"));
  // Everything up to the last '@' is user and password.
  if (auto at = rest.rfind('@'); at != std::string::npos)
    rest = rest.substr(at + 1);
  if (rest.empty())
    rest = "localhost";
  // A bracketed IPv6 literal has colons of its own.
  auto colon = rest.rfind(':');
  auto bracket = rest.rfind(']');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket))
    rest += ":5432";
  return rest;
}

std::string with_connect_timeout(const std::string& url, std::chrono::milliseconds timeout) {
  auto seconds = std::max<long long>(1, (timeout.count() + 999) / 1000);
  auto param = "connect_timeout=" + std::to_string(seconds);
  if (url.find("://") == std::string::npos)
    return url + " " + param; // key=value form
  return url + (url.find('?') == std::string::npos ? "?" : "&") + param;
}

std::string short_reason(const std::string& what) {
  auto line = what.substr(0, what.find('\n'));
  // libpq says 'connection to server at "h", port p failed: REASON'; the endpoint is known.
  if (auto failed = line.find("failed: "); failed != std::string::npos)
    line = line.substr(failed + 8);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t'))
    line.pop_back();
  if (!line.empty() && line.front() >= 'A' && line.front() <= 'Z' &&
      (line.size() < 2 || (line[1] >= 'a' && line[1] <= 'z')))
    line.front() = static_cast<char>(line.front() - 'A' + 'a');
  return line.empty() ? "unknown reason" : line;
}

} // namespace troupe::store::detail
