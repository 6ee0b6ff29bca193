#pragma once

namespace troupe::ctl {

/// What troupectl's exit status tells a script; documented in --help and the README.
namespace exit_code {
/// The command did what was asked.
inline constexpr int ok = 0;
/// The server answered with an error status (other than 401 and 403).
inline constexpr int server_error = 1;
/// A flag or argument was wrong; nothing was sent.
inline constexpr int usage_error = 2;
/// The node could not be reached or did not answer in time.
inline constexpr int unreachable = 3;
/// The server refused the admin token (401 or 403).
inline constexpr int not_authorized = 4;
} // namespace exit_code

/// Maps an HTTP status to the exit code of a command that got it.
constexpr int exit_code_of(unsigned status) {
  if (status >= 200 && status < 300)
    return exit_code::ok;
  if (status == 401 || status == 403)
    return exit_code::not_authorized;
  return exit_code::server_error;
}

} // namespace troupe::ctl
