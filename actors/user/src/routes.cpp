// HTTP ↔ user entity. Handlers validate on the io thread (cheap), then hand the
// request to a short-lived actor that hashes on the blocking pool and talks to the
// entity; nothing here blocks an io thread.

#include "troupe/user/routes.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include <nlohmann/json.hpp>

#include "troupe/auth/bearer.hpp"
#include "troupe/auth/jwt.hpp"
#include "troupe/auth/password.hpp"
#include "troupe/auth/session.hpp"
#include "troupe/core/blocking_pool.hpp"
#include "troupe/core/clock.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/http/actor_bridge.hpp"
#include "troupe/http/error_mapping.hpp"
#include "troupe/http/json_body.hpp"
#include "troupe/http/response.hpp"
#include "troupe/http/router.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/placement/locator.hpp"
#include "troupe/supervision/name_registry.hpp"
#include "troupe/user/entity.hpp"

namespace troupe::user {

namespace {

using http::status;
using api_ptr = std::shared_ptr<const user_api>;

constexpr size_t max_email = 254;
constexpr size_t min_password = 8;
constexpr size_t max_password = 1024;
constexpr size_t max_display_name = 100;

/// The public view of a user: never the password hash.
nlohmann::json to_json(const user_record& r) {
  return {{"id", r.id},
          {"email", r.email},
          {"display_name", r.display_name},
          {"role", r.role},
          {"version", r.version},
          {"created_at", format_iso8601(r.created_at_ms)},
          {"updated_at", format_iso8601(r.updated_at_ms)}};
}

/// Trims and lower-cases; emails compare case-insensitively in practice.
std::string normalise_email(std::string email) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  email.erase(email.begin(), std::find_if(email.begin(), email.end(), not_space));
  email.erase(std::find_if(email.rbegin(), email.rend(), not_space).base(), email.end());
  std::transform(email.begin(), email.end(), email.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return email;
}

bool plausible_email(const std::string& email) {
  auto at = email.find('@');
  return at != std::string::npos && at > 0 && at + 1 < email.size() &&
         email.find('@', at + 1) == std::string::npos &&
         std::none_of(email.begin(), email.end(), [](unsigned char c) { return std::isspace(c); });
}

http::response bad_field(const std::string& detail, const std::string& instance) {
  return http::problem_response(status::bad_request, http::problem::bad_request,
                                "Invalid request body", detail, instance);
}

/// Why a genuine token no longer counts.
caf::error revoked() {
  return make_error(errc::unauthenticated,
                    "token revoked: its user was deleted or changed password");
}

/// The stamp of a published copy, computed by its first reader and shared by the rest.
const std::string& stamp_of(const user_api& api, const user_copy& copy) {
  std::call_once(copy.stamped,
                 [&] { copy.stamp = api.tokens->stamp_of(copy.record.password_hash); });
  return copy.stamp;
}

/// This node's copy of user `id`, if this node owns the user, its activation is here, and the
/// node's lease has held without a break since that activation loaded (see `snapshots`).
std::shared_ptr<const user_copy> local_copy(const user_api& api, const std::string& id) {
  if (api.snapshots)
    return api.snapshots->find(id, api.locator->tenure(entity_kind_name, id));
  return nullptr;
}

/// Whether a token with `claims` speaks for a user whose credential stamp is `stamp`;
/// a token without a stamp never does.
bool stands(const auth::jwt_claims& claims, const std::string& stamp) {
  return !claims.stamp.empty() && claims.stamp == stamp;
}

/// Calls `done` inside `self` with no error if `who`'s token still stands: from this node's
/// copy when it has one (no message), else from the user entity wherever it lives.
void confirm_session(const api_ptr& api, caf::event_based_actor* self, const auth::jwt_claims& who,
                     auth::session_check::verdict done) {
  if (auto copy = local_copy(*api, who.subject))
    return done(stands(who, stamp_of(*api, *copy)) ? caf::error{} : revoked());
  auto learn = [api, id = who.subject](std::string stamp) {
    if (api->stamps)
      api->stamps->put(id, std::move(stamp), stamp_cache::clock::now());
  };
  // Only agreement is taken from the cache: a token newer than what this node learned (a
  // login after a password change) is confirmed with the owner, never refused on old news.
  if (api->stamps)
    if (auto stamp = api->stamps->find(who.subject, stamp_cache::clock::now());
        stamp && stands(who, *stamp))
      return done(caf::error{});
  placement::ask_owner(
      self, api->locator, entity_kind_name, who.subject, api->request_timeout,
      std::make_tuple(fetch_atom::value),
      [api, who, done, learn](const user_record& r) {
        auto stamp = api->tokens->stamp_of(r.password_hash);
        learn(stamp);
        done(stands(who, stamp) ? caf::error{} : revoked());
      },
      [done, learn](const caf::error& err) {
        if (is(err, errc::no_such_record))
          learn("");
        done(is(err, errc::no_such_record) ? revoked() : err);
      },
      placement::retry_policy{true}, api->directory);
}

class user_session_check final : public auth::session_check {
public:
  explicit user_session_check(api_ptr api) : api_(std::move(api)) {}

