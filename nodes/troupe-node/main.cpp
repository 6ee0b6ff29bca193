// troupe-node: one process, one supervision tree. The process is the top of the
// tree: when the root supervisor gives up, the process exits non-zero and the
// orchestrator restarts the pod.

#include <csignal>
#include <cstdio>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "components.hpp"
#include "options.hpp"
#include "troupe/chaos/faults.hpp"
#include "troupe/cluster/shared_view.hpp"
#include "troupe/cluster/socket_guard.hpp"
#include "troupe/cluster/transport.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/core/scheduler.hpp"
#include "troupe/http/router.hpp"
#include "troupe/observability/logging.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/order/messages.hpp"
#include "troupe/placement/traced.hpp"
#include "troupe/supervision/name_registry.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/user/messages.hpp"

namespace {

using namespace std::chrono_literals;
using namespace troupe;

/// How the root supervisor ended, written by its exit hook on a CAF thread.
struct root_outcome {
  std::atomic<bool> done{false};
  std::mutex mtx;
  caf::error reason;
};

// Blocks SIGINT/SIGTERM in every thread (threads inherit the mask), so only the
// main thread's sigtimedwait sees them and no handler runs in a random thread.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

// Waits up to `limit` for the root to be done; returns whether it is.
bool await_root(root_outcome& outcome, caf::timespan limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!outcome.done.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  return outcome.done.load();
}

int run(const node::node_options& opts, const sigset_t& stop_signals) {
  caf::actor_system_config cfg;
  add_error_category(cfg);
  if (opts.actor_threads > 0)
    cfg.set("scheduler.max-threads", static_cast<int64_t>(opts.actor_threads));
  // The options accept only the policies this knows.
  install_scheduler(cfg, opts.actor_scheduler);
  // Entity messages and answers cross nodes: their types must be known by name.
  placement::add_message_types(cfg);
  cfg.add_message_type<user::user_record>("troupe.user_record");
  cfg.add_message_type<user::user_patch>("troupe.user_patch");
  cfg.add_message_type<order::stock_record>("troupe.stock_record");
  cfg.add_message_type<order::order_item>("troupe.order_item");
  cfg.add_message_type<order::order_record>("troupe.order_record");
  auto transport = node::transport_of(opts);
  if (opts.cluster_port != 0)
    cluster::configure_transport(cfg, transport);
  caf::actor_system sys{cfg};
  if (opts.cluster_port != 0) {
    if (auto problem = cluster::verify_transport(sys, transport); !problem.empty()) {
      spdlog::critical("{}; the node stops", problem);
      return 2;
    }
    if (transport.insecure)
      spdlog::warn("--cluster-insecure: the cluster port {} speaks plain TCP without "
                   "authentication; anyone who reaches it can act as a member. Use mutual TLS "
                   "(--cluster-tls-*) on any network others share",
                   opts.cluster_port);
  }

  node::node_context ctx;
  ctx.system = &sys;
  ctx.options = opts;
  ctx.incarnation = random_hex(8);
  ctx.cluster = std::make_shared<cluster::shared_view>();
  ctx.metrics = std::make_shared<observability::registry>();
  ctx.names = std::make_shared<supervision::name_registry>();
  ctx.routes = std::make_shared<http::router>();
  ctx.draining = std::make_shared<std::atomic<bool>>(false);
  node::start_services(ctx);
  auto spec = node::root_spec(ctx);
  // Installed for the life of the process: hooks read it without holding a reference.
  if (ctx.chaos)
    chaos::faults::install(ctx.chaos);
  auto budget = supervision::stop_budget(spec);

  auto outcome = std::make_shared<root_outcome>();
  auto root = supervision::spawn_supervisor(sys, spec);
  root->attach_functor([outcome](const caf::error& reason) {
    std::lock_guard<std::mutex> guard{outcome->mtx};
    outcome->reason = reason;
    outcome->done = true;
  });
  ctx.names->put("root", root);
  spdlog::info("node {} started: {}", opts.node_name, node::version_line());

  int exit_code = 0;
  timespec tick{0, 100'000'000};
  while (!outcome->done.load()) {
    siginfo_t info;
    if (sigtimedwait(&stop_signals, &info, &tick) < 0)
      continue;
    spdlog::info("received {}; stopping (budget {} ms)", strsignal(info.si_signo),
                 std::chrono::duration_cast<std::chrono::milliseconds>(budget).count());
    ctx.draining->store(true);
    node::drain(ctx, std::chrono::milliseconds{opts.drain_timeout_ms});
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    if (!await_root(*outcome, budget + 1s)) {
      spdlog::error("the supervision tree did not stop within {} ms; killing it",
                    std::chrono::duration_cast<std::chrono::milliseconds>(budget).count());
      caf::anon_send_exit(root, caf::exit_reason::kill);
      await_root(*outcome, 2s);
      exit_code = 1;
    }
    break;
  }
  {
    std::lock_guard<std::mutex> guard{outcome->mtx};
    if (!ctx.draining->load()) {
      spdlog::critical("root supervisor exited: {}; the node stops", describe(outcome->reason));
      exit_code = 1;
    }
  }
  root = nullptr;
  node::stop_services(ctx);
  spdlog::info("node {} stopped", opts.node_name);
  // The actor system's destructor waits for every connection. A peer may still dial in while
  // it runs, and a connection left half-open in its TLS handshake would hold it forever: keep
  // closing what arrives on the cluster port, and bound the stop.
  std::thread([exit_code, port = opts.cluster_port] {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (port != 0)
        cluster::close_connections(port);
      std::this_thread::sleep_for(100ms);
    }
    spdlog::error("the actor system did not shut down within 10 s; exiting");
    std::_Exit(exit_code);
  }).detach();
  return exit_code;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = node::parse_options(argc, argv);
  if (parsed.exit_code) {
    std::fputs(parsed.message.c_str(), *parsed.exit_code == 0 ? stdout : stderr);
    std::fputc('\n', *parsed.exit_code == 0 ? stdout : stderr);
    return *parsed.exit_code;
  }
  auto& opts = parsed.options;
  observability::setup_logging(opts.log_level, *observability::parse_log_format(opts.log_format),
                               opts.node_name);
  auto stop_signals = block_stop_signals();
  try {
    return run(opts, stop_signals);
  } catch (const std::exception& ex) {
    spdlog::critical("troupe-node failed: {}", ex.what());
    return 1;
  }
}
