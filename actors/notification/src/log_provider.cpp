#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "providers.hpp"

namespace troupe::notification {

namespace {

// Quoted and escaped, so a multi-line or odd body still makes exactly one log line.
std::string quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// For development and demos: the message is visible in the node's log and nothing leaves.
class log_provider final : public provider {
public:
  void send(const delivery& d, delivery_callback done) override {
    spdlog::info("notification: {} to {} subject={} body={} (notification {}, event {}, user {}, "
                 "attempt {})",
                 to_string(d.channel), quoted(d.recipient), quoted(d.subject), quoted(d.body),
                 d.notification_id, d.event_id, d.user_id, d.attempt);
    done(caf::error{});
  }
};

} // namespace

std::shared_ptr<provider> make_log_provider() {
  return std::make_shared<log_provider>();
}

} // namespace troupe::notification
