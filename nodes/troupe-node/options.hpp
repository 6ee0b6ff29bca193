#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "troupe/cluster/transport.hpp"

namespace troupe::node {

/// Everything `troupe-node` can be told on its command line or through `TROUPE_*`.
struct node_options {
  /// This node's name in logs and metrics (default: $POD_NAME, else the host name).
  std::string node_name;
  /// Address the HTTP facade binds.
  std::string http_host = "0.0.0.0";
  /// Port of the HTTP facade; 0 picks a free one.
  uint16_t http_port = 8080;
  /// Threads serving HTTP.
  size_t http_threads = 1;
  /// Concurrent HTTP connections before new ones are refused.
  size_t http_max_connections = 1024;
  /// Milliseconds a client has to send a whole request.
  int64_t http_read_timeout_ms = 10000;
  /// Concurrent HTTP connections from one client address before its new ones are refused.
  size_t http_max_connections_per_client = 64;
  /// Login attempts one account (email) may make at once before it must wait.
  size_t http_login_burst = 5;
  /// Login attempts one client address may make at once before it must wait.
  size_t http_login_client_burst = 50;
  /// Milliseconds in which an account earns back one login attempt (a client address
  /// earns its whole burst back in the same time as an account does).
  int64_t http_login_refill_ms = 20000;
  /// Milliseconds a node believes what another node said of a user's credentials (0: ask
  /// the owner on every request); a revocation reaches other nodes within this time.
  int64_t auth_recheck_ms = 1000;
  /// Bearer token for /admin/*; empty disables them.
  std::string admin_token;
  /// spdlog level name.
  std::string log_level = "info";
  /// "text" or "json".
  std::string log_format = "text";
  /// One `info` line per HTTP request; operators of a busy node may turn it off.
  bool access_log = true;
  /// CAF scheduler threads; 0 means one per core.
  size_t actor_threads = 0;
  /// How idle scheduler threads wait for work: "sharing" (one queue; an idle thread sleeps
  /// until woken) or "stealing" (a queue per thread; idle threads poll, which costs CPU
  /// while idle and a poll interval of latency, and pays off only under heavy load on many
  /// cores).
  std::string actor_scheduler = "sharing";
  /// "memory" (loses data on exit) or "postgres".
  std::string store = "memory";
  /// libpq URL of the database, for `--store postgres`.
  std::string database_url;
  /// Database connections.
  size_t db_pool_size = 4;
  /// Most writes sharing one transaction and COMMIT.
  size_t db_max_batch = 64;
  /// Most shared write transactions running at once.
  size_t db_write_batches = 2;
  /// HS256 key of access tokens; random per start if empty (tokens die with the node).
  std::string jwt_secret;
  /// Lifetime of access tokens in seconds.
  int64_t jwt_ttl = 900;
  /// Clock skew tolerated when checking tokens, in seconds.
  int64_t jwt_leeway = 30;
  /// Email of the admin created (or updated) at start; empty for none.
  std::string admin_email;
  /// Password of that admin.
  std::string admin_password;
  /// Seconds without messages before an entity passivates.
  int64_t entity_idle = 120;
  /// Threads hashing passwords (Argon2id takes tens of ms and 64 MiB each).
  size_t hash_threads = 2;
  /// Delay of every answer of the simulated payment provider, in milliseconds.
  int64_t payment_latency_ms = 0;
  /// Share of other tokens than tok_ok/tok_decline the simulated provider declines.
  double payment_decline_rate = 0;
  /// Share of other tokens than tok_ok/tok_decline the simulated provider fails on.
  double payment_failure_rate = 0;
  /// Bound on each call to the payment provider, in milliseconds.
  int64_t payment_timeout_ms = 2000;
  /// Fault injection through /admin/chaos/*; off unless asked for.
  bool chaos = false;
  /// Test hook: order activations stop abnormally once right after storing this status.
  std::string order_crash_after;
  /// Where notifications go: "log" or "webhook".
  std::string notify_provider = "log";
  /// The http:// URL the webhook provider POSTs to.
  std::string notify_webhook_url;
  /// Bound on one webhook attempt, in milliseconds.
  int64_t notify_timeout_ms = 5000;
  /// Attempts before a notification becomes a dead letter.
  uint32_t notify_max_attempts = 5;
  /// Delay after a notification's first failed attempt, in milliseconds; doubles per failure.
  int64_t notify_retry_ms = 1000;
  /// Port of the cluster endpoint; 0 runs this node alone.
  uint16_t cluster_port = 0;
  /// Address the cluster endpoint binds (default: the advertised host).
  std::string cluster_host;
  /// Host other nodes reach this one at (default: $POD_IP, else the host name).
  std::string advertise_host;
  /// host:port of peers, comma-separated.
  std::vector<std::string> seeds;
  /// A DNS name (a headless Service) whose addresses are peers at the cluster port.
  std::string seed_dns;
  /// Shared by all members of one cluster.
  std::string cluster_secret;
  /// PEM certificate of this node for mutual TLS between nodes, signed by the cluster's CA.
  std::string cluster_tls_cert;
  /// PEM key of that certificate.
  std::string cluster_tls_key;
  /// PEM certificate of the cluster's CA: peers must present a certificate it signed.
  std::string cluster_tls_ca;
  /// Plain TCP between nodes, without TLS: anyone who reaches the cluster port is heard.
  bool cluster_insecure = false;
  /// Connections one address may hold on the cluster port.
  size_t cluster_max_connections_per_address = 16;
  /// Connections the cluster port holds in all.
  size_t cluster_max_connections = 256;
  /// The roles this node hosts.
  std::vector<std::string> roles{"gateway", "user", "order", "notification"};
  /// Middleman heartbeat interval, in milliseconds.
  int64_t heartbeat_ms = 100;
  /// A peer silent for this long is disconnected (and marked down), in milliseconds.
  int64_t connection_timeout_ms = 500;
  /// On SIGTERM, the longest wait for peers to learn of the leave and for this node's
  /// activations to finish, in milliseconds.
  int64_t drain_timeout_ms = 10000;
};

/// What parsing decided.
struct parse_result {
  /// The options, valid when `exit_code` is empty.
  node_options options;
  /// Set when the process should exit at once (0 after --help, 2 on a bad flag).
  std::optional<int> exit_code;
  /// What to print before exiting: help text on stdout, or one error line on stderr.
  std::string message;
};

/// What `--version` prints: "troupe-node VERSION (REVISION)".
std::string version_line();

/// The cluster transport the options ask for.
cluster::transport_config transport_of(const node_options& o);

/// Parses argv and the TROUPE_* environment; never throws, never exits.
parse_result parse_options(int argc, const char* const* argv);

} // namespace troupe::node
