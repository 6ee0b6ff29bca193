#include "faults.hpp"

#include <csignal>
#include <thread>

#include "pods/command.hpp"
#include "runtime_faults.hpp"

namespace troupe::chaos_harness {

using namespace std::chrono_literals;
using testing::run_command;

namespace {

// Sleeps `ms`, waking early when the campaign stops.
void hold(std::int64_t ms, const std::atomic<bool>& stopping) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds{ms};
  while (!stopping && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
}

// Runs a command in a node's namespace; an error goes into `detail`.
void in_ns(const std::string& ns, std::vector<std::string> argv, nlohmann::json& detail) {
  argv.insert(argv.begin(), {"ip", "netns", "exec", ns});
  auto r = run_command(argv, 15s);
  if (r.code == 0)
    return;
  // `detail` starts out null, and value() throws on anything but an object.
  auto before = detail.is_object() ? detail.value("error", "") : std::string{};
  detail["error"] = before + r.err;
}

// The iptables rules of a partition or of packet loss, as argument lists after -I/-D CHAIN.
std::vector<std::vector<std::string>> rules_of(const planned_fault& f, const fault_context& ctx) {
  std::vector<std::vector<std::string>> rules;
  if (f.type == "loss") {
    auto p = std::to_string(f.params.value("probability", 0.1));
    for (auto [chain, dir] : {std::pair{"INPUT", "-i"}, std::pair{"OUTPUT", "-o"}})
      rules.push_back({chain, "!", dir, "lo", "-m", "statistic", "--mode", "random",
                       "--probability", p, "-j", "DROP"});
    return rules;
  }
  for (const auto& peer : ctx.nodes.names()) {
    if (peer == f.target)
      continue;
    auto ip = ctx.nodes.address(peer);
    rules.push_back({"INPUT", "-s", ip, "-j", "DROP"});
    if (f.type == "partition")
      rules.push_back({"OUTPUT", "-d", ip, "-j", "DROP"});
  }
  return rules;
}

void iptables(const std::string& ns, const char* op, const std::vector<std::string>& rule,
              nlohmann::json& detail) {
  std::vector<std::string> argv{"iptables", "-w", op};
  argv.insert(argv.end(), rule.begin(), rule.end());
  in_ns(ns, argv, detail);
}

void rolling_restart(fault_context& ctx, nlohmann::json& detail) {
  auto each = nlohmann::json::array();
  for (const auto& node : ctx.nodes.names()) {
    if (ctx.stopping)
      break;
    auto began = since(ctx.origin);
    ctx.nodes.signal(node, SIGTERM);
    bool clean = ctx.nodes.wait_exit(node, 15s);
    if (!clean) {
      ctx.nodes.signal(node, SIGKILL);
      ctx.nodes.wait_exit(node, 5s);
    }
    ctx.nodes.start(node);
    bool ready = ctx.nodes.wait_ready(node, 30s);
    each.push_back({{"node", node},
                    {"clean_exit", clean},
                    {"ready", ready},
                    {"ms", (since(ctx.origin) - began) / 1000}});
  }
  detail["nodes"] = each;
}

} // namespace

micros since(std::chrono::steady_clock::time_point origin) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               origin)
      .count();
}

fault_window apply_fault(const planned_fault& f, fault_context& ctx) {
  fault_window w;
  w.type = f.type;
  w.target = f.target;
  w.detail = f.params;
  w.detail["planned_ms"] = f.duration_ms;
  auto& d = w.detail;
  int node = ctx.nodes.index(f.target);
  auto ns = node > 0 ? ctx.box.node_ns(node) : std::string{};
  w.start = since(ctx.origin);
  if (f.type == "kill") {
    ctx.nodes.signal(f.target, SIGKILL);
    ctx.nodes.wait_exit(f.target, 5s);
    hold(f.duration_ms, ctx.stopping);
    ctx.nodes.start(f.target);
  } else if (f.type == "stop") {
    ctx.nodes.signal(f.target, SIGSTOP);
    hold(f.duration_ms, ctx.stopping);
    ctx.nodes.signal(f.target, SIGCONT);
  } else if (f.type == "partition" || f.type == "partition_one_way" || f.type == "loss") {
    auto rules = rules_of(f, ctx);
    for (const auto& r : rules)
      iptables(ns, "-I", r, d);
    hold(f.duration_ms, ctx.stopping);
    for (const auto& r : rules)
      iptables(ns, "-D", r, d);
  } else if (f.type == "bandwidth") {
    auto rate = std::to_string(f.params.value("rate_kbit", 1024)) + "kbit";
    std::vector<std::string> tbf{"tbf", "rate", rate, "burst", "32kbit", "latency", "400ms"};
    auto add = [&](const std::string& in, const std::string& dev) {
      std::vector<std::string> argv{"tc", "qdisc", "replace", "dev", dev, "root"};
      argv.insert(argv.end(), tbf.begin(), tbf.end());
      in_ns(in, argv, d);
    };
    add(ns, "eth0");                                     // what the node sends
    add(ctx.box.switch_ns(), ctx.box.switch_port(node)); // what it receives
    hold(f.duration_ms, ctx.stopping);
    // An overlapping bandwidth fault on the same node may have removed the limit already
    // (its window as recorded is then longer than the limit was, which only loosens the
    // checks): a missing qdisc is no error.
    nlohmann::json ignored;
    in_ns(ns, {"tc", "qdisc", "del", "dev", "eth0", "root"}, ignored);
    in_ns(ctx.box.switch_ns(), {"tc", "qdisc", "del", "dev", ctx.box.switch_port(node), "root"},
          ignored);
  } else if (f.type == "latency") {
    ctx.proxy.set_delay(static_cast<std::size_t>(node - 1), f.params.value("delay_ms", 100));
    hold(f.duration_ms, ctx.stopping);
    ctx.proxy.set_delay(static_cast<std::size_t>(node - 1), 0);
  } else if (f.type == "db_restart") {
    if (!ctx.db.stop_immediately())
      d["error"] = "pg_ctl stop failed";
    hold(f.duration_ms, ctx.stopping);
    if (!ctx.db.start())
      d["error"] = "PostgreSQL did not start again";
  } else if (f.type == "rolling_restart") {
    rolling_restart(ctx, d);
  } else if (f.type.rfind("runtime:", 0) == 0) {
    apply_runtime_fault(f, ctx, d, [&](std::int64_t ms) { hold(ms, ctx.stopping); });
  } else {
    d["error"] = "unknown fault type";
  }
  w.end = since(ctx.origin);
  return w;
}

} // namespace troupe::chaos_harness
