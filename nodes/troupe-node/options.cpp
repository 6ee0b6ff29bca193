#include "options.hpp"

#include <cstdlib>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "build_info.hpp"
#include "troupe/cluster/transport.hpp"
#include "troupe/core/error.hpp"
#include "troupe/http/client.hpp"
#include "troupe/observability/logging.hpp"

namespace troupe::node {

namespace {

std::string default_node_name() {
  if (auto pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0')
    return pod;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0')
    return host;
  return "troupe";
}

// CLI11 reports "--flag: problem" for most errors but names env vars poorly; one
// line with a pointer to --help is what an operator reading a crash loop needs.
std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n')
      c = ' ';
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return "troupe-node: " + text + " (see --help)";
}

// Rules that span flags, which CLI11's per-option checks cannot see.
std::optional<std::string> cross_check(const node_options& o) {
  if (o.store == "postgres" && o.database_url.empty())
    return "--database-url: required with --store postgres";
  if (!o.jwt_secret.empty() && o.jwt_secret.size() < 32)
    return "--jwt-secret: must be at least 32 characters";
  if (o.admin_email.empty() != o.admin_password.empty())
    return "--admin-email and --admin-password: give both or neither";
  if (!o.admin_password.empty() && o.admin_password.size() < 8)
    return "--admin-password: must be at least 8 characters";
  if (o.notify_provider == "webhook" && o.notify_webhook_url.empty())
    return "--notify-webhook-url: required with --notify-provider webhook";
  if (!o.notify_webhook_url.empty())
    if (auto url = http::parse_http_url(o.notify_webhook_url); !url)
      return "--notify-webhook-url: " + describe(url.error());
  if (o.cluster_port != 0 && o.cluster_secret.size() < 16)
    return "--cluster-secret (or TROUPE_CLUSTER_SECRET): at least 16 characters are required "
           "with --cluster-port";
  if (o.cluster_port != 0 && o.connection_timeout_ms <= o.heartbeat_ms)
    return "--connection-timeout-ms: must be longer than --heartbeat-ms";
  bool any_tls =
      !o.cluster_tls_cert.empty() || !o.cluster_tls_key.empty() || !o.cluster_tls_ca.empty();
  bool all_tls =
      !o.cluster_tls_cert.empty() && !o.cluster_tls_key.empty() && !o.cluster_tls_ca.empty();
  if (o.cluster_port != 0 && o.cluster_insecure && any_tls)
    return "--cluster-insecure: give either it or the --cluster-tls-* files, not both";
  if (o.cluster_port != 0 && !o.cluster_insecure && !all_tls)
    return "--cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca: all three are required "
           "with --cluster-port (scripts/cluster-certs makes them), or --cluster-insecure for "
           "plain TCP on a network nobody else reaches";
  if (o.cluster_port != 0)
    if (auto problem = cluster::check_tls_files(transport_of(o)); !problem.empty())
      return problem;
  return std::nullopt;
}

std::string default_advertise_host() {
  if (auto ip = std::getenv("POD_IP"); ip != nullptr && *ip != '\0')
    return ip;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0')
    return host;
  return "127.0.0.1";
}

} // namespace

std::string version_line() {
  return "troupe-node " + std::string{build_version()} + " (" + std::string{build_revision()} + ")";
}

cluster::transport_config transport_of(const node_options& o) {
  cluster::transport_config t;
  t.tls_cert = o.cluster_tls_cert;
  t.tls_key = o.cluster_tls_key;
  t.tls_ca = o.cluster_tls_ca;
  t.insecure = o.cluster_insecure;
  t.heartbeat = std::chrono::milliseconds{o.heartbeat_ms};
  t.connection_timeout = std::chrono::milliseconds{o.connection_timeout_ms};
  return t;
}

parse_result parse_options(int argc, const char* const* argv) {
  parse_result result;
  auto& o = result.options;
  o.node_name = default_node_name();
  CLI::App app{"troupe-node: one node of a Troupe actor cluster", "troupe-node"};
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(36);
  app.set_version_flag("--version", version_line());
  app.add_option("--node-name", o.node_name, "This node's name in logs and metrics")
      ->envname("TROUPE_NODE_NAME");
  app.add_option("--http-host", o.http_host, "Address the HTTP facade binds")
      ->envname("TROUPE_HTTP_HOST");
  app.add_option("--http-port", o.http_port, "Port of the HTTP facade (0 = pick a free one)")
      ->envname("TROUPE_HTTP_PORT");
  app.add_option("--http-threads", o.http_threads, "Threads serving HTTP")
      ->envname("TROUPE_HTTP_THREADS")
      ->check(CLI::Range(size_t{1}, size_t{64}));
  app.add_option("--http-max-connections", o.http_max_connections,
                 "Concurrent HTTP connections before new ones are refused")
      ->envname("TROUPE_HTTP_MAX_CONNECTIONS")
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  app.add_option("--http-read-timeout-ms", o.http_read_timeout_ms,
                 "Milliseconds a client has to send a whole request")
      ->envname("TROUPE_HTTP_READ_TIMEOUT_MS")
      ->check(CLI::Range(int64_t{10}, int64_t{600000}));
  app.add_option("--http-max-connections-per-client", o.http_max_connections_per_client,
                 "Concurrent HTTP connections from one client address before its new ones are "
                 "refused")
      ->envname("TROUPE_HTTP_MAX_CONNECTIONS_PER_CLIENT")
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  app.add_option("--http-login-burst", o.http_login_burst,
                 "Login attempts per account before it must wait (429)")
      ->envname("TROUPE_HTTP_LOGIN_BURST")
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  app.add_option("--http-login-client-burst", o.http_login_client_burst,
                 "Login attempts per client address before it must wait (429)")
      ->envname("TROUPE_HTTP_LOGIN_CLIENT_BURST")
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  app.add_option("--http-login-refill-ms", o.http_login_refill_ms,
                 "Milliseconds in which an account earns back one login attempt")
      ->envname("TROUPE_HTTP_LOGIN_REFILL_MS")
      ->check(CLI::Range(int64_t{1}, int64_t{86400000}));
  app.add_option("--auth-recheck-ms", o.auth_recheck_ms,
                 "How long a node believes another node's word on a user's credentials "
                 "(0 = ask on every request)")
      ->envname("TROUPE_AUTH_RECHECK_MS")
      ->check(CLI::Range(int64_t{0}, int64_t{60000}));
  app.add_option("--admin-token", o.admin_token, "Bearer token for /admin/* (empty: disabled)")
      ->envname("TROUPE_ADMIN_TOKEN")
      ->capture_default_str();
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, critical or off")
      ->envname("TROUPE_LOG_LEVEL")
      ->check(CLI::Validator(
          [](std::string& v) {
            return observability::is_log_level(v) ? std::string{} : "unknown log level '" + v + "'";
          },
          "LEVEL"));
  app.add_option("--log-format", o.log_format, "text or json")
      ->envname("TROUPE_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--access-log,!--no-access-log", o.access_log,
               "One info line per HTTP request: method, route, status, duration, request and "
               "trace id (--no-access-log or TROUPE_ACCESS_LOG=false: off)")
      ->envname("TROUPE_ACCESS_LOG");
  app.add_option("--actor-threads", o.actor_threads,
                 "Actor scheduler threads (0 = CAF's default: one per core, at least 4)")
      ->envname("TROUPE_ACTOR_THREADS")
      ->check(CLI::Range(size_t{0}, size_t{256}));
  app.add_option("--actor-scheduler", o.actor_scheduler,
                 "sharing (idle threads sleep until woken) or stealing (idle threads poll)")
      ->envname("TROUPE_ACTOR_SCHEDULER")
      ->check(CLI::IsMember({"sharing", "stealing"}));
  app.add_option("--store", o.store, "memory (lost on exit) or postgres")
      ->envname("TROUPE_STORE")
      ->check(CLI::IsMember({"memory", "postgres"}));
  app.add_option("--database-url", o.database_url, "libpq URL, e.g. postgresql://user@host/db")
      ->envname("TROUPE_DATABASE_URL")
      ->capture_default_str();
  app.add_option("--db-pool-size", o.db_pool_size, "Database connections")
      ->envname("TROUPE_DB_POOL_SIZE")
      ->check(CLI::Range(size_t{1}, size_t{256}));
  app.add_option("--db-max-batch", o.db_max_batch, "Most writes sharing one COMMIT")
      ->envname("TROUPE_DB_MAX_BATCH")
      ->check(CLI::Range(size_t{1}, size_t{1024}));
  app.add_option("--db-write-batches", o.db_write_batches,
                 "Most shared write transactions at once (at most the pool size)")
      ->envname("TROUPE_DB_WRITE_BATCHES")
      ->check(CLI::Range(size_t{1}, size_t{256}));
  app.add_option("--jwt-secret", o.jwt_secret, "HS256 key of access tokens (random if empty)")
      ->envname("TROUPE_JWT_SECRET")
      ->capture_default_str();
  app.add_option("--jwt-ttl", o.jwt_ttl, "Access token lifetime in seconds")
      ->envname("TROUPE_JWT_TTL")
      ->check(CLI::Range(int64_t{1}, int64_t{86400 * 30}));
  app.add_option("--jwt-leeway", o.jwt_leeway, "Clock skew tolerated on tokens, in seconds")
      ->envname("TROUPE_JWT_LEEWAY")
      ->check(CLI::Range(int64_t{0}, int64_t{300}));
  app.add_option("--admin-email", o.admin_email, "Admin created or updated at start")
      ->envname("TROUPE_ADMIN_EMAIL");
  app.add_option("--admin-password", o.admin_password, "Password of that admin")
      ->envname("TROUPE_ADMIN_PASSWORD")
      ->capture_default_str();
  app.add_option("--entity-idle", o.entity_idle, "Seconds before an idle entity passivates")
      ->envname("TROUPE_ENTITY_IDLE")
      ->check(CLI::Range(int64_t{1}, int64_t{86400}));
  app.add_option("--hash-threads", o.hash_threads, "Threads hashing passwords")
      ->envname("TROUPE_HASH_THREADS")
      ->check(CLI::Range(size_t{1}, size_t{64}));
  app.add_option("--payment-latency-ms", o.payment_latency_ms,
                 "Delay of the simulated payment provider's answers")
      ->envname("TROUPE_PAYMENT_LATENCY_MS")
      ->check(CLI::Range(int64_t{0}, int64_t{60000}));
  app.add_option("--payment-decline-rate", o.payment_decline_rate,
                 "Share of other tokens the simulated provider declines (0..1)")
      ->envname("TROUPE_PAYMENT_DECLINE_RATE")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--payment-failure-rate", o.payment_failure_rate,
                 "Share of other tokens the simulated provider fails on (0..1)")
      ->envname("TROUPE_PAYMENT_FAILURE_RATE")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--payment-timeout-ms", o.payment_timeout_ms,
                 "Bound on each call to the payment provider")
      ->envname("TROUPE_PAYMENT_TIMEOUT_MS")
      ->check(CLI::Range(int64_t{1}, int64_t{60000}));
  app.add_flag("--chaos", o.chaos,
               "Enables fault injection through /admin/chaos/* (admin token required): for "
               "testing how the cluster copes, never in production")
      ->envname("TROUPE_CHAOS");
  app.add_option("--order-crash-after", o.order_crash_after,
                 "Test hook: crash each order's activation once after this point of its saga "
                 "(a stored status, or authorized or taken)")
      ->envname("TROUPE_ORDER_CRASH_AFTER")
      ->check(CLI::IsMember({"", "pending", "authorized", "taken", "rejecting", "cancelling"}));
  app.add_option("--notify-provider", o.notify_provider, "Where notifications go: log or webhook")
      ->envname("TROUPE_NOTIFY_PROVIDER")
      ->check(CLI::IsMember({"log", "webhook"}));
  app.add_option("--notify-webhook-url", o.notify_webhook_url,
                 "http:// URL the webhook provider POSTs each notification to")
      ->envname("TROUPE_NOTIFY_WEBHOOK_URL");
  app.add_option("--notify-timeout-ms", o.notify_timeout_ms, "Bound on one webhook attempt")
      ->envname("TROUPE_NOTIFY_TIMEOUT_MS")
      ->check(CLI::Range(int64_t{1}, int64_t{60000}));
  app.add_option("--notify-max-attempts", o.notify_max_attempts,
                 "Attempts before a notification becomes a dead letter")
      ->envname("TROUPE_NOTIFY_MAX_ATTEMPTS")
      ->check(CLI::Range(uint32_t{1}, uint32_t{100}));
  app.add_option("--notify-retry-ms", o.notify_retry_ms,
                 "Delay after a first failed attempt (doubles per failure)")
      ->envname("TROUPE_NOTIFY_RETRY_MS")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}));
  app.add_option("--cluster-port", o.cluster_port, "Port of the cluster endpoint (0 = alone)")
      ->envname("TROUPE_CLUSTER_PORT");
  app.add_option("--cluster-host", o.cluster_host,
                 "Address the cluster endpoint binds (default: the advertised host)")
      ->envname("TROUPE_CLUSTER_HOST");
  app.add_option("--advertise-host", o.advertise_host,
                 "Host other nodes reach this one at (default: $POD_IP, else the host name)")
      ->envname("TROUPE_ADVERTISE_HOST");
  app.add_option("--seeds", o.seeds, "host:port of peers, comma-separated")
      ->envname("TROUPE_SEEDS")
      ->delimiter(',');
  app.add_option("--seed-dns", o.seed_dns,
                 "DNS name (headless Service) whose addresses are peers at the cluster port")
      ->envname("TROUPE_SEED_DNS");
  app.add_option("--cluster-secret", o.cluster_secret, "Shared by all members of one cluster")
      ->envname("TROUPE_CLUSTER_SECRET");
  app.add_option("--cluster-tls-cert", o.cluster_tls_cert,
                 "PEM certificate of this node, signed by the cluster's CA")
      ->envname("TROUPE_CLUSTER_TLS_CERT");
  app.add_option("--cluster-tls-key", o.cluster_tls_key, "PEM key of that certificate")
      ->envname("TROUPE_CLUSTER_TLS_KEY");
  app.add_option("--cluster-tls-ca", o.cluster_tls_ca,
                 "PEM certificate of the cluster's CA; peers must present one it signed")
      ->envname("TROUPE_CLUSTER_TLS_CA");
  app.add_flag("--cluster-insecure", o.cluster_insecure,
               "Plain TCP between nodes: anyone who reaches the cluster port is heard")
      ->envname("TROUPE_CLUSTER_INSECURE");
  app.add_option("--cluster-max-connections-per-address", o.cluster_max_connections_per_address,
                 "Connections one address may hold on the cluster port")
      ->envname("TROUPE_CLUSTER_MAX_CONNECTIONS_PER_ADDRESS")
      ->check(CLI::Range(size_t{1}, size_t{65536}));
  app.add_option("--cluster-max-connections", o.cluster_max_connections,
                 "Connections the cluster port holds in all")
      ->envname("TROUPE_CLUSTER_MAX_CONNECTIONS")
      ->check(CLI::Range(size_t{1}, size_t{65536}));
  app.add_option("--roles", o.roles, "Roles this node hosts, comma-separated")
      ->envname("TROUPE_ROLES")
      ->delimiter(',')
      ->check(CLI::IsMember({"gateway", "user", "order", "notification"}))
      ->capture_default_str();
  app.add_option("--heartbeat-ms", o.heartbeat_ms, "Heartbeat interval between nodes")
      ->envname("TROUPE_HEARTBEAT_MS")
      ->check(CLI::Range(int64_t{10}, int64_t{60000}));
  app.add_option("--connection-timeout-ms", o.connection_timeout_ms,
                 "A peer silent this long is marked down")
      ->envname("TROUPE_CONNECTION_TIMEOUT_MS")
      ->check(CLI::Range(int64_t{20}, int64_t{600000}));
  app.add_option("--drain-timeout-ms", o.drain_timeout_ms,
                 "On SIGTERM, the longest wait for in-flight work before stopping")
      ->envname("TROUPE_DRAIN_TIMEOUT_MS")
      ->check(CLI::Range(int64_t{0}, int64_t{600000}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    result.exit_code = 0;
    result.message = app.help();
  } catch (const CLI::CallForVersion&) {
    result.exit_code = 0;
    result.message = version_line();
    return result;
  } catch (const CLI::ParseError& e) {
    result.exit_code = 2;
    result.message = one_line(e.what());
    return result;
  }
  if (o.advertise_host.empty())
    o.advertise_host = default_advertise_host();
  if (o.cluster_host.empty()) // reachable where peers look for it, and nowhere else
    o.cluster_host = o.advertise_host;
  if (auto problem = cross_check(o)) {
    result.exit_code = 2;
    result.message = one_line(*problem);
  }
  return result;
}

} // namespace troupe::node
