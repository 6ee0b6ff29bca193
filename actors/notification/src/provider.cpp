#include "troupe/notification/provider.hpp"

#include "providers.hpp"
#include "troupe/core/error.hpp"

namespace troupe::notification {

caf::expected<std::shared_ptr<provider>> make_provider(const provider_config& cfg) {
  if (cfg.kind == "log")
    return make_log_provider();
  if (cfg.kind == "webhook") {
    if (cfg.webhook_url.empty())
      return make_error(errc::invalid_argument, "the webhook provider needs a URL");
    return make_webhook_provider(cfg.webhook_url, cfg.timeout);
  }
  return make_error(errc::invalid_argument,
                    "unknown notification provider '" + cfg.kind + "' (expected log or webhook)");
}

} // namespace troupe::notification
