// libFuzzer target: raw bytes → Beast request parser (the server's limits) → router with
// routes shaped like the real ones → JSON body and field helpers → responder. Checks that
// every parsed request gets exactly one well-formed response and nothing throws or leaks.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/write.hpp>
#include <caf/sec.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "troupe/auth/bearer.hpp"
#include "troupe/auth/jwt.hpp"
#include "troupe/core/error.hpp"
#include "troupe/http/admin_auth.hpp"
#include "troupe/http/error_mapping.hpp"
#include "troupe/http/json_body.hpp"
#include "troupe/http/response.hpp"
#include "troupe/http/router.hpp"
#include "troupe/http/server.hpp"

namespace {

using namespace troupe;
using http::status;
using http::verb;
using json = nlohmann::json;
namespace bhttp = boost::beast::http;

// Keep-alive connections carry several requests; a few per input exercise pipelining.
constexpr int max_requests_per_input = 8;

// A fixed clock keeps runs reproducible and lets a seed carry a token that stays valid.
const auto fuzz_now = std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}};

const auth::jwt_codec& tokens() {
  static const auth::jwt_codec codec{auth::jwt_config{"fuzz-secret-fuzz-secret-fuzz-sec"}};
  return codec;
}

[[noreturn]] void fail(const char* what, const http::response& res) {
  std::fprintf(stderr, "invariant violated: %s (status %u, body %.200s)\n", what, res.result_int(),
               res.body().c_str());
  std::abort();
}

// Answers the problem in `v`, or returns its value.
template <class T>
const T* value_or_answer(const std::variant<T, http::response>& v, http::responder& res) {
  if (const auto* problem = std::get_if<http::response>(&v)) {
    res(*problem);
    return nullptr;
  }
  return &std::get<T>(v);
}

std::string instance_of(const http::request_context& ctx) {
  return std::string{http::std_view(ctx.req.target()).substr(0, 256)};
}

json user_json(std::string_view id, std::string_view email, std::string_view name) {
  return {{"id", id},
          {"email", email},
          {"display_name", name},
          {"role", "user"},
          {"created_at", "2023-11-14T22:13:20.000Z"},
          {"updated_at", "2023-11-14T22:13:20.000Z"},
          {"version", 1}};
}

// The caller's claims, or the 401 already sent.
std::optional<auth::jwt_claims> authenticate(const http::request_context& ctx,
                                             http::responder& res) {
  auto token = auth::bearer_token(ctx.req);
  if (!token) {
    res(http::problem_from_error(make_error(errc::unauthenticated, "missing bearer token"),
                                 instance_of(ctx)));
    return std::nullopt;
  }
  auto claims = tokens().verify(*token, fuzz_now);
  if (!claims) {
    res(http::problem_from_error(claims.error(), instance_of(ctx)));
    return std::nullopt;
  }
  return std::move(*claims);
}

bool uuid_like(std::string_view id) {
  if (id.size() != 36)
    return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  }
  return true;
}

// Stands in for the entity's answer: the id's first hex digit picks an outcome, so every
// error mapping is reachable.
caf::error outcome_for(std::string_view id) {
  switch (id[0]) {
  case '1':
    return make_error(errc::no_such_record, "no such user");
  case '2':
    return make_error(errc::forbidden, "not your profile");
  case '3':
    return make_error(errc::version_conflict, "changed meanwhile");
  case '4':
    return make_error(errc::store_unavailable);
  case '5':
    return make_error(errc::store_timeout);
  case '6':
    return caf::make_error(caf::sec::request_timeout);
  case '7':
    return caf::make_error(caf::sec::request_receiver_down);
  case '8':
    return make_error(errc::store_failure, "internal detail");
  default:
    return {};
  }
}

void register_user(http::request_context ctx, http::responder res) {
  auto body = http::read_json_object(ctx.req);
  const auto* obj = value_or_answer(body, res);
  if (obj == nullptr)
    return;
  if (auto unknown = http::reject_unknown_fields(*obj, {"email", "password", "display_name"}))
    return res(std::move(*unknown));
  auto email = http::required_string(*obj, "email", 3, 254);
  auto password = http::required_string(*obj, "password", 8, 1024);
  auto name = http::required_string(*obj, "display_name", 1, 100);
  const auto* e = value_or_answer(email, res);
  const auto* p = e ? value_or_answer(password, res) : nullptr;
  const auto* n = p ? value_or_answer(name, res) : nullptr;
  if (n == nullptr)
    return;
  if (e->find('@') == std::string::npos)
    return res(http::problem_from_error(make_error(errc::invalid_argument, "email needs an @"),
                                        instance_of(ctx)));
  if (*e == "taken@example.com")
    return res(http::problem_from_error(make_error(errc::already_exists, "email taken"),
                                        instance_of(ctx)));
  auto out = http::json_response(status::created,
                                 user_json("00000000-0000-4000-8000-000000000000", *e, *n));
  out.set(bhttp::field::location, "/v1/users/00000000-0000-4000-8000-000000000000");
  res(std::move(out));
}

