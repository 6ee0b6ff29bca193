#include "troupe/http/url.hpp"

namespace troupe::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string decode_lenient(std::string_view in) {
  if (auto out = percent_decode(in, true))
    return std::move(*out);
  return std::string{in};
}

} // namespace

std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    auto c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size())
        return std::nullopt;
      auto hi = hex_value(in[i + 1]);
      auto lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view target_path(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

std::string_view target_query(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return {};
  auto query = target.substr(q + 1);
  return query.substr(0, query.find('#'));
}

query_map parse_query(std::string_view target_or_query) {
  auto query = target_or_query.starts_with('/')
                   ? target_query(target_or_query)
                   : target_or_query.substr(0, target_or_query.find('#'));
  query_map out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    auto key = decode_lenient(pair.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::string{} : decode_lenient(pair.substr(eq + 1));
    out.try_emplace(std::move(key), std::move(value));
  }
  return out;
}

} // namespace troupe::http
