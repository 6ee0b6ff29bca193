#include "nodes.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "pods/command.hpp"
#include "support/http_client.hpp"

namespace troupe::chaos_harness {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The troupe-node this tree builds, unless TROUPE_NODE_BINARY names another (e.g. to run the
// campaign against a different build).
std::string node_binary() {
  const char* other = std::getenv("TROUPE_NODE_BINARY");
  return other != nullptr && *other != '\0' ? other : TROUPE_NODE_BINARY;
}

} // namespace

// Without the fault API the campaign still runs the faults it makes from outside.
bool node_set::has_chaos_api() {
  static const bool known = [] {
    auto help = testing::run_command({node_binary(), "--help"}, 10s);
    return help.out.find("--chaos") != std::string::npos;
  }();
  return known;
}

node_set::node_set(const sandbox& box, int count, std::string db_url, fs::path logs,
                   credentials creds)
    : box_(box), db_url_(std::move(db_url)), logs_(std::move(logs)), creds_(std::move(creds)) {
  certs_ = (logs_ / "tls").string();
  std::string make_certs = std::string{"'"} + TROUPE_CERTS_SCRIPT + "' '" + certs_ + "'";
  for (int i = 1; i <= count; ++i) {
    names_.push_back("node-" + std::to_string(i));
    make_certs += " node-" + std::to_string(i);
  }
  if (std::system(make_certs.c_str()) != 0)
    throw std::runtime_error("scripts/cluster-certs failed");
  pids_.assign(names_.size(), -1);
}

node_set::~node_set() {
  kill_all();
}

int node_set::index(const std::string& name) const {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name)
      return static_cast<int>(i) + 1;
  return 0;
}

std::string node_set::address(const std::string& name) const {
  return box_.node_ip(index(name));
}

std::vector<std::string> node_set::argv_for(int i) const {
  std::string seeds;
  for (std::size_t n = 1; n <= names_.size(); ++n)
    seeds += (seeds.empty() ? "" : ",") + box_.node_ip(static_cast<int>(n)) + ":" +
             std::to_string(cluster_port);
  auto name = names_[static_cast<std::size_t>(i - 1)];
  auto ip = box_.node_ip(i);
  std::vector<std::string> argv{node_binary(),
                                "--node-name",
                                name,
                                "--http-host",
                                ip,
                                "--http-port",
                                std::to_string(http_port),
                                "--cluster-host",
                                ip,
                                "--advertise-host",
                                ip,
                                "--cluster-port",
                                std::to_string(cluster_port),
                                "--seeds",
                                seeds,
                                "--cluster-secret",
                                "chaos-cluster-secret-0123456789",
                                "--cluster-tls-cert",
                                certs_ + "/" + name + ".pem",
                                "--cluster-tls-key",
                                certs_ + "/" + name + ".key",
                                "--cluster-tls-ca",
                                certs_ + "/ca.pem",
                                "--store",
                                "postgres",
                                "--database-url",
                                db_url_,
                                "--jwt-secret",
                                "chaos-jwt-secret-0123456789abcdef0123",
                                "--admin-token",
                                creds_.admin_token,
                                "--admin-email",
                                creds_.admin_email,
                                "--admin-password",
                                creds_.admin_password,
                                "--hash-threads",
                                "1",
                                "--actor-threads",
                                "2",
                                "--drain-timeout-ms",
                                "3000"};
  if (has_chaos_api())
    argv.push_back("--chaos");
  return argv;
}

void node_set::start(const std::string& name) {
  int i = index(name);
  if (i == 0)
    throw std::invalid_argument("no node " + name);
  auto argv = argv_for(i);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  auto log_path = (logs_ / (name + ".log")).string();
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int ns = ::open(("/run/netns/" + box_.node_ns(i)).c_str(), O_RDONLY | O_CLOEXEC);
  if (log < 0 || ns < 0)
    throw std::runtime_error("cannot open the log or the namespace of " + name);
  std::lock_guard guard{mtx_};
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    if (::setns(ns, CLONE_NEWNET) != 0)
      ::_exit(126);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log);
  ::close(ns);
  if (pid < 0)
    throw std::runtime_error("fork failed");
  pids_[static_cast<std::size_t>(i - 1)] = pid;
}

void node_set::signal(const std::string& name, int sig) {
  std::lock_guard guard{mtx_};
  auto pid = pids_[static_cast<std::size_t>(index(name) - 1)];
  if (pid > 0)
    ::kill(pid, sig);
}

bool node_set::alive(const std::string& name) {
  std::lock_guard guard{mtx_};
  auto& pid = pids_[static_cast<std::size_t>(index(name) - 1)];
  if (pid <= 0)
    return false;
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) {
    pid = -1;
    return false;
  }
  return true;
}

bool node_set::wait_exit(const std::string& name, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (alive(name)) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

bool node_set::ready(const std::string& name) const {
  return testing::http_call(address(name), http_port, "GET", "/readyz", {}, {}, 1s).status == 200;
}

bool node_set::wait_ready(const std::string& name, std::chrono::milliseconds limit) const {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready(name))
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::pair<int, std::string> node_set::admin(const std::string& name, const std::string& method,
                                            const std::string& target,
                                            const std::string& body) const {
  std::map<std::string, std::string> headers{{"Authorization", "Bearer " + creds_.admin_token}};
  if (!body.empty())
    headers["Content-Type"] = "application/json";
  auto reply = testing::http_call(address(name), http_port, method, target, headers, body, 2s);
  return {reply.status, reply.body};
}

nlohmann::json node_set::view(const std::string& name) const {
  auto [status, body] = admin(name, "GET", "/admin/cluster");
  auto json = nlohmann::json::parse(body, nullptr, false);
  return status == 200 && json.is_object() ? json : nlohmann::json::object();
}

bool node_set::converged() const {
  for (const auto& viewer : names_) {
    auto members = view(viewer).value("members", nlohmann::json::array());
    for (const auto& seen : names_) {
      bool up = false;
      for (const auto& m : members)
        if (m.value("name", "") == seen && m.value("state", "") == "up")
          up = true;
      if (!up)
        return false;
    }
  }
  return true;
}

void node_set::kill_all() {
  for (const auto& name : names_) {
    signal(name, SIGCONT); // a stopped process dies of SIGKILL too, but be plain about it
    signal(name, SIGKILL);
    wait_exit(name, 5s);
  }
}

} // namespace troupe::chaos_harness