void login(http::request_context ctx, http::responder res) {
  auto body = http::read_json_object(ctx.req);
  const auto* obj = value_or_answer(body, res);
  if (obj == nullptr)
    return;
  auto email = http::required_string(*obj, "email", 1, 254);
  auto password = http::required_string(*obj, "password", 1, 1024);
  const auto* e = value_or_answer(email, res);
  const auto* p = e ? value_or_answer(password, res) : nullptr;
  if (p == nullptr)
    return;
  if (*p != "correct horse")
    return res(http::problem_from_error(make_error(errc::unauthenticated, "wrong credentials"),
                                        instance_of(ctx)));
  res(http::json_response(status::ok, {{"access_token", tokens().sign(*e, "user", fuzz_now)},
                                       {"token_type", "Bearer"},
                                       {"expires_in", tokens().ttl().count()}}));
}

void me(http::request_context ctx, http::responder res) {
  if (auto who = authenticate(ctx, res))
    res(http::json_response(status::ok, user_json(who->subject, "me@example.com", "me")));
}

// GET, PATCH and DELETE on one user share the checks of the id and the caller.
template <class Then>
void on_user(const http::request_context& ctx, http::responder res, Then then) {
  auto id = ctx.param("id");
  if (!uuid_like(id))
    return res(http::problem_from_error(make_error(errc::invalid_argument, "malformed user id"),
                                        instance_of(ctx)));
  if (!authenticate(ctx, res))
    return;
  if (auto err = outcome_for(id))
    return res(http::problem_from_error(err, instance_of(ctx)));
  then(id, std::move(res));
}

void get_user(http::request_context ctx, http::responder res) {
  on_user(ctx, std::move(res), [](std::string_view id, http::responder res) {
    res(http::json_response(status::ok, user_json(id, "u@example.com", "u")));
  });
}

void patch_user(http::request_context ctx, http::responder res) {
  // The body is checked before the caller, so unauthenticated inputs still reach the helpers.
  auto body = http::read_json_object(ctx.req);
  const auto* obj = value_or_answer(body, res);
  if (obj == nullptr)
    return;
  if (auto unknown = http::reject_unknown_fields(*obj, {"display_name", "password"}))
    return res(std::move(*unknown));
  auto name = http::optional_string(*obj, "display_name", 1, 100);
  auto password = http::optional_string(*obj, "password", 8, 1024);
  const auto* n = value_or_answer(name, res);
  const auto* p = n ? value_or_answer(password, res) : nullptr;
  if (p == nullptr)
    return;
  if (!*n && !*p)
    return res(http::problem_from_error(make_error(errc::invalid_argument, "nothing to change"),
                                        instance_of(ctx)));
  auto new_name = n->value_or("unchanged");
  on_user(ctx, std::move(res), [new_name](std::string_view id, http::responder res) {
    res(http::json_response(status::ok, user_json(id, "u@example.com", new_name)));
  });
}

void delete_user(http::request_context ctx, http::responder res) {
  on_user(ctx, std::move(res), [](std::string_view, http::responder res) {
    res(http::text_response(status::no_content, {}));
  });
}

const http::router& routes() {
  static http::router r;
  static const bool ready = [] {
    r.add(verb::get, "/healthz", [](http::request_context, http::responder res) {
      res(http::json_response(status::ok, {{"status", "ok"}}));
    });
    r.add(verb::get, "/readyz", [](http::request_context, http::responder res) {
      res(http::json_response(status::ok, {{"status", "ready"}}));
    });
    r.add(verb::get, "/metrics", [](http::request_context, http::responder res) {
      res(http::text_response(status::ok, "troupe_up 1\n", "text/plain; version=0.0.4"));
    });
    r.add(verb::get, "/admin/supervision",
          http::admin_only("admin-token", [](http::request_context, http::responder res) {
            res(http::json_response(status::ok, {{"name", "root"}}));
          }));
    r.add(verb::post, "/v1/users", register_user);
    r.add(verb::post, "/v1/auth/login", login);
    r.add(verb::get, "/v1/users/me", me);
    r.add(verb::get, "/v1/users/{id}", get_user);
    r.add(verb::patch, "/v1/users/{id}", patch_user);
    r.add(verb::delete_, "/v1/users/{id}", delete_user);
    return true;
  }();
  (void)ready;
  return r;
}

