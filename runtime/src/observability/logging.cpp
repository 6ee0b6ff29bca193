#include "troupe/observability/logging.hpp"

#include <chrono>
#include <ctime>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "troupe/observability/log_context.hpp"

namespace troupe::observability {

namespace {

// spdlog's pattern language cannot escape a message for JSON, so JSON lines get
// their own formatter: one object per line, message escaped by nlohmann.
class json_formatter final : public spdlog::formatter {
public:
  explicit json_formatter(std::string node) : node_(std::move(node)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto since_epoch = msg.time.time_since_epoch();
    auto secs = duration_cast<seconds>(since_epoch);
    auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
    std::time_t t = secs.count();
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[32];
    auto n = std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(ts + n, sizeof(ts) - n, ".%03dZ", static_cast<int>(millis));
    nlohmann::json line{
        {"ts", ts},
        {"level", spdlog::level::to_string_view(msg.level).data()},
        {"node", node_},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    if (msg.logger_name.size() > 0)
      line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    if (auto& ctx = current_log_context(); ctx.trace.valid()) {
      if (!ctx.request_id.empty())
        line["request_id"] = ctx.request_id;
      line["trace_id"] = ctx.trace.trace_id();
    }
    auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    dest.append(text.data(), text.data() + text.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>(node_);
  }

private:
  std::string node_;
};

// `%*` in the text pattern: " [req=… trace=…]" while a request is being served; " [trace=…]"
// on a node the request reached through another.
class context_flag final : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    auto& ctx = current_log_context();
    if (!ctx.trace.valid())
      return;
    // Appended piecewise: this runs for every line, and a trace id outgrows a short string.
    char hex[32];
    ctx.trace.trace_hex(hex);
    auto put = [&dest](std::string_view s) { dest.append(s.data(), s.data() + s.size()); };
    if (!ctx.request_id.empty()) {
      put(" [req=");
      put(ctx.request_id);
      put(" trace=");
    } else {
      put(" [trace=");
    }
    put(std::string_view{hex, sizeof(hex)});
    put("]");
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<context_flag>();
  }
};

} // namespace

std::optional<log_format> parse_log_format(std::string_view name) {
  if (name == "text")
    return log_format::text;
  if (name == "json")
    return log_format::json;
  return std::nullopt;
}

bool is_log_level(std::string_view name) {
  auto lvl = spdlog::level::from_str(std::string{name});
  // from_str maps unknown names to `off`; only "off" itself may mean off.
  return lvl != spdlog::level::off || name == "off";
}

void setup_logging(std::string_view level, log_format format, const std::string& node_name) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("", sink);
  if (format == log_format::json)
    logger->set_formatter(std::make_unique<json_formatter>(node_name));
  else {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<context_flag>('*').set_pattern("%Y-%m-%d %H:%M:%S.%e %-5l [" + node_name +
                                                       "]%* %v");
    logger->set_formatter(std::move(formatter));
  }
  logger->set_level(spdlog::level::from_str(std::string{level}));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

} // namespace troupe::observability
