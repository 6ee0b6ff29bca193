#include "components.hpp"

#include <thread>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "troupe/cluster/agent.hpp"
#include "troupe/cluster/guard.hpp"
#include "troupe/placement/inbound.hpp"
#include "troupe/placement/locator.hpp"

#include <caf/actor_system.hpp>
#include <spdlog/spdlog.h>

#include "build_info.hpp"
#include "troupe/auth/jwt.hpp"
#include "troupe/auth/session.hpp"
#include "troupe/chaos/registry.hpp"
#include "troupe/chaos/routes.hpp"
#include "troupe/core/blocking_pool.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/embedded/openapi.hpp"
#include "troupe/events/outbox.hpp"
#include "troupe/events/relay.hpp"
#include "troupe/events/schema.hpp"
#include "troupe/http/response.hpp"
#include "troupe/http/router.hpp"
#include "troupe/http/server.hpp"
#include "troupe/notification/consumer.hpp"
#include "troupe/notification/dispatcher.hpp"
#include "troupe/notification/routes.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/observability/process_metrics.hpp"
#include "troupe/ops/entities.hpp"
#include "troupe/ops/routes.hpp"
#include "troupe/order/routes.hpp"
#include "troupe/order/services.hpp"
#include "troupe/order/stock.hpp"
#include "troupe/placement/directory.hpp"
#include "troupe/placement/region.hpp"
#include "troupe/store/database.hpp"
#include "troupe/supervision/name_registry.hpp"
#include "troupe/supervision/resource.hpp"
#include "troupe/user/bootstrap.hpp"
#include "troupe/user/entity.hpp"
#include "troupe/user/routes.hpp"

