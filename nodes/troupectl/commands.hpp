#pragma once

#include <ostream>

#include "client.hpp"
#include "options.hpp"

namespace troupe::ctl {

/// The request a command sends (for `health`, the first of its two).
request request_for(const invocation& inv);

/// Runs `inv` through `send`: results to `out`, problems to `err` in one line each; returns
/// the exit code (see exit_code.hpp).
int run(const invocation& inv, const transport& send, std::ostream& out, std::ostream& err);

} // namespace troupe::ctl