  void confirm(caf::event_based_actor* self, const auth::jwt_claims& claims,
               verdict done) const override {
    confirm_session(api_, self, claims, std::move(done));
  }

private:
  api_ptr api_;
};

/// The 429 of a throttled login; the same for every email, known or not.
http::response too_many_attempts(std::chrono::milliseconds wait, const std::string& instance) {
  auto secs = std::max<int64_t>(std::chrono::ceil<std::chrono::seconds>(wait).count(), 1);
  auto out = http::problem_response(
      status::too_many_requests, http::problem::too_many_requests,
      "Too many attempts; retry later.",
      // The wait goes only in the header: a detail that varied would be one more signal.
      "too many login attempts; retry after the seconds in Retry-After", instance);
  out.set(boost::beast::http::field::retry_after, std::to_string(secs));
  return out;
}

/// Verified claims, or the 401 to send.
std::variant<auth::jwt_claims, http::response> authenticate(const user_api& api,
                                                            const http::request& req) {
  auto claims = auth::authenticate(*api.tokens, req);
  if (!claims)
    return http::problem_from_error(claims.error(), std::string{req.target()});
  return std::move(*claims);
}

/// Answers `err` as problem+json.
auto fail_with(http::shared_responder res, std::string instance) {
  return
      [res, instance](const caf::error& err) { (*res)(http::problem_from_error(err, instance)); };
}

/// Sends `msg` to user entity `id` and answers the resulting record with `code`.
template <class... Ts>
void ask_user(const api_ptr& api, caf::event_based_actor* self, http::shared_responder res,
              std::string instance, const std::string& id, status code, Ts... msg) {
  // A read may be sent again after its node went down mid-request; a write may not.
  placement::retry_policy policy{(std::is_same_v<Ts, fetch_atom> || ...)};
  placement::ask_owner(
      self, api->locator, entity_kind_name, id, api->request_timeout, std::make_tuple(msg...),
      [res, code, id](const user_record& r) {
        auto out = http::json_response(code, to_json(r));
        if (code == status::created)
          out.set(boost::beast::http::field::location, "/v1/users/" + id);
        (*res)(std::move(out));
      },
      fail_with(res, instance), policy, api->directory);
}

/// Runs Argon2id on the blocking pool, then `next(hash)` inside `self`.
template <class Next>
void hash_then(const api_ptr& api, caf::event_based_actor* self, http::shared_responder res,
               std::string instance, std::string password, Next next) {
  api->hashing->run<std::string>(
      self, [password = std::move(password)] { return auth::hash_password(password); },
      [res, instance, next](caf::expected<std::string> hash) mutable {
        if (!hash)
          return fail_with(res, instance)(hash.error());
        next(std::move(*hash));
      });
}

void register_user(const api_ptr& api, http::request_context ctx, http::responder res) {
  auto instance = std::string{ctx.req.target()};
  auto body = http::read_json_object(ctx.req);
  if (auto problem = http::first_problem(body))
    return res(std::move(*problem));
  auto& json = std::get<nlohmann::json>(body);
  auto email = http::required_string(json, "email", 3, max_email);
  auto password = http::required_string(json, "password", min_password, max_password);
  auto name = http::required_string(json, "display_name", 1, max_display_name);
  if (auto problem = http::first_problem(email, password, name))
    return res(std::move(*problem));
  user_record rec;
  rec.id = random_uuid();
  rec.email = normalise_email(std::get<std::string>(email));
  rec.display_name = std::get<std::string>(name);
  rec.role = "user";
  if (!plausible_email(rec.email))
    return res(bad_field("field 'email' must be an email address", instance));
  http::serve_from_actor(
      *api->system, std::move(res),
      [api, instance, rec, pw = std::get<std::string>(password)](
          caf::event_based_actor* self, http::shared_responder res) mutable {
        hash_then(api, self, res, instance, pw, [=](std::string hash) mutable {
          rec.password_hash = std::move(hash);
          ask_user(api, self, res, instance, rec.id, status::created, create_atom::value, rec);
        });
      },
      ctx.trace.log());
}

// A fixed hash verified when the email is unknown, so a miss costs as much as a
// wrong password and response times do not reveal which emails exist.
const std::string& decoy_hash() {
  static const std::string hash = [] {
    auto h = auth::hash_password("troupe-decoy-password");
    return h ? *h : std::string{};
  }();
  return hash;
}

void login(const api_ptr& api, http::request_context ctx, http::responder res) {
  auto instance = std::string{ctx.req.target()};
  auto body = http::read_json_object(ctx.req);
  if (auto problem = http::first_problem(body))
    return res(std::move(*problem));
  auto& json = std::get<nlohmann::json>(body);
  auto email = http::required_string(json, "email", 1, max_email);
  auto password = http::required_string(json, "password", 1, max_password);
  if (auto problem = http::first_problem(email, password))
    return res(std::move(*problem));
  auto account = normalise_email(std::get<std::string>(email));
  // Checked before any hashing: a refused attempt costs the server next to nothing.
  if (api->throttle)
    if (auto wait = api->throttle->acquire(account, ctx.client, rate_limiter::clock::now());
        wait.count() > 0)
      return res(too_many_attempts(wait, instance));
  // Only wrong passwords keep their attempt; a success or our own failure gives it back.
  auto give_back = [api, account, client = ctx.client] {
    if (api->throttle)
      api->throttle->refund(account, client, rate_limiter::clock::now());
  };
  http::serve_from_actor(
      *api->system, std::move(res),
      [api, instance, email = account, pw = std::get<std::string>(password),
       give_back](caf::event_based_actor* self, http::shared_responder res) {
        api->repo->find_by_email(self, email, [=](caf::expected<user_record> found) {
          if (!found && !is(found.error(), errc::no_such_record)) {
            give_back();
            return fail_with(res, instance)(found.error());
          }
          auto user = found ? std::optional<user_record>{*found} : std::nullopt;
          // The decoy is hashed on first use, so that too happens on the pool.
          api->hashing->run<bool>(
              self,
              [user, pw] {
                return caf::expected<bool>{
                    auth::verify_password(user ? user->password_hash : decoy_hash(), pw)};
              },
              [=](caf::expected<bool> ok) {
                if (!ok) {
                  give_back();
                  return fail_with(res, instance)(ok.error());
                }
                if (!*ok || !user)
                  return fail_with(res, instance)(
                      make_error(errc::unauthenticated, "wrong email or password"));
                give_back();
                auto token =
                    api->tokens->sign(user->id, user->role, std::chrono::system_clock::now(),
                                      api->tokens->stamp_of(user->password_hash));
                (*res)(
                    http::json_response(status::ok, {{"access_token", token},
                                                     {"token_type", "Bearer"},
                                                     {"expires_in", api->tokens->ttl().count()}}));
              });
        });
      },
      ctx.trace.log());
}

/// Who asks and on which user they may act.
struct grant {
  /// The bearer's verified claims (not yet confirmed against the user's current state).
  auth::jwt_claims who;
  /// The user acted on.
  std::string id;
};

/// The user id a request may act on (the token's own for an empty `id`), or the
/// 401/403/404 to send instead.
std::variant<grant, http::response> authorize(const user_api& api, const http::request_context& ctx,
                                              std::string id) {
  auto claims = authenticate(api, ctx.req);
  if (auto* problem = std::get_if<http::response>(&claims))
    return std::move(*problem);
  auto& who = std::get<auth::jwt_claims>(claims);
  if (id.empty())
    id = who.subject;
  if (!is_uuid(id))
    return http::problem_from_error(make_error(errc::no_such_record, "no such user"),
                                    std::string{ctx.req.target()});
  if (who.subject != id && who.role != "admin")
    return http::problem_from_error(
        make_error(errc::forbidden, "only the user or an admin may do this"),
        std::string{ctx.req.target()});
  return grant{std::move(who), std::move(id)};
}

/// Authorizes like `authorize`, then runs `then(self, res, id)` in a bridging actor once
/// the token is confirmed to still stand.
template <class Then>
void as_owner_or_admin(const api_ptr& api, const http::request_context& ctx, http::responder res,
                       std::string id, Then then) {
  auto allowed = authorize(*api, ctx, std::move(id));
  if (auto* problem = std::get_if<http::response>(&allowed))
    return res(std::move(*problem));
  http::serve_from_actor(
      *api->system, std::move(res),
      [api, then, g = std::get<grant>(allowed), instance = std::string{ctx.req.target()}](
          caf::event_based_actor* self, http::shared_responder res) {
        confirm_session(api, self, g.who, [=](const caf::error& err) {
          if (err)
            return fail_with(res, instance)(err);
          then(self, res, g.id);
        });
      },
      ctx.trace.log());
}

/// The public JSON of a published copy, rendered by its first reader.
const std::string& body_of(const user_copy& copy) {
  std::call_once(copy.rendered, [&] {
    copy.body = to_json(copy.record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  return copy.body;
}

void get_user(const api_ptr& api, http::request_context ctx, http::responder res, std::string id) {
  auto instance = std::string{ctx.req.target()};
  auto allowed = authorize(*api, ctx, std::move(id));
  if (auto* problem = std::get_if<http::response>(&allowed))
    return res(std::move(*problem));
  const auto& who = std::get<grant>(allowed).who;
  const auto& user_id = std::get<grant>(allowed).id;
  // An activation on this node published its committed state: answer right here, as long
  // as this node owns the user. An activation whose key moved away may still be on its way
  // out, and the owner may have written since. The reader's own copy (the usual case: a
  // user reading itself) also settles whether the token still stands.
  if (auto copy = local_copy(*api, user_id)) {
    auto reader = who.subject == user_id ? copy : local_copy(*api, who.subject);
    if (reader) {
      if (!stands(who, stamp_of(*api, *reader)))
        return res(http::problem_from_error(revoked(), instance));
      return res(http::text_response(status::ok, body_of(*copy), "application/json"));
    }
  }
  http::serve_from_actor(
      *api->system, std::move(res),
      [api, instance, who, user_id](caf::event_based_actor* self, http::shared_responder res) {
        if (who.subject != user_id)
          return confirm_session(api, self, who, [=](const caf::error& err) {
            if (err)
              return fail_with(res, instance)(err);
            ask_user(api, self, res, instance, user_id, status::ok, fetch_atom::value);
          });
        // Reading oneself: the one fetch answers and settles the token.
        placement::ask_owner(
            self, api->locator, entity_kind_name, user_id, api->request_timeout,
            std::make_tuple(fetch_atom::value),
            [api, res, instance, who](const user_record& r) {
              if (!stands(who, api->tokens->stamp_of(r.password_hash)))
                return fail_with(res, instance)(revoked());
              (*res)(http::json_response(status::ok, to_json(r)));
            },
            [res, instance](const caf::error& err) {
              fail_with(res, instance)(is(err, errc::no_such_record) ? revoked() : err);
            },
            placement::retry_policy{true}, api->directory);
      },
      ctx.trace.log());
}

void patch_user(const api_ptr& api, http::request_context ctx, http::responder res) {
  auto instance = std::string{ctx.req.target()};
  auto body = http::read_json_object(ctx.req);
  if (auto problem = http::first_problem(body))
    return res(std::move(*problem));
  auto& json = std::get<nlohmann::json>(body);
  auto name = http::optional_string(json, "display_name", 1, max_display_name);
  auto password = http::optional_string(json, "password", min_password, max_password);
  if (auto problem = http::first_problem(name, password))
    return res(std::move(*problem));
  auto new_name = std::get<std::optional<std::string>>(name);
  auto new_password = std::get<std::optional<std::string>>(password);
  if (!new_name && !new_password)
    return res(bad_field("give 'display_name', 'password' or both", instance));
  as_owner_or_admin(
      api, ctx, std::move(res), std::string{ctx.param("id")},
      [api, instance, new_name, new_password](caf::event_based_actor* self,
                                              http::shared_responder res, const std::string& id) {
        user_patch patch;
        patch.set_display_name = new_name.has_value();
        patch.display_name = new_name.value_or("");
        if (!new_password)
          return ask_user(api, self, res, instance, id, status::ok, update_atom::value, patch);
        hash_then(api, self, res, instance, *new_password, [=](std::string hash) mutable {
          patch.set_password_hash = true;
          patch.password_hash = std::move(hash);
          ask_user(api, self, res, instance, id, status::ok, update_atom::value, patch);
        });
      });
}

void delete_user(const api_ptr& api, http::request_context ctx, http::responder res) {
  auto instance = std::string{ctx.req.target()};
  as_owner_or_admin(
      api, ctx, std::move(res), std::string{ctx.param("id")},
      [api, instance](caf::event_based_actor* self, http::shared_responder res,
                      const std::string& id) {
        placement::ask_owner(
            self, api->locator, entity_kind_name, id, api->request_timeout,
            std::make_tuple(remove_atom::value),
            [res](bool) { (*res)(http::text_response(status::no_content, {}, "text/plain")); },
            fail_with(res, instance), placement::retry_policy{}, api->directory);
      });
}

} // namespace

std::shared_ptr<const auth::session_check> make_session_check(std::shared_ptr<const user_api> api) {
  return std::make_shared<user_session_check>(std::move(api));
}

void add_user_routes(http::router& routes, std::shared_ptr<const user_api> api) {
  using http::verb;
  routes.add(verb::post, "/v1/users", [api](http::request_context ctx, http::responder res) {
    register_user(api, std::move(ctx), std::move(res));
  });
  routes.add(verb::post, "/v1/auth/login", [api](http::request_context ctx, http::responder res) {
    login(api, std::move(ctx), std::move(res));
  });
  routes.add(verb::get, "/v1/users/me", [api](http::request_context ctx, http::responder res) {
    get_user(api, std::move(ctx), std::move(res), {});
  });
  routes.add(verb::get, "/v1/users/{id}", [api](http::request_context ctx, http::responder res) {
    auto id = std::string{ctx.param("id")};
    get_user(api, std::move(ctx), std::move(res), std::move(id));
  });
  routes.add(verb::patch, "/v1/users/{id}", [api](http::request_context ctx, http::responder res) {
    patch_user(api, std::move(ctx), std::move(res));
  });
  routes.add(verb::delete_, "/v1/users/{id}",
             [api](http::request_context ctx, http::responder res) {
               delete_user(api, std::move(ctx), std::move(res));
             });
}

} // namespace troupe::user
