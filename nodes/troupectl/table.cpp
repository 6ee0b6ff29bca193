#include "table.hpp"

#include <algorithm>

namespace troupe::ctl {

size_t display_width(const std::string& text) {
  // Continuation bytes (10xxxxxx) belong to the code point before them.
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

table::table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void table::add(std::vector<std::string> row) {
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

std::string table::render() const {
  std::vector<size_t> widths;
  for (auto& h : headers_)
    widths.push_back(display_width(h));
  for (auto& row : rows_)
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0)
        text.append(2, ' ');
      text += cells[i];
      if (i + 1 < cells.size())
        text.append(widths[i] - display_width(cells[i]), ' ');
    }
    while (!text.empty() && text.back() == ' ')
      text.pop_back();
    out += text + '\n';
  };
  line(headers_);
  for (auto& row : rows_)
    line(row);
  return out;
}

} // namespace troupe::ctl