// Parses the next request off the front of `input`, as a keep-alive connection would.
std::optional<http::request> parse_one(std::string_view& input) {
  static const http::server_config limits{};
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(limits.header_limit));
  parser.body_limit(limits.body_limit);
  parser.eager(true);
  boost::system::error_code ec;
  while (!parser.is_done()) {
    auto used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
    input.remove_prefix(used);
    if (ec == bhttp::error::need_more && used > 0) {
      ec = {};
      continue;
    }
    if (ec == bhttp::error::need_more) {
      // All bytes are in: the peer closed the connection here.
      parser.put_eof(ec);
      if (ec || !parser.is_done())
        return std::nullopt;
      break;
    }
    if (ec || used == 0)
      return std::nullopt;
  }
  return parser.release();
}

void check_problem(const http::response& res) {
  auto body = json::parse(res.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object())
    fail("problem body is not a JSON object", res);
  auto type = body.find("type");
  if (type == body.end() || !type->is_string() ||
      type->get_ref<const std::string&>().rfind(http::problem_type_base, 0) != 0)
    fail("problem type is not a troupe problem URI", res);
  auto title = body.find("title");
  if (title == body.end() || !title->is_string() || title->get_ref<const std::string&>().empty())
    fail("problem has no title", res);
  auto code = body.find("status");
  if (code == body.end() || !code->is_number_unsigned() ||
      code->get<unsigned>() != res.result_int())
    fail("problem status differs from the response status", res);
  if (res.result_int() < 400)
    fail("problem with a success status", res);
  if (res.body().find("without producing a response") != std::string::npos)
    fail("a handler dropped its responder", res);
}

void check(const http::response& res) {
  auto code = res.result_int();
  if (code < 100 || code > 599 || bhttp::int_to_status(code) == bhttp::status::unknown)
    fail("invalid status", res);
  auto type = http::std_view(res[bhttp::field::content_type]);
  if (type == http::problem_content_type)
    check_problem(res);
  else if (type == "application/json" && !json::accept(res.body()))
    fail("JSON response does not parse", res);
  else if (code >= 400)
    fail("error without problem+json", res);
  if (code == 401 && res.find(bhttp::field::www_authenticate) == res.end())
    fail("401 without a challenge", res);
  if (code == 503 && res.find(bhttp::field::retry_after) == res.end())
    fail("503 without Retry-After", res);
  if (code == 405 && res.find(bhttp::field::allow) == res.end())
    fail("405 without Allow", res);
  if (code == 204 && !res.body().empty())
    fail("204 with a body", res);
  if (code != 204 &&
      http::std_view(res[bhttp::field::content_length]) != std::to_string(res.body().size()))
    fail("Content-Length differs from the body", res);
  std::ostringstream wire;
  wire << res;
  if (wire.str().rfind("HTTP/1.1 ", 0) != 0)
    fail("response does not serialize", res);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The 500 mapping logs its cause; millions of log lines would only slow the fuzzer down.
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // TROUPE_FUZZ_TRACE=1 prints each answer, e.g. to check what a new seed reaches.
  static const bool trace = std::getenv("TROUPE_FUZZ_TRACE") != nullptr;
  std::string_view input{reinterpret_cast<const char*>(data), size};
  for (int i = 0; i < max_requests_per_input && !input.empty(); ++i) {
    auto req = parse_one(input);
    if (!req)
      break;
    std::string target{http::std_view(req->target())};
    int answers = 0;
    std::optional<http::response> answer;
    {
      http::responder res{[&](http::response r) {
        ++answers;
        answer = std::move(r);
      }};
      routes().dispatch(std::move(*req), std::move(res));
    }
    if (answers != 1 || !answer) {
      std::fprintf(stderr, "invariant violated: %d responses to one request\n", answers);
      std::abort();
    }
    check(*answer);
    if (trace)
      std::fprintf(stderr, "%.80s -> %u\n", target.c_str(), answer->result_int());
  }
  return 0;
}
