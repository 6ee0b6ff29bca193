#include "troupe/store/migrations.hpp"
#include "troupe/embedded/notification_schema_001.hpp"
#include "troupe/notification/store.hpp"

namespace troupe::notification {

std::vector<store::migration> notification_migrations() {
  // Versions are global across domains: notifications own 300-399.
  return {{301, "notifications", std::string{embedded::notification_schema_001}}};
}

} // namespace troupe::notification
