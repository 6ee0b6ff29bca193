#include "troupe/notification/consumer.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "troupe/core/error.hpp"

namespace troupe::notification {

namespace {

std::string field(const nlohmann::json& j, const char* name) {
  auto i = j.find(name);
  return i != j.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

} // namespace

std::optional<notice> notice_for(const events::event& e) {
  auto body = nlohmann::json::parse(e.payload_json, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return std::nullopt;
  notice n;
  n.event_id = e.event_id;
  n.user_id = field(body, "user_id");
  auto order = field(body, "order_id");
  if (e.type == "user.registered") {
    n.email = field(body, "email");
    n.channels = {channel::email};
    n.subject = "Welcome to Troupe";
    n.body = "Hello " + field(body, "display_name") + ", your account is ready.";
  } else if (e.type == "order.confirmed") {
    n.channels = {channel::email, channel::push};
    n.subject = "Order confirmed";
    n.body = "Your order " + order + " is confirmed.";
  } else if (e.type == "order.rejected") {
    n.channels = {channel::email, channel::sms};
    n.subject = "Order rejected";
    n.body = "Your order " + order + " could not be completed (" + field(body, "reason") + ").";
  } else if (e.type == "order.cancelled") {
    n.channels = {channel::email};
    n.subject = "Order cancelled";
    n.body = "Your order " + order + " is cancelled.";
  } else {
    return std::nullopt;
  }
  return n;
}

std::vector<std::string> notice_types() {
  return {"user.registered", "order.confirmed", "order.rejected", "order.cancelled"};
}

events::subscription notification_subscription(std::shared_ptr<notification_store> store) {
  events::subscription sub;
  sub.consumer = "notifications";
  sub.types = notice_types();
  sub.deliver = [store](caf::event_based_actor* self, const events::event& e, events::ack_fn ack) {
    auto n = notice_for(e);
    if (!n) {
      // A malformed event will not get better by retrying: say so and move on.
      spdlog::error("notifications: event {} ({}) has no usable payload", e.event_id, e.type);
      return ack({});
    }
    store->record(self, std::move(*n), [ack, id = e.event_id](caf::expected<size_t> created) {
      if (!created && is(created.error(), errc::invalid_argument)) {
        spdlog::error("notifications: event {} skipped: {}", id, describe(created.error()));
        return ack({});
      }
      ack(created ? caf::error{} : created.error());
    });
  };
  return sub;
}

} // namespace troupe::notification
