#include "http/wire.hpp"

#include <charconv>

namespace troupe::http {

void append_head(const response& res, std::string& out) {
  out.append(res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  char code[8];
  auto end = std::to_chars(code, code + sizeof code, res.result_int()).ptr;
  out.append(code, end).append(1, ' ').append(std_view(res.reason())).append("\r\n");
  for (const auto& field : res)
    out.append(std_view(field.name_string()))
        .append(": ")
        .append(std_view(field.value()))
        .append("\r\n");
}

} // namespace troupe::http
