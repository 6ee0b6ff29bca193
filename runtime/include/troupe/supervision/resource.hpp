#pragma once

#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "troupe/supervision/spec.hpp"

namespace troupe::supervision {

/// Acquires a resource (a listening server, a pool) for one incarnation.
using acquire_fn = std::function<caf::expected<std::shared_ptr<void>>()>;

/// A worker that owns a non-actor resource: each start acquires it, and the actor
/// releases it when it exits, whatever the reason, so a restart never finds the old
/// one still holding its port or threads. A failed acquire is a failed start.
child_spec resource_child(std::string name, acquire_fn acquire,
                          caf::timespan shutdown_timeout = std::chrono::seconds(5));

} // namespace troupe::supervision
