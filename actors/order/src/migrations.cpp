#include "troupe/store/migrations.hpp"
#include "troupe/embedded/order_schema_001.hpp"
#include "troupe/embedded/order_schema_002.hpp"
#include "troupe/embedded/order_schema_003.hpp"
#include "troupe/order/orders.hpp"

namespace troupe::order {

std::vector<store::migration> order_migrations() {
  // Versions are global across domains: orders own 200-299.
  return {{201, "stock", std::string{embedded::order_schema_001}},
          {202, "orders", std::string{embedded::order_schema_002}},
          {203, "orders_hot", std::string{embedded::order_schema_003}}};
}

} // namespace troupe::order
