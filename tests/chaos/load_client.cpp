#include "load_client.hpp"

#include <algorithm>
#include <thread>

#include "json_fields.hpp"
#include "profile_seq.hpp"

namespace troupe::chaos_harness {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr auto request_timeout = 3s;
const std::string password = "chaos-password-1";

json parse(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

} // namespace

load_client::load_client(load_state& state, int index, std::uint64_t seed)
    : state_(state), index_(index), rng_(seed) {
  for (const auto& n : state_.cfg().nodes)
    sessions_.push_back(std::make_unique<http_session>(n.host, n.port));
}

std::vector<operation> load_client::operations() const {
  std::lock_guard guard{ops_mtx_};
  return ops_;
}

load_client::answer load_client::send(const std::string& kind, const std::string& key,
                                      const std::string& method, const std::string& target,
                                      const headers& hdrs, const std::string& body, int attempt,
                                      json detail) {
  auto node = state_.pick_node(rng_);
  operation op;
  op.kind = kind;
  op.node = state_.cfg().nodes[node].name;
  op.key = key;
  op.attempt = attempt;
  op.sent = state_.now();
  auto got = sessions_[node]->exchange(method, target, hdrs, body, request_timeout);
  op.answered = state_.now();
  op.status = got.status;
  if (got.connect_failed)
    state_.avoid(node);
  answer out;
  out.status = got.status;
  out.body = parse(got.body);
  if (got.status == 0)
    detail["error"] = got.error;
  else if (got.status >= 400)
    detail["problem"] = text_field(out.body, "type");
  op.detail = std::move(detail);
  bool failed = got.status == 0 || got.status >= 500;
  state_.count(op.sent, failed);
  failed_last_ = failed;
  std::lock_guard guard{ops_mtx_};
  out.op = ops_.size();
  ops_.push_back(std::move(op));
  return out;
}

void load_client::amend(std::size_t op, const json& more, const std::string& key) {
  std::lock_guard guard{ops_mtx_};
  for (const auto& [k, v] : more.items())
    ops_[op].detail[k] = v;
  if (!key.empty())
    ops_[op].key = key;
}

void load_client::backoff(int attempt) {
  auto base = std::min<std::int64_t>(2000, 100LL << std::min(attempt - 1, 5));
  auto jitter = std::uniform_int_distribution<std::int64_t>{0, base / 2}(rng_);
  std::this_thread::sleep_for(std::chrono::milliseconds(base + jitter));
}

void load_client::think() {
  // A client that keeps failing slows down, so a cluster that is all down is not spun on.
  if (failed_last_)
    failure_pause_ = std::min<std::chrono::milliseconds>(1s, std::max(50ms, failure_pause_ * 2));
  else
    failure_pause_ = 0ms;
  auto mean = state_.cfg().think.count();
  auto pause =
      std::uniform_int_distribution<std::int64_t>{0, 2 * std::max<std::int64_t>(mean, 0)}(rng_);
  std::this_thread::sleep_for(std::chrono::milliseconds(pause) + failure_pause_);
}

load_client::headers load_client::auth(const pooled_user& u) const {
  return {{"Authorization", "Bearer " + u.token()}};
}

bool load_client::login(pooled_user& u) {
  auto body = json{{"email", u.email}, {"password", u.password}}.dump();
  for (int attempt = 1; attempt <= 4 && !stopping(); ++attempt) {
    auto res = send("login", u.id.empty() ? u.email : u.id, "POST", "/v1/auth/login", {}, body,
                    attempt, json::object());
    if (res.status == 200) {
      u.set_token(text_field(res.body, "access_token"));
      return true;
    }
    if (!retryable(res.status) && res.status != 429)
      return false;
    backoff(attempt);
  }
  return false;
}

void load_client::run() {
  while (!stopping()) {
    if (state_.users() < 4 || counter_ == 0) {
      register_user();
    } else {
      auto pick = std::uniform_int_distribution<int>{0, 99}(rng_);
      if (pick < 4)
        register_user();
      else if (pick < 7) {
        if (auto u = state_.any_user(rng_))
          login(*u);
      } else if (pick < 32)
        update_profile();
      else if (pick < 54)
        read_profile();
      else if (pick < 74)
        place_order();
      else if (pick < 86)
        read_order();
      else if (pick < 89)
        cancel_order();
      else
        list_notifications();
    }
    think();
  }
}

void load_client::register_user() {
  auto u = std::make_shared<pooled_user>();
  u->email = "u-" + state_.tag() + "-" + std::to_string(index_) + "-" + std::to_string(++counter_) +
             "@chaos.example";
  u->password = password;
  auto body =
      json{{"email", u->email}, {"password", password}, {"display_name", display_name_for(0)}}
          .dump();
  bool exists = false;
  for (int attempt = 1; attempt <= 4 && !stopping() && !exists; ++attempt) {
    auto res = send("register", u->email, "POST", "/v1/users", {}, body, attempt,
                    json{{"email", u->email}, {"seq", 0}});
    if (res.status == 201) {
      u->id = text_field(res.body, "id");
      amend(res.op, json{{"user_id", u->id}}, u->id);
      exists = true;
    } else if (res.status == 409 && attempt > 1) {
      exists = true; // an earlier attempt got through without its answer
    } else if (!retryable(res.status) || res.status == 409) {
      return;
    } else {
      backoff(attempt);
    }
  }
  if (!exists || !login(*u))
    return;
  if (u->id.empty()) {
    auto me = send("get_profile", u->email, "GET", "/v1/users/me", auth(*u), {}, 1, json::object());
    if (me.status != 200)
      return;
    u->id = text_field(me.body, "id");
    auto seq = seq_in(text_field(me.body, "display_name"));
    amend(me.op, json{{"seq", seq.value_or(-1)}, {"user_id", u->id}}, u->id);
  }
  // Some users opt out of a channel before they ever order, so the checks can tell an
  // opt-out that was ignored.
  if (std::uniform_int_distribution<int>{0, 3}(rng_) == 0)
    set_preferences(*u);
  state_.add_user(std::move(u));
}

void load_client::set_preferences(pooled_user& u) {
  static const json choices[] = {{{"email", true}, {"push", false}, {"sms", true}},
                                 {{"email", true}, {"push", true}, {"sms", false}},
                                 {{"email", false}, {"push", true}, {"sms", true}},
                                 {{"email", true}, {"push", false}, {"sms", false}}};
  const auto& prefs = choices[std::uniform_int_distribution<int>{0, 3}(rng_)];
  for (int attempt = 1; attempt <= 4 && !stopping(); ++attempt) {
    auto res =
        send("set_preferences", u.id, "PUT", "/v1/users/" + u.id + "/notification-preferences",
             auth(u), prefs.dump(), attempt, json{{"preferences", prefs}});
    if (res.status == 200 || !retryable(res.status))
      return;
    backoff(attempt);
  }
}

void load_client::update_profile() {
  std::shared_ptr<pooled_user> u;
  for (int i = 0; i < 3 && !u; ++i) {
    auto c = state_.any_user(rng_);
    if (c && !c->writing.exchange(true))
      u = c;
  }
  if (!u)
    return;
  auto seq = ++u->seq;
  auto body = json{{"display_name", display_name_for(seq)}}.dump();
  for (int attempt = 1; attempt <= 3 && !stopping(); ++attempt) {
    auto res = send("update_profile", u->id, "PATCH", "/v1/users/" + u->id, auth(*u), body, attempt,
                    json{{"seq", seq}});
    if (res.status == 200) {
      amend(res.op,
            json{{"seq_answered", seq_in(text_field(res.body, "display_name")).value_or(-1)}});
      break;
    }
    if (res.status == 401) {
      login(*u);
      continue;
    }
    if (!retryable(res.status))
      break;
    backoff(attempt);
  }
  u->last_writer = index_;
  u->writing = false;
}

void load_client::read_profile() {
  std::shared_ptr<pooled_user> u;
  for (int i = 0; i < 3 && !u; ++i)
    if (auto c = state_.any_user(rng_); c && c->last_writer.load() != index_)
      u = c;
  if (!u)
    return;
  auto res =
      send("get_profile", u->id, "GET", "/v1/users/" + u->id, auth(*u), {}, 1, json::object());
  if (res.status == 200)
    amend(res.op, json{{"seq", seq_in(text_field(res.body, "display_name")).value_or(-1)}});
  else if (res.status == 401)
    login(*u);
}

void load_client::place_order() {
  auto u = state_.any_user(rng_);
  if (!u || state_.skus.empty())
    return;
  auto skus = state_.skus;
  std::shuffle(skus.begin(), skus.end(), rng_);
  auto lines =
      std::uniform_int_distribution<std::size_t>{1, std::min<std::size_t>(3, skus.size())}(rng_);
  json items = json::array();
  json by_sku = json::object();
  for (std::size_t i = 0; i < lines; ++i) {
    auto quantity = std::uniform_int_distribution<int>{1, 3}(rng_);
    items.push_back({{"sku", skus[i]}, {"quantity", quantity}});
    by_sku[skus[i]] = quantity;
  }
  auto token = std::uniform_int_distribution<int>{0, 9}(rng_) == 0 ? "tok_decline" : "tok_ok";
  auto body = json{{"items", items}, {"payment", {{"method", "sim"}, {"token", token}}}}.dump();
  auto key = "o-" + state_.tag() + "-" + std::to_string(index_) + "-" + std::to_string(++counter_);
  json detail{{"idempotency_key", key}, {"user_id", u->id}, {"lines", by_sku}, {"token", token}};
  for (int attempt = 1; attempt <= 6 && !stopping(); ++attempt) {
    auto hdrs = auth(*u);
    hdrs.emplace_back("Idempotency-Key", key);
    auto res = send("create_order", key, "POST", "/v1/orders", hdrs, body, attempt, detail);
    if (res.status == 200 || res.status == 201) {
      auto id = text_field(res.body, "id");
      amend(res.op, json{{"order_id", id}, {"status_answered", text_field(res.body, "status")}},
            id);
      if (!id.empty()) {
        if (orders_.size() >= 200)
          orders_.erase(orders_.begin());
        orders_.push_back({id, u, false});
      }
      return;
    }
    if (res.status == 401)
      login(*u);
    else if (!retryable(res.status))
      return;
    backoff(attempt);
  }
}

void load_client::read_order() {
  if (orders_.empty())
    return;
  const auto& o = orders_[std::uniform_int_distribution<std::size_t>{0, orders_.size() - 1}(rng_)];
  auto res = send("get_order", o.id, "GET", "/v1/orders/" + o.id, auth(*o.owner), {}, 1,
                  json{{"order_id", o.id}});
  if (res.status == 200)
    amend(res.op, json{{"status_answered", text_field(res.body, "status")}});
  else if (res.status == 401)
    login(*o.owner);
}

void load_client::cancel_order() {
  if (orders_.empty())
    return;
  auto& o = orders_[std::uniform_int_distribution<std::size_t>{0, orders_.size() - 1}(rng_)];
  if (o.cancelled)
    return;
  for (int attempt = 1; attempt <= 4 && !stopping(); ++attempt) {
    auto res = send("cancel_order", o.id, "POST", "/v1/orders/" + o.id + "/cancel", auth(*o.owner),
                    {}, attempt, json{{"order_id", o.id}});
    if (res.status == 200) {
      amend(res.op, json{{"status_answered", text_field(res.body, "status")}});
      o.cancelled = true;
      return;
    }
    // 409: the order ended rejected, nothing to cancel; that is an answer, not a failure.
    if (res.status == 409 || !retryable(res.status))
      return;
    backoff(attempt);
  }
}

void load_client::list_notifications() {
  auto u = state_.any_user(rng_);
  if (!u)
    return;
  auto res =
      send("list_notifications", u->id, "GET", "/v1/users/" + u->id + "/notifications?limit=20",
           auth(*u), {}, 1, json::object());
  if (res.status == 200 && res.body.contains("items") && res.body["items"].is_array())
    amend(res.op, json{{"count", res.body["items"].size()}});
}

bool load_client::prepare(std::chrono::steady_clock::time_point deadline, std::string& why) {
  auto& cfg = state_.cfg();
  auto before = [&] { return std::chrono::steady_clock::now() < deadline && !stopping(); };
  json phase{{"phase", "prepare"}};
  int attempt = 0;
  auto body = json{{"email", cfg.admin_email}, {"password", cfg.admin_password}}.dump();
  while (admin_token_.empty() && before()) {
    auto res = send("login", cfg.admin_email, "POST", "/v1/auth/login", {}, body, ++attempt, phase);
    if (res.status == 200)
      admin_token_ = text_field(res.body, "access_token");
    else
      std::this_thread::sleep_for(200ms);
  }
  if (admin_token_.empty()) {
    why = "the admin login never succeeded";
    return false;
  }
  std::vector<std::string> skus;
  for (int i = 0; i < cfg.skus; ++i) {
    auto sku = "chaos-" + state_.tag() + "-" + std::to_string(i);
    auto put = json{{"on_hand", cfg.stock_per_sku}}.dump();
    bool stocked = false;
    for (attempt = 1; !stocked && before(); ++attempt) {
      auto res = send("put_stock", sku, "PUT", "/v1/inventory/" + sku,
                      {{"Authorization", "Bearer " + admin_token_}}, put, attempt,
                      json{{"phase", "prepare"}, {"on_hand", cfg.stock_per_sku}});
      stocked = res.status == 200;
      if (!stocked)
        std::this_thread::sleep_for(200ms);
    }
    if (!stocked) {
      why = "stocking " + sku + " never succeeded";
      return false;
    }
    skus.push_back(sku);
  }
  state_.skus = std::move(skus);
  return true;
}

} // namespace troupe::chaos_harness
