#pragma once

#include <memory>
#include <string>

#include "troupe/supervision/spec.hpp"
#include "troupe/user/routes.hpp"

namespace troupe::user {

/// A transient worker that makes sure `email` is an admin whose password is
/// `password`: it creates the user if absent and updates the password (and role)
/// if present, retrying with backoff while the store is unavailable, then exits.
supervision::child_spec admin_bootstrap_child(std::shared_ptr<const user_api> api,
                                              std::string email, std::string password);

} // namespace troupe::user
