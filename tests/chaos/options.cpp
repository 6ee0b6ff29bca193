#include "options.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "schedule.hpp"

namespace troupe::chaos_harness {

std::optional<int> parse_options(int argc, char** argv, campaign_options& o) {
  CLI::App app{"troupe-chaos: a cluster of troupe-node processes in network namespaces, a load "
               "through it, faults from a seeded schedule, then checks that nothing "
               "acknowledged was lost (needs root)",
               "troupe-chaos"};
  std::string mix;
  std::string fault_duration;
  app.add_option("--duration", o.duration_s, "Seconds of the fault phase")
      ->check(CLI::Range(1.0, 86400.0));
  app.add_option("--seed", o.seed, "Seed of the fault schedule and of the load");
  app.add_option("--out", o.out, "Folder for result.json, report.html and the node logs");
  app.add_option("--nodes", o.nodes, "troupe-node processes")->check(CLI::Range(2, 9));
  app.add_option("--clients", o.clients, "Concurrent clients of the load")
      ->check(CLI::Range(1, 512));
  app.add_option("--rate", o.rate_per_minute, "Faults started per minute")
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--mix", mix,
                 "Weights of fault types, TYPE=WEIGHT,... (types: kill stop partition "
                 "partition_one_way loss bandwidth latency db_restart rolling_restart "
                 "runtime:<delay|drop|duplicate|kill_entity|kill_actor|crash_node|store_slow|"
                 "store_fail|dependency_slow|dependency_fail>); default: all of them");
  app.add_option("--fault-duration", fault_duration, "MIN:MAX seconds a fault lasts (default 1:3)");
  app.add_option("--settle", o.settle_s, "Seconds of load after the last fault")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--slo-error-rate", o.slo_error_rate,
                 "Share of failed requests outside fault windows that stops the campaign")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--slo-window", o.slo_window_s,
                 "Seconds the error rate may stay above --slo-error-rate outside fault windows")
      ->check(CLI::Range(1.0, 3600.0));
  app.add_flag("--keep", o.keep, "Keep the node and database logs in --out/logs");
  app.add_option("--known-failure", o.known_failures,
                 "An invariant that may fail without failing the exit code (still checked and "
                 "reported, marked known); repeatable");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  o.mix = default_mix();
  if (!mix.empty())
    if (auto bad = parse_mix(mix, o.mix)) {
      std::cerr << *bad << "\n";
      return 2;
    }
  if (!fault_duration.empty()) {
    auto colon = fault_duration.find(':');
    try {
      double lo = std::stod(fault_duration.substr(0, colon));
      double hi = colon == std::string::npos ? lo : std::stod(fault_duration.substr(colon + 1));
      if (lo < 0 || hi < lo)
        throw std::invalid_argument{"range"};
      o.min_fault_ms = static_cast<std::int64_t>(lo * 1000);
      o.max_fault_ms = static_cast<std::int64_t>(hi * 1000);
    } catch (const std::exception&) {
      std::cerr << "--fault-duration: expected MIN:MAX seconds, e.g. 1:3\n";
      return 2;
    }
  }
  return std::nullopt;
}

} // namespace troupe::chaos_harness
