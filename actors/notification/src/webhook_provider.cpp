#include <algorithm>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "providers.hpp"
#include "troupe/chaos/faults.hpp"
#include "troupe/core/error.hpp"
#include "troupe/http/client.hpp"
#include "troupe/observability/log_context.hpp"

namespace troupe::notification {

namespace {

// The name chaos faults address this provider by (`dependency_slow` / `dependency_fail`).
constexpr std::string_view dependency_name = "webhook";

// Enough of a refusal's body to say why in a log line, never a whole page.
constexpr size_t excerpt_limit = 200;

std::string payload(const delivery& d) {
  nlohmann::json j{
      {"notification_id", d.notification_id},
      {"event_id", d.event_id},
      {"user_id", d.user_id},
      {"channel", to_string(d.channel)},
      {"recipient", d.recipient},
      {"subject", d.subject},
      {"body", d.body},
      {"attempt", d.attempt},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string excerpt(const std::string& body) {
  auto out = body.substr(0, excerpt_limit);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }, ' ');
  return out;
}

class webhook_provider final : public provider {
public:
  webhook_provider(std::unique_ptr<http::client> cli, std::string url, std::string where,
                   std::chrono::milliseconds timeout)
      : client_(std::move(cli)), url_(std::move(url)), where_(std::move(where)), timeout_(timeout) {
  }

  void send(const delivery& d, delivery_callback done) override {
    // The receiver continues the trace of the work that sent the delivery, or a new one; the
    // call is a span of its own.
    auto trace = observability::current_log_context().trace;
    if (!trace.valid())
      trace = observability::new_trace();
    auto fault = chaos::faults::check_dependency(dependency_name);
    if (fault.fail) {
      done(make_error(errc::dependency_failed, "webhook " + where_ + " failed (chaos fault " +
                                                   std::to_string(fault.fault_id) + ")"));
      return;
    }
    client_->post(
        url_, payload(d), timeout_,
        [done = std::move(done), where = where_](caf::expected<http::client_response> res) {
          if (!res) {
            done(std::move(res.error()));
          } else if (res->status >= 200 && res->status < 300) {
            done(caf::error{});
          } else {
            auto why = "webhook " + where + " answered " + std::to_string(res->status);
            if (!res->body.empty())
              why += ": " + excerpt(res->body);
            done(make_error(errc::io_failure, std::move(why)));
          }
        },
        {{"traceparent", trace.traceparent(observability::new_span_id())}}, fault.delay);
  }

private:
  std::unique_ptr<http::client> client_;
  std::string url_;
  // Host and port only: the URL's path may hold a secret and errors end up in logs.
  std::string where_;
  std::chrono::milliseconds timeout_;
};

} // namespace

caf::expected<std::shared_ptr<provider>> make_webhook_provider(const std::string& url,
                                                               std::chrono::milliseconds timeout) {
  auto parsed = http::parse_http_url(url);
  if (!parsed)
    return std::move(parsed.error());
  if (timeout <= std::chrono::milliseconds::zero())
    return make_error(errc::invalid_argument, "the webhook timeout must be positive");
  auto cli = http::client::start();
  if (!cli)
    return std::move(cli.error());
  auto where =
      parsed->host.find(':') == std::string::npos ? parsed->host : "[" + parsed->host + "]";
  where += ":" + std::to_string(parsed->port);
  return std::make_shared<webhook_provider>(std::move(*cli), url, std::move(where), timeout);
}

} // namespace troupe::notification
