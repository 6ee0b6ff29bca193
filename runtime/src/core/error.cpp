#include "troupe/core/error.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

#include <iterator>

namespace troupe {

namespace {

// Indexed by code - 1; keep in declaration order.
constexpr const char* errc_names[] = {
    "escalated",
    "start_failed",
    "restarting",
    "not_found",
    "shutting_down",
    "invalid_argument",
    "io_failure",
    "store_unavailable",
    "store_timeout",
    "store_failure",
    "version_conflict",
    "already_exists",
    "no_such_record",
    "overloaded",
    "unauthenticated",
    "forbidden",
    "dependency_unavailable",
    "dependency_failed",
    "payment_declined",
    "out_of_stock",
    "invalid_state",
    "idempotency_mismatch",
    "timeout",
    "node_down",
    "not_settled",
};

} // namespace

std::string to_string(errc x) {
  auto i = static_cast<size_t>(x) - 1;
  return i < std::size(errc_names) ? errc_names[i] : "unknown";
}

caf::error make_error(errc x, std::string detail) {
  if (detail.empty())
    return caf::error{static_cast<uint8_t>(x), errc_category};
  return caf::error{static_cast<uint8_t>(x), errc_category, caf::make_message(std::move(detail))};
}

caf::error make_error(errc x, std::string detail, caf::timespan retry_after) {
  return caf::error{static_cast<uint8_t>(x), errc_category,
                    caf::make_message(std::move(detail), retry_after)};
}

std::optional<caf::timespan> retry_after_of(const caf::error& err) {
  // Like category(), context() is only safe to call on a non-empty error.
  if (!err)
    return std::nullopt;
  const auto& ctx = err.context();
  if (ctx.size() == 2 && ctx.match_element<caf::timespan>(1))
    return ctx.get_as<caf::timespan>(1);
  return std::nullopt;
}

bool is(const caf::error& err, errc x) {
  return err.category() == errc_category && err.code() == static_cast<uint8_t>(x);
}

namespace {

std::string detail_of(const caf::message& ctx) {
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  // A retry hint travels beside the detail; it is for machines (Retry-After), not for the text.
  if (ctx.size() == 2 && ctx.match_element<std::string>(0) && ctx.match_element<caf::timespan>(1))
    return ctx.get_as<std::string>(0);
  return ctx.empty() ? std::string{} : to_string(ctx);
}

} // namespace

std::string describe(const caf::error& err) {
  if (!err)
    return "none";
  std::string result;
  if (err.category() == errc_category)
    result = to_string(static_cast<errc>(err.code()));
  else if (err.category() == caf::atom("system"))
    result = to_string(static_cast<caf::sec>(err.code()));
  else if (err.category() == caf::atom("exit"))
    result = to_string(static_cast<caf::exit_reason>(err.code()));
  else
    result = to_string(err.category()) + "/" + std::to_string(err.code());
  if (auto detail = detail_of(err.context()); !detail.empty())
    result += ": " + detail;
  return result;
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(errc_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
    auto text = to_string(static_cast<errc>(code));
    if (auto detail = detail_of(ctx); !detail.empty())
      text += ": " + detail;
    return text;
  });
}

} // namespace troupe
