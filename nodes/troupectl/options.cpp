#include "options.hpp"

#include <algorithm>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "build_info.hpp"
#include "client.hpp"
#include "duration.hpp"
#include "exit_code.hpp"
#include "troupe/core/error.hpp"

namespace troupe::ctl {

namespace {

constexpr std::string_view footer = R"(Exit codes:
  0  ok
  1  the server answered with an error (its problem title and detail on stderr)
  2  usage error: a bad flag or argument (nothing was sent)
  3  the node could not be reached or did not answer within --timeout
  4  not authorized: the admin token is missing or wrong (401/403)

Durations: a whole number and a unit: 500ms, 2s, 1m, 1h.)";

// One line naming the problem, then where to look; CLI11's messages span lines at times.
parse_result usage_error(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return {std::nullopt, exit_code::usage_error,
          "troupectl: " + text + "\nrun 'troupectl --help' for usage"};
}

std::optional<std::string> to_ms(const std::string& flag, const std::string& text, int64_t& out) {
  auto d = parse_duration(text);
  if (!d)
    return flag + ": expected a duration like 500ms, 2s or 1m, got '" + text + "'";
  out = d->count();
  return std::nullopt;
}

std::string joined_types() {
  std::string out;
  for (auto t : fault_types())
    out += (out.empty() ? "" : ", ") + std::string{t};
  return out;
}

// The raw text of duration flags, converted once CLI11 has parsed.
struct duration_flags {
  std::string for_text;
  std::optional<std::string> delay_text;
};

void add_fault_options(CLI::App& add, fault_spec& f, duration_flags& d) {
  add.add_option("type", f.type, "The fault: " + joined_types())->required();
  add.add_option("--for", d.for_text, "How long the fault stays, e.g. 30s")->required();
  add.add_option("--node", f.node, "Only on this node");
  add.add_option("--kind", f.kind, "Only for entities of this kind");
  add.add_option("--key", f.key, "Only for the entity with this key");
  add.add_option("--message", f.message, "Only for this message type");
  add.add_option("--probability", f.probability, "Share of matching events hit, 0 to 1")
      ->check(CLI::Validator(
          [](std::string& text) {
            auto p = std::strtod(text.c_str(), nullptr);
            return p >= 0.0 && p <= 1.0 ? std::string{} : "must be between 0 and 1, got " + text;
          },
          "0..1"));
  add.add_option("--delay", d.delay_text, "The delay added, e.g. 200ms");
  add.add_option("--path", f.path, "The store or HTTP path the fault applies to");
  add.add_option("--dependency", f.dependency, "The dependency the fault applies to");
}

// Checks CLI11 cannot express: fault type names and duration syntax.
std::optional<std::string> finish_fault(fault_spec& f, const duration_flags& d) {
  auto& types = fault_types();
  if (std::find(types.begin(), types.end(), f.type) == types.end())
    return "unknown fault type '" + f.type + "' (one of: " + joined_types() + ")";
  if (auto problem = to_ms("--for", d.for_text, f.duration_ms))
    return problem;
  if (f.duration_ms == 0)
    return "--for: must be longer than 0ms";
  if (d.delay_text) {
    int64_t ms = 0;
    if (auto problem = to_ms("--delay", *d.delay_text, ms))
      return problem;
    f.delay_ms = ms;
  }
  return std::nullopt;
}

} // namespace

const std::vector<std::string_view>& fault_types() {
  static const std::vector<std::string_view> types{
      "delay",      "drop",       "duplicate",  "kill_entity",     "kill_actor",
      "crash_node", "store_slow", "store_fail", "dependency_slow", "dependency_fail"};
  return types;
}

std::string version_line() {
  return "troupectl " + std::string{node::build_version()} + " (" +
         std::string{node::build_revision()} + ")";
}

parse_result parse_command_line(int argc, const char* const* argv) {
  invocation inv;
  duration_flags durations;
  CLI::App app{"troupectl: look at and break a Troupe cluster through one node's admin API",
               "troupectl"};
  app.footer(std::string{footer});
  app.set_version_flag("--version", version_line());
  app.fallthrough();
  app.require_subcommand(1);
  app.add_option("--url", inv.url, "The node, http://HOST:PORT (default http://127.0.0.1:8080)")
      ->envname("TROUPE_URL");
  app.add_option("--token", inv.token, "The node's admin token")->envname("TROUPE_ADMIN_TOKEN");
  app.add_flag("--json", inv.json, "Print the server's JSON as it is");
  app.add_option("--timeout", inv.timeout_ms, "Longest wait for each request in ms (default 5000)")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}));

  auto cluster = app.add_subcommand("cluster", "The members as this node sees them");
  auto tree = app.add_subcommand("tree", "The supervision tree, indented");
  tree->alias("supervision");
  auto entities = app.add_subcommand("entities", "Active entities per kind");
  entities->add_option("--kind", inv.entity_kind, "Only this kind");
  entities->add_option("--limit", inv.limit, "At most this many keys per kind")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  auto health = app.add_subcommand("health", "Whether the node is alive and ready");
  auto faults = app.add_subcommand("faults", "Injected faults (needs a node started with --chaos)");
  faults->require_subcommand(1);
  auto list = faults->add_subcommand("list", "The active faults");
  auto add = faults->add_subcommand("add", "Inject a fault; prints its id");
  add_fault_options(*add, inv.fault, durations);
  auto rm = faults->add_subcommand("rm", "Remove a fault");
  rm->add_option("id", inv.fault_id, "The fault's id")->required();
  auto reset = faults->add_subcommand("reset", "Remove every fault");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return {std::nullopt, exit_code::ok, app.help()};
  } catch (const CLI::CallForVersion&) {
    return {std::nullopt, exit_code::ok, version_line() + "\n"};
  } catch (const CLI::RequiredError& e) {
    // CLI11 says "A subcommand is required" without naming the choices.
    if (std::string_view{e.what()}.find("subcommand") == std::string_view::npos)
      return usage_error(e.what());
    auto what = faults->parsed() ? "faults: a subcommand is required: list, add, rm, reset"
                                 : "a command is required: cluster, tree, entities, health, faults";
    if (auto extra = app.remaining(true); !extra.empty())
      return usage_error("unknown command '" + extra.front() + "'; " + what);
    return usage_error(what);
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }
  auto url = http::parse_http_url(inv.url);
  if (!url)
    return usage_error("--url: " + reason(url.error()));
  inv.node = *url;
  const std::pair<CLI::App*, command> commands[] = {
      {cluster, command::cluster}, {tree, command::tree},         {entities, command::entities},
      {health, command::health},   {list, command::faults_list},  {add, command::faults_add},
      {rm, command::faults_rm},    {reset, command::faults_reset}};
  for (auto [sub, what] : commands)
    if (sub->parsed())
      inv.what = what;
  if (inv.what == command::faults_add)
    if (auto problem = finish_fault(inv.fault, durations))
      return usage_error(*problem);
  return {std::move(inv), exit_code::ok, {}};
}

} // namespace troupe::ctl
