#pragma once

#include <vector>

#include "troupe/store/migrations.hpp"

namespace troupe::events {

/// Returns the outbox and consumer tables (migration versions 10-19, reserved for events).
std::vector<store::migration> outbox_migrations();

} // namespace troupe::events
