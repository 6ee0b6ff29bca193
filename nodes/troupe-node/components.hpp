#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include <caf/fwd.hpp>

#include "options.hpp"
#include "troupe/supervision/spec.hpp"

namespace troupe {
class blocking_pool;
} // namespace troupe

namespace troupe::chaos {
class registry;
} // namespace troupe::chaos

namespace troupe::cluster {
class in_flight;
class remote_guard;
class shared_view;
} // namespace troupe::cluster

namespace troupe::placement {
class locator;
} // namespace troupe::placement

namespace troupe::http {
class router;
} // namespace troupe::http

namespace troupe::store {
class database;
} // namespace troupe::store

namespace troupe::notification {
class notification_store;
class handoff;
} // namespace troupe::notification

namespace troupe::order {
class stock_repository;
class order_repository;
} // namespace troupe::order

namespace troupe::user {
class user_repository;
} // namespace troupe::user

namespace troupe::node {

/// What the components of one node share.
struct node_context {
  /// The node's actor system.
  caf::actor_system* system = nullptr;
  /// Random per start: tells this life of the node from earlier ones.
  std::string incarnation;
  /// This node's view of the cluster (just itself when it runs alone).
  std::shared_ptr<cluster::shared_view> cluster;
  /// Requests to other nodes still waiting for an answer, by node.
  std::shared_ptr<cluster::in_flight> pending;
  /// What the actors other nodes can reach take from them (null for a node alone).
  std::shared_ptr<const cluster::remote_guard> guard;
  /// Where each entity lives (set by `root_spec`).
  std::shared_ptr<const placement::locator> locator;
  /// The parsed flags.
  node_options options;
  /// Every metric of the process.
  std::shared_ptr<observability::registry> metrics;
  /// Live incarnations by name, the root supervisor included.
  std::shared_ptr<supervision::name_registry> names;
  /// The HTTP routes every component adds to before the server starts.
  std::shared_ptr<http::router> routes;
  /// Set on SIGTERM/SIGINT: readiness turns false while the tree stops.
  std::shared_ptr<std::atomic<bool>> draining;
  /// The database pool; null with `--store memory`.
  std::shared_ptr<store::database> db;
  /// Threads for password hashing.
  std::shared_ptr<blocking_pool> hashing;
  /// The fault registry the runtime's hooks read; null unless `--chaos`.
  std::shared_ptr<chaos::registry> chaos;
  /// Where users live.
  std::shared_ptr<user::user_repository> users;
  /// Where stock lives.
  std::shared_ptr<order::stock_repository> stock;
  /// Where orders live.
  std::shared_ptr<order::order_repository> orders;
  /// Where notifications and channel preferences live.
  std::shared_ptr<notification::notification_store> notifications;
  /// Notifications written with their events, on their way to this node's dispatcher; null
  /// with `--store memory`.
  std::shared_ptr<notification::handoff> handoff;
};

/// Starts what lives beside the supervision tree and outlasts it: the database pool
/// (which reconnects by itself) and the hashing threads.
void start_services(node_context& ctx);

/// Leaves the cluster gracefully, before the tree stops: peers learn that this node is
/// leaving (so they route nothing new here) and its activations finish their work and
/// passivate; bounded by `limit`. Readiness is already false. Blocks the calling thread.
void drain(const node_context& ctx, std::chrono::milliseconds limit);

/// Stops what `start_services` started; call after the tree has stopped.
void stop_services(node_context& ctx);

/// The root supervisor of a node: its components in start order, with their routes
/// added to `ctx.routes`. HTTP comes last, so it is the first to stop and no request
/// arrives at a stopped component.
supervision::supervisor_spec root_spec(node_context& ctx);

} // namespace troupe::node
