#pragma once

#include <string>
#include <vector>

namespace troupe::ctl {

/// Rows of text under a header, printed in aligned columns.
class table {
public:
  /// A table with these column headers.
  explicit table(std::vector<std::string> headers);

  /// Appends a row; missing cells print empty, extra cells are dropped.
  void add(std::vector<std::string> row);

  /// Whether no row was added.
  bool empty() const noexcept { return rows_.empty(); }

  /// The header and the rows, columns two spaces apart, each line ending in '\n' and
  /// without trailing blanks.
  std::string render() const;

private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

/// The width of `text` on a terminal, counting each UTF-8 code point as one column.
size_t display_width(const std::string& text);

} // namespace troupe::ctl
