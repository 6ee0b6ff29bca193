#include "troupe/chaos/routes.hpp"

#include <csignal>
#include <thread>

#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "actions.hpp"
#include "troupe/chaos/json.hpp"
#include "troupe/chaos/registry.hpp"
#include "troupe/core/error.hpp"
#include "troupe/http/actor_bridge.hpp"
#include "troupe/http/admin_auth.hpp"
#include "troupe/http/json_body.hpp"
#include "troupe/http/response.hpp"
#include "troupe/http/router.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::chaos {

namespace {

using http::status;

// The wait before a crash, so the 201 leaves first.
constexpr auto min_crash_delay = std::chrono::milliseconds{100};

http::response bad_request(std::string detail) {
  return http::problem_response(status::bad_request, http::problem::bad_request, "Invalid fault",
                                std::move(detail));
}

// The error's own text without its code, so a field name leads the detail.
std::string detail_of(const caf::error& err) {
  auto text = describe(err);
  auto code = to_string(static_cast<errc>(err.code()));
  if (err.category() == errc_category && text.rfind(code + ": ", 0) == 0)
    return text.substr(code.size() + 2);
  return text;
}

http::response created(const fault_view& f, nlohmann::json extra = nlohmann::json::object()) {
  auto body = to_json(f);
  body.update(extra);
  return http::json_response(status::created, body);
}

void crash_later(const chaos_context& ctx, const fault_view& f) {
  auto wait = std::max(f.spec.delay, min_crash_delay);
  spdlog::warn("chaos: fault {} crashes this node in {} ms", f.id, wait.count());
  std::thread([wait, crash = ctx.crash] {
    std::this_thread::sleep_for(wait);
    if (crash)
      crash();
    else
      ::kill(::getpid(), SIGKILL);
  }).detach();
}

// A one-shot fault acts from a short-lived actor; a target that is not there takes the fault
// back and answers why.
void act_then_answer(std::shared_ptr<const chaos_context> ctx, fault_view f, http::responder res) {
  http::serve_from_actor(
      *ctx->system, std::move(res),
      [ctx, f](caf::event_based_actor* self, http::shared_responder res) {
        auto fail = [ctx, f, res](const caf::error& err) {
          ctx->faults->remove(f.id);
          auto field = f.spec.type == fault_type::kill_actor ? "path: " : "match: ";
          (*res)(bad_request(field + detail_of(err)));
        };
        if (f.spec.type == fault_type::kill_entity) {
          detail::kill_entity(self, *ctx->names, f.spec.match.kind, f.spec.match.key,
                              ctx->ask_timeout, [ctx, f, res, fail](caf::error err, bool killed) {
                                if (err)
                                  return fail(err);
                                if (killed)
                                  ctx->faults->count_hit(f.id);
                                auto v = f;
                                v.hits = killed ? 1 : 0;
                                (*res)(created(v, {{"killed", killed}}));
                              });
          return;
        }
        detail::kill_actor(self, *ctx->names, f.spec.path, ctx->ask_timeout,
                           [ctx, f, res, fail](caf::error err) {
                             if (err)
                               return fail(err);
                             ctx->faults->count_hit(f.id);
                             auto v = f;
                             v.hits = 1;
                             (*res)(created(v, {{"killed", true}}));
                           });
      });
}

void create(std::shared_ptr<const chaos_context> ctx, http::request_context rc,
            http::responder res) {
  auto body = http::read_json_object(rc.req);
  if (auto* problem = std::get_if<http::response>(&body))
    return res(std::move(*problem));
  auto spec = parse_fault(std::get<nlohmann::json>(body));
  if (auto* why = std::get_if<std::string>(&spec))
    return res(bad_request(*why));
  auto added = ctx->faults->add(std::get<fault_spec>(std::move(spec)));
  if (!added) {
    if (is(added.error(), errc::overloaded))
      return res(http::problem_response(status::conflict, http::problem::conflict,
                                        "Too many faults", detail_of(added.error())));
    return res(bad_request(detail_of(added.error())));
  }
  if (ctx->names)
    wake_sweeper(*ctx->names);
  switch (added->spec.type) {
  case fault_type::crash_node:
    ctx->faults->count_hit(added->id);
    res(created(*added));
    crash_later(*ctx, *added);
    return;
  case fault_type::kill_entity:
  case fault_type::kill_actor:
    act_then_answer(ctx, *added, std::move(res));
    return;
  default:
    res(created(*added));
  }
}

void list(const chaos_context& ctx, http::responder res) {
  auto faults = nlohmann::json::array();
  for (const auto& f : ctx.faults->list())
    faults.push_back(to_json(f));
  res(http::json_response(status::ok, {{"faults", std::move(faults)}}));
}

void remove(const chaos_context& ctx, std::string_view id, http::responder res) {
  uint64_t n = 0;
  bool digits = !id.empty() && id.size() <= 19;
  for (auto c : id) {
    digits = digits && c >= '0' && c <= '9';
    if (digits)
      n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!digits || !ctx.faults->remove(n))
    return res(http::problem_response(status::not_found, http::problem::not_found, "No such fault",
                                      "no active fault has id '" + std::string{id.substr(0, 32)} +
                                          "' (it may have expired)"));
  res(http::text_response(status::no_content, {}, "text/plain"));
}

// Guards `inner` with the admin token when chaos is on; answers 404 naming the switch when off.
http::handler guarded(const std::shared_ptr<const chaos_context>& ctx, http::handler inner) {
  if (!ctx->faults)
    return [detail = ctx->disabled_detail](http::request_context, http::responder res) {
      res(http::problem_response(status::not_found, http::problem::not_found, "Chaos is off",
                                 detail));
    };
  return http::admin_only(ctx->admin_token, std::move(inner));
}

} // namespace

void add_chaos_routes(http::router& routes, chaos_context ctx) {
  auto shared = std::make_shared<const chaos_context>(std::move(ctx));
  routes.add(http::verb::post, "/admin/chaos/faults",
             guarded(shared, [shared](http::request_context rc, http::responder res) {
               create(shared, std::move(rc), std::move(res));
             }));
  routes.add(http::verb::get, "/admin/chaos/faults",
             guarded(shared, [shared](http::request_context, http::responder res) {
               list(*shared, std::move(res));
             }));
  routes.add(http::verb::delete_, "/admin/chaos/faults/{id}",
             guarded(shared, [shared](http::request_context rc, http::responder res) {
               remove(*shared, rc.param("id"), std::move(res));
             }));
  routes.add(http::verb::post, "/admin/chaos/reset",
             guarded(shared, [shared](http::request_context, http::responder res) {
               auto n = shared->faults->reset();
               res(http::json_response(status::ok, {{"removed", n}}));
             }));
}

} // namespace troupe::chaos