namespace troupe::node {

namespace {

using namespace std::chrono_literals;

// The HTTP facade. A restart rebinds the port the first start got, so a node
// started with --http-port 0 keeps one address for its whole life.
supervision::child_spec http_component(const node_context& ctx) {
  http::server_config cfg;
  cfg.host = ctx.options.http_host;
  cfg.port = ctx.options.http_port;
  cfg.io_threads = ctx.options.http_threads;
  cfg.max_connections = ctx.options.http_max_connections;
  cfg.max_connections_per_client = ctx.options.http_max_connections_per_client;
  cfg.read_timeout = std::chrono::milliseconds{ctx.options.http_read_timeout_ms};
  cfg.access_log = ctx.options.access_log;
  auto pinned = std::make_shared<uint16_t>(ctx.options.http_port);
  auto routes = ctx.routes;
  auto metrics = ctx.metrics;
  return supervision::resource_child(
      "http", [cfg, pinned, routes, metrics]() mutable -> caf::expected<std::shared_ptr<void>> {
        cfg.port = *pinned;
        auto srv = http::server::start(cfg, routes, metrics);
        if (!srv)
          return std::move(srv.error());
        *pinned = (*srv)->port();
        spdlog::info("listening on http://{}:{}", (*srv)->host(), (*srv)->port());
        return std::shared_ptr<void>{std::move(*srv)};
      });
}

// The kinds of entities and the roles that host them: a node with role "order" hosts
// orders and SKUs.
const std::map<std::string, std::string, std::less<>> role_of_kind{
    {user::entity_kind_name, "user"},
    {order::stock_kind_name, "order"},
    {order::order_kind_name, "order"}};

void add_ops(const node_context& ctx) {
  ops::ops_context ops;
  ops.system = ctx.system;
  ops.names = ctx.names;
  ops.metrics = ctx.metrics;
  ops.cluster = ctx.cluster;
  ops.version = std::string{build_version()};
  observability::add_build_info(*ctx.metrics, build_version(), build_revision());
  observability::add_process_metrics(*ctx.metrics);
  if (!ctx.options.admin_token.empty())
    ops.admin_token = ctx.options.admin_token;
  ops.ready = [draining = ctx.draining, names = ctx.names, db = ctx.db,
               cluster = ctx.options.cluster_port != 0 ? ctx.cluster : nullptr] {
    if (draining->load())
      return ops::readiness{false, "the node is shutting down"};
    if (!names->lookup("root"))
      return ops::readiness{false, "the supervision tree is not running"};
    if (db && !db->ready())
      return ops::readiness{false, "store: " + db->status()};
    if (cluster)
      if (auto view = cluster->get(); !view->not_ready.empty())
        return ops::readiness{false, "cluster: " + view->not_ready};
    return ops::readiness{true, {}};
  };
  auto admin_token = ops.admin_token;
  ops::add_ops_routes(*ctx.routes, std::move(ops));
  ops::entities_context entities;
  entities.system = ctx.system;
  entities.names = ctx.names;
  entities.node = ctx.options.node_name;
  entities.admin_token = admin_token;
  for (const auto& [kind, role] : role_of_kind)
    entities.kinds.push_back(kind);
  ops::add_entity_routes(*ctx.routes, std::move(entities));
  chaos::chaos_context faults;
  faults.system = ctx.system;
  faults.faults = ctx.chaos;
  faults.admin_token = admin_token;
  faults.names = ctx.names;
  faults.disabled_detail =
      "chaos faults are off on this node; start it with --chaos (or TROUPE_CHAOS=true)";
  chaos::add_chaos_routes(*ctx.routes, std::move(faults));
  ctx.routes->add(http::verb::get, "/openapi.json", [](http::request_context, http::responder res) {
    res(http::text_response(http::status::ok, std::string{embedded::openapi}, "application/json"));
  });
}

std::shared_ptr<auth::jwt_codec> token_codec(const node_options& o) {
  auth::jwt_config jwt;
  jwt.secret = o.jwt_secret;
  jwt.ttl = std::chrono::seconds{o.jwt_ttl};
  jwt.leeway = std::chrono::seconds{o.jwt_leeway};
  return std::make_shared<auth::jwt_codec>(jwt);
}

std::shared_ptr<const user::user_api> user_api(const node_context& ctx,
                                               std::shared_ptr<auth::jwt_codec> tokens,
                                               std::shared_ptr<placement::directory> users,
                                               std::shared_ptr<user::user_snapshots> copies) {
  auto api = std::make_shared<user::user_api>();
  api->directory = std::move(users);
  api->snapshots = std::move(copies);
  api->system = ctx.system;
  api->locator = ctx.locator;
  api->repo = ctx.users;
  api->hashing = ctx.hashing;
  api->tokens = tokens;
  auto& o = ctx.options;
  user::login_limits limits;
  limits.account.burst = o.http_login_burst;
  limits.account.refill = std::chrono::milliseconds{o.http_login_refill_ms};
  limits.client.burst = o.http_login_client_burst;
  // Both kinds of bucket fill up completely in the same time.
  limits.client.refill = std::max(std::chrono::milliseconds{1},
                                  limits.account.refill * static_cast<int64_t>(o.http_login_burst) /
                                      static_cast<int64_t>(o.http_login_client_burst));
  api->throttle = std::make_shared<user::login_throttle>(limits, ctx.metrics);
  api->stamps = std::make_shared<user::stamp_cache>(std::chrono::milliseconds{o.auth_recheck_ms});
  return api;
}

// The outbox relay runs on one node at a time: the owner of this key among the nodes
// with role "notification".
constexpr const char* relay_kind = "outbox-relay";

// Live activations of every kind on this node.
int64_t active_entities(observability::registry& metrics) {
  int64_t n = 0;
  for (const auto& [kind, role] : role_of_kind)
    n += metrics.gauges("troupe_entities_active", "", {"kind"}).with({kind}).value();
  return n;
}

// `kind`, passivating activations whose key moved to another node.
placement::entity_kind owned(const node_context& ctx, placement::entity_kind kind) {
  kind.owned_here = [locator = ctx.locator, name = kind.name](const std::string& key) {
    return locator->owns(name, key);
  };
  kind.tenure = [locator = ctx.locator] { return locator->tenure(); };
  kind.guard = ctx.guard;
  return kind;
}

// Stock, orders and their sagas, the payment gateway, and recovery of unfinished sagas.
void add_orders(const node_context& ctx, std::shared_ptr<auth::jwt_codec> tokens,
                std::shared_ptr<const auth::session_check> sessions,
                supervision::supervisor_spec& spec) {
  auto& o = ctx.options;
  auto orders_known = std::make_shared<placement::directory>();
  auto stock_known = std::make_shared<placement::directory>();
  auto payments = std::make_shared<breaker_signal>();
  auto api = std::make_shared<order::order_api>();
  api->system = ctx.system;
  api->locator = ctx.locator;
  api->payments = payments;
  api->orders_known = orders_known;
  api->stock_known = stock_known;
  api->orders = ctx.orders;
  api->tokens = std::move(tokens);
  api->sessions = std::move(sessions);
  order::add_order_routes(*ctx.routes, api);
  order::sim_payment_config sim;
  sim.latency = std::chrono::milliseconds{o.payment_latency_ms};
  sim.decline_rate = o.payment_decline_rate;
  sim.failure_rate = o.payment_failure_rate;
  order::payment_gateway_config gateway;
  gateway.timeout = std::chrono::milliseconds{o.payment_timeout_ms};
  gateway.signal = payments;
  order::saga_config saga;
  saga.names = ctx.names;
  saga.locator = ctx.locator;
  saga.stock_known = stock_known;
  saga.step_timeout = gateway.timeout + std::chrono::seconds{1};
  saga.crash_after = o.order_crash_after;
  auto idle = std::chrono::seconds{o.entity_idle};
  auto stock = owned(ctx, order::stock_entity_kind(ctx.stock, idle));
  stock.published = stock_known;
  spec.children.push_back(placement::region_child(std::move(stock), ctx.metrics));
  spec.children.push_back(order::payment_child(sim, gateway));
  auto orders = owned(ctx, order::order_entity_kind(ctx.orders, std::move(saga), idle));
  orders.published = orders_known;
  spec.children.push_back(placement::region_child(std::move(orders), ctx.metrics));
  spec.children.push_back(order::order_recovery_child(ctx.orders, ctx.locator));
}

// How long a notification stays claimed by the node attempting it: longer than an attempt
// can take, with room to record its outcome.
std::chrono::milliseconds notification_lease(const node_options& o) {
  return std::chrono::milliseconds{o.notify_timeout_ms} * 2 + std::chrono::seconds{5};
}

// Notifications: routes, the dispatcher, and (with a database) the relay that turns
// committed domain events into notifications.
void add_notifications(const node_context& ctx, std::shared_ptr<auth::jwt_codec> tokens,
                       std::shared_ptr<const auth::session_check> sessions,
                       supervision::supervisor_spec& spec) {
  auto& o = ctx.options;
  auto api = std::make_shared<notification::notification_api>();
  api->system = ctx.system;
  api->store = ctx.notifications;
  api->tokens = std::move(tokens);
  api->sessions = std::move(sessions);
  notification::add_notification_routes(*ctx.routes, api);
  notification::provider_config pc;
  pc.kind = o.notify_provider;
  pc.webhook_url = o.notify_webhook_url;
  pc.timeout = std::chrono::milliseconds{o.notify_timeout_ms};
  auto provider = notification::make_provider(pc);
  if (!provider)
    throw std::invalid_argument("--notify-webhook-url: " + describe(provider.error()));
  notification::dispatcher_config dc;
  dc.max_attempts = o.notify_max_attempts;
  dc.retry_initial = std::chrono::milliseconds{o.notify_retry_ms};
  dc.lease = notification_lease(o);
  dc.handoff = ctx.handoff;
  dc.drain_timeout = pc.timeout + std::chrono::seconds{1};
  if (ctx.db) {
    events::relay_config relay;
    relay.db = ctx.db;
    relay.metrics = ctx.metrics;
    // New events are applied inline (see start_services) and stored delivered; this is
    // for events stored undelivered before, or by a node of an older version.
    relay.subscriptions.push_back(notification::notification_subscription(ctx.notifications));
    // One relay per database: the node that owns the relay's key polls, the others idle.
    relay.active = [locator = ctx.locator] { return locator->owns(relay_kind, "outbox"); };
    spec.children.push_back(events::relay_child(std::move(relay)));
  }
  spec.children.push_back(
      notification::dispatcher_child(ctx.notifications, *provider, dc, ctx.metrics));
}

} // namespace

void start_services(node_context& ctx) {
  auto& o = ctx.options;
  if (o.jwt_secret.empty()) {
    o.jwt_secret = random_hex(32);
    spdlog::warn("no --jwt-secret: using a random one; tokens end with this process and "
                 "other nodes will not accept them");
  }
  blocking_pool::config hashing;
  hashing.name = "hashing";
  hashing.threads = o.hash_threads;
  hashing.max_queue = 256; // each hash holds 64 MiB: shed rather than queue without end
  ctx.hashing = blocking_pool::start(*ctx.system, hashing, ctx.metrics);
  if (o.store == "memory") {
    spdlog::warn("--store memory: every user and order is lost when this process exits");
    ctx.users = user::make_memory_user_repository();
    ctx.stock = order::make_memory_stock_repository();
    ctx.orders = order::make_memory_order_repository();
    ctx.notifications = notification::make_memory_notification_store();
    return;
  }
  store::database_config db;
  db.url = o.database_url;
  db.pool_size = o.db_pool_size;
  db.max_batch = o.db_max_batch;
  db.write_batches = o.db_write_batches;
  for (auto part : {events::outbox_migrations(), user::user_migrations(), order::order_migrations(),
                    notification::notification_migrations()})
    db.migrations.insert(db.migrations.end(), part.begin(), part.end());
  ctx.db = store::database::start(*ctx.system, db, ctx.metrics);
  // Domain events turn into notifications inside the transaction that writes them, and go
  // to this node's dispatcher once committed.
  ctx.handoff = std::make_shared<notification::handoff>();
  auto outbox = std::make_shared<events::outbox>();
  outbox->add_inline(notification::inline_notifications(notification_lease(o), ctx.handoff));
  ctx.users = user::make_postgres_user_repository(ctx.db, outbox);
  ctx.stock = order::make_postgres_stock_repository(ctx.db);
  ctx.orders = order::make_postgres_order_repository(ctx.db, outbox);
  ctx.notifications = notification::make_postgres_notification_store(ctx.db);
}

void stop_services(node_context& ctx) {
  if (ctx.hashing)
    ctx.hashing->stop();
  if (ctx.db)
    ctx.db->stop();
}

// The cluster agent, first in the tree so peers are known before anything serves; a node
// that runs alone just shows itself, up.
void add_cluster(const node_context& ctx, supervision::supervisor_spec& spec) {
  const auto& o = ctx.options;
  if (o.cluster_port == 0) {
    cluster::membership alone{cluster::member{o.node_name, ctx.incarnation, "", o.roles, {}, {}}};
    alone.set_self(cluster::member_state::up, std::chrono::steady_clock::now());
    ctx.cluster->publish(alone);
    return;
  }
  if (o.store == "memory")
    spdlog::warn("--store memory in a cluster: each node keeps only what it owns, so logins, "
                 "listings and events see this node's share, and its data dies with it");
  cluster::agent_config cfg;
  cfg.name = o.node_name;
  cfg.incarnation = ctx.incarnation;
  cfg.roles = o.roles;
  cfg.bind_host = o.cluster_host;
  cfg.port = o.cluster_port;
  cfg.tls = !o.cluster_insecure;
  cfg.connection_timeout = std::chrono::milliseconds{o.connection_timeout_ms};
  cfg.max_connections_per_address = o.cluster_max_connections_per_address;
  cfg.max_connections = o.cluster_max_connections;
  cfg.advertise_host = o.advertise_host;
  cfg.seeds = o.seeds;
  cfg.seed_dns = o.seed_dns;
  cfg.secret = o.cluster_secret;
  cfg.pending = ctx.pending;
  cfg.drained = [metrics = ctx.metrics] { return active_entities(*metrics) == 0; };
  cfg.inbound = [names = ctx.names] {
    auto found = names->lookup(placement::inbound_name);
    return found ? *found : caf::actor{};
  };
  // Ownership may have moved: every region passivates what it no longer owns. A peer that
  // comes back in the same life was cut off or frozen, and keys moved away and back
  // meanwhile: every activation reloads.
  cfg.on_change = [names = ctx.names](const std::vector<cluster::member_change>& changes) {
    bool back = false;
    for (const auto& c : changes)
      back = back || (c.from == cluster::member_state::down && c.to == cluster::member_state::up);
    for (const auto& [kind, role] : role_of_kind)
      if (auto region = names->lookup(kind))
        caf::anon_send(*region, placement::rebalance_atom::value, back);
  };
  spec.children.push_back(placement::inbound_child(ctx.names, ctx.guard));
  spec.children.push_back(cluster::agent_child(std::move(cfg), ctx.cluster, ctx.metrics));
}

void drain(const node_context& ctx, std::chrono::milliseconds limit) {
  if (ctx.options.cluster_port == 0)
    return; // alone: nobody routes here but clients, and readiness already turned them away
  auto deadline = std::chrono::steady_clock::now() + limit;
  if (auto agent = ctx.names->lookup("cluster")) {
    caf::scoped_actor self{*ctx.system};
    self->request(*agent, limit, cluster::leave_atom::value)
        .receive([](caf::ok_atom) {},
                 [](caf::error& err) {
                   spdlog::warn("cluster: leaving without every peer's word: {}", describe(err));
                 });
  }
  // This node owns nothing now; wait for its activations to finish and passivate. A request
  // a peer sent just before it learned may activate one again, so rebalance while waiting.
  auto active = [&] { return active_entities(*ctx.metrics); };
  for (int quiet = 0; quiet < 2 && std::chrono::steady_clock::now() < deadline;) {
    for (const auto& [kind, role] : role_of_kind)
      if (auto region = ctx.names->lookup(kind))
        caf::anon_send(*region, placement::rebalance_atom::value, false);
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    quiet = active() == 0 ? quiet + 1 : 0;
  }
  spdlog::info("cluster: drained ({} activations left)", active());
  // Drained: the peers need not wait out the lease they confirmed to this node.
  auto left = deadline - std::chrono::steady_clock::now();
  if (auto agent = ctx.names->lookup("cluster"); agent && active() == 0 && left.count() > 0) {
    caf::scoped_actor self{*ctx.system};
    self->request(*agent, std::chrono::duration_cast<caf::timespan>(left),
                  cluster::release_atom::value)
        .receive([](caf::ok_atom) {},
                 [](caf::error& err) {
                   spdlog::warn("cluster: peers will wait out this node's lease: {}",
                                describe(err));
                 });
  }
}

supervision::supervisor_spec root_spec(node_context& ctx) {
  ctx.pending = std::make_shared<cluster::in_flight>();
  if (ctx.options.cluster_port != 0)
    ctx.guard = std::make_shared<const cluster::remote_guard>(ctx.cluster, ctx.metrics);
  auto roles = role_of_kind;
  roles.emplace(relay_kind, "notification");
  ctx.locator = std::make_shared<placement::locator>(
      placement::locator::config{ctx.cluster, ctx.names, std::move(roles), ctx.pending});
  if (ctx.options.chaos) {
    chaos::registry_config faults;
    faults.metrics = ctx.metrics;
    ctx.chaos = std::make_shared<chaos::registry>(std::move(faults));
    spdlog::warn("--chaos: fault injection is enabled; anyone with the admin token can delay, "
                 "drop or duplicate requests, kill actors, fail the store or crash this node");
  }
  add_ops(ctx);
  auto directory = std::make_shared<placement::directory>();
  auto copies = std::make_shared<user::user_snapshots>();
  auto tokens = token_codec(ctx.options);
  auto users = user_api(ctx, tokens, directory, copies);
  user::add_user_routes(*ctx.routes, users);
  auto sessions = user::make_session_check(users);
  supervision::supervisor_spec spec;
  spec.name = "root";
  spec.strategy = supervision::restart_strategy::one_for_one;
  spec.names = ctx.names;
  spec.metrics = ctx.metrics;
  add_cluster(ctx, spec);
  if (ctx.chaos)
    spec.children.push_back(chaos::sweeper_child(ctx.chaos));
  auto kind = owned(ctx, user::user_entity_kind(
                             ctx.users, std::chrono::seconds{ctx.options.entity_idle}, copies));
  kind.published = directory;
  spec.children.push_back(placement::region_child(std::move(kind), ctx.metrics));
  add_orders(ctx, tokens, sessions, spec);
  add_notifications(ctx, tokens, sessions, spec);
  if (!ctx.options.admin_email.empty())
    spec.children.push_back(
        user::admin_bootstrap_child(users, ctx.options.admin_email, ctx.options.admin_password));
  spec.children.push_back(http_component(ctx));
  return spec;
}

} // namespace troupe::node
