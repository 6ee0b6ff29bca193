#pragma once

#include <string>

#include "troupe/http/message.hpp"

namespace troupe::http {

/// Appends the status line and the header fields of `res` to `out`, each line ending in
/// CRLF, without the blank line that ends the head.
///
/// The connection writes its response as one contiguous buffer it reuses from request to
/// request: one send, no per-request allocation, none of the serializer's buffer views.
void append_head(const response& res, std::string& out);

} // namespace troupe::http
