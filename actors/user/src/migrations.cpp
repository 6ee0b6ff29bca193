#include "troupe/store/migrations.hpp"
#include "troupe/embedded/user_schema_001.hpp"
#include "troupe/user/repository.hpp"

namespace troupe::user {

std::vector<store::migration> user_migrations() {
  // Versions are global across domains: users own 100-199.
  return {{101, "users", std::string{embedded::user_schema_001}}};
}

} // namespace troupe::user
