#include "campaign.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <stdexcept>
#include <thread>

#include "database.hpp"
#include "invariants.hpp"
#include "load.hpp"
#include "nodes.hpp"
#include "phase.hpp"
#include "proxy.hpp"
#include "recovery.hpp"
#include "report.hpp"
#include "sandbox.hpp"
#include "schedule.hpp"

namespace troupe::chaos_harness {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

std::atomic<bool> interrupted{false};

namespace {

void check_interrupt() {
  if (interrupted)
    throw std::runtime_error("interrupted");
}

// Waits until every node is ready and sees every node up.
void await_cluster(node_set& nodes, const fs::path& logs) {
  for (const auto& n : nodes.names()) {
    auto deadline = steady::now() + 60s;
    while (!nodes.ready(n)) {
      check_interrupt();
      if (steady::now() > deadline || !nodes.alive(n))
        throw std::runtime_error(n + " did not become ready; see " +
                                 (logs / (n + ".log")).string());
      std::this_thread::sleep_for(100ms);
    }
  }
  auto deadline = steady::now() + 30s;
  while (!nodes.converged()) {
    check_interrupt();
    if (steady::now() > deadline)
      throw std::runtime_error("the nodes never all saw each other up: " +
                               nodes.view(nodes.names().front()).dump());
    std::this_thread::sleep_for(100ms);
  }
}

std::vector<planned_fault> make_schedule(const campaign_options& o,
                                         const std::vector<std::string>& names) {
  schedule_config sc;
  sc.seed = o.seed;
  sc.duration_ms = static_cast<std::int64_t>(o.duration_s * 1000);
  sc.rate_per_minute = o.rate_per_minute;
  sc.mix = o.mix;
  sc.min_fault_ms = o.min_fault_ms;
  sc.max_fault_ms = o.max_fault_ms;
  sc.nodes = names;
  auto plan = plan_schedule(sc);
  std::printf("seed %llu: %zu faults in %.0f s\n%s", static_cast<unsigned long long>(o.seed),
              plan.size(), o.duration_s, describe(plan).c_str());
  std::set<std::string> seen;
  for (const auto& f : plan)
    seen.insert(f.type);
  for (const auto& [type, weight] : o.mix)
    if (weight > 0 && !seen.count(type))
      std::printf("  (no %s: the phase has no room for it at this rate)\n", type.c_str());
  return plan;
}

nlohmann::json schedule_json(const std::vector<planned_fault>& plan) {
  auto out = nlohmann::json::array();
  for (const auto& f : plan)
    out.push_back({{"at_ms", f.at_ms},
                   {"type", f.type},
                   {"target", f.target},
                   {"duration_ms", f.duration_ms},
                   {"params", f.params}});
  return out;
}

// Whether every invariant held but those named known failures, which are marked as such.
bool held_but_known(run_record& run, const std::vector<std::string>& known) {
  bool held = true;
  for (auto& inv : run.invariants) {
    if (inv.passed)
      continue;
    if (std::find(known.begin(), known.end(), inv.name) == known.end())
      held = false;
    else
      inv.detail = "known failure, left out of the exit code: " + inv.detail;
  }
  return held;
}

void summarise(const run_record& run, bool passed) {
  std::printf("faults applied: %zu, operations: %zu, converged after: %lld ms\n", run.faults.size(),
              run.operations.size(), static_cast<long long>(run.converged_after_ms));
  for (const auto& w : run.faults)
    if (w.detail.contains("error"))
      std::printf("  fault %s@%s: %s\n", w.type.c_str(), w.target.c_str(),
                  w.detail["error"].dump().substr(0, 200).c_str());
  for (const auto& inv : run.invariants)
    std::printf("  %s %s: %s\n", inv.passed ? "ok  " : "FAIL", inv.name.c_str(),
                inv.detail.c_str());
  if (!run.aborted.empty())
    std::printf("aborted: %s\n", run.aborted.c_str());
  std::printf("%s\n", passed ? "PASSED" : "FAILED");
}

} // namespace

int run_campaign(const campaign_options& o) {
  std::vector<std::string> names;
  for (int i = 1; i <= o.nodes; ++i)
    names.push_back("node-" + std::to_string(i));
  auto plan = make_schedule(o, names);
  auto logs = o.out / "logs";
  fs::create_directories(logs);
  run_record run;
  run.seed = o.seed;
  run.planned = static_cast<micros>(o.duration_s * 1e6);
  run.nodes = names;
  run.figures["schedule"] = schedule_json(plan);
  bool passed = false;
  try {
    sandbox box{o.nodes};
    std::printf("sandbox: %s (namespaces troupe-chaos-%d-*)\n", box.subnet().c_str(), box.run());
    database db{box.scratch() + "/pg", box.db_ns(), box.db_ip(), box.subnet()};
    sandbox::enter(box.client_ns()); // the harness reaches the nodes as a client does
    std::vector<std::string> ns;
    std::vector<std::string> ips;
    for (int i = 1; i <= o.nodes; ++i) {
      ns.push_back(box.node_ns(i));
      ips.push_back(box.node_ip(i));
    }
    latency_proxy proxy{ns, ips, box.subnet(), node_set::cluster_port};
    if (!node_set::has_chaos_api())
      std::printf("troupe-node has no --chaos: the runtime faults will be recorded as failed\n");
    credentials creds;
    node_set nodes{box, o.nodes, db.node_url(), logs, creds};
    for (const auto& n : names)
      nodes.start(n);
    await_cluster(nodes, logs);
    std::printf("cluster of %d nodes up\n", o.nodes);

    load_config lc;
    for (const auto& n : names)
      lc.nodes.push_back({n, nodes.address(n), node_set::http_port});
    lc.clients = o.clients;
    lc.seed = o.seed;
    lc.admin_email = creds.admin_email;
    lc.admin_password = creds.admin_password;
    lc.on_thread_start = [client = box.client_ns()] { sandbox::enter(client); };
    lc.origin = steady::now();
    load_generator load{lc};
    std::string why;
    if (!load.prepare(60s, why))
      throw std::runtime_error("the load could not start: " + why);
    load.start();
    std::this_thread::sleep_for(2s); // a baseline before the first fault

    std::atomic<bool> stopping{false};
    fault_context ctx{box, nodes, db, proxy, lc.origin, stopping};
    {
      fault_phase phase{plan, ctx, load, o, stopping};
      phase.run_faults();
      run.fault_phase_end = since(lc.origin);
      std::printf("fault phase over; settling for %.0f s\n", o.settle_s);
      run.converged_after_ms = phase.settle();
      run.faults = phase.windows();
      run.aborted = phase.aborted();
      run.figures["unplanned_exits"] = phase.unplanned_exits();
    }
    if (interrupted && run.aborted.empty())
      run.aborted = "interrupted";
    load.stop(15s);
    run.operations = load.operations();
    run.finished = since(lc.origin);
    measure_recovery(run);
    run.figures["proxied_connections"] = proxy.connections();
    check_invariants(run, db.local_url());
    bool held = held_but_known(run, o.known_failures);
    write_outputs(run, o.out);
    passed = held && run.aborted.empty();
    summarise(run, passed);
    fs::copy_file(db.log_file(), logs / "postgresql.log", fs::copy_options::overwrite_existing);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe-chaos: %s\n", e.what());
    std::printf("logs kept in %s\n", logs.c_str());
    return 2;
  }
  std::error_code ignored;
  fs::remove_all(logs / "tls", ignored);
  if (passed && !o.keep)
    fs::remove_all(logs, ignored);
  else
    std::printf("logs kept in %s\n", logs.c_str());
  std::printf("outputs: %s/result.json, %s/report.html\n", o.out.c_str(), o.out.c_str());
  return passed ? 0 : 1;
}

} // namespace troupe::chaos_harness
