#include "support/cluster.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "support/loopback_server.hpp"

namespace troupe::testing {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

test_certs::test_certs() {
  std::string pattern = (std::filesystem::temp_directory_path() / "troupe-certs-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot make a folder for certificates");
  dir_ = pattern;
}

test_certs::~test_certs() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void test_certs::make(const std::string& name) {
  if (std::filesystem::exists(dir_ + "/" + name + ".pem"))
    return;
  auto command = std::string{"'"} + TROUPE_CERTS_SCRIPT + "' '" + dir_ + "' '" + name + "'";
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("scripts/cluster-certs failed for " + name);
}

std::string test_certs::cert(const std::string& name) {
  make(name);
  return dir_ + "/" + name + ".pem";
}

std::string test_certs::key(const std::string& name) {
  make(name);
  return dir_ + "/" + name + ".key";
}

std::vector<std::string> test_certs::flags_for(const std::string& name) {
  return {"--cluster-tls-cert", cert(name), "--cluster-tls-key", key(name),
          "--cluster-tls-ca",   ca()};
}

test_cluster::member& test_cluster::start(const std::string& name, std::vector<std::string> extra,
                                          const std::string& with_secret) {
  member m{name, loopback_server::unused_port(), {}, nullptr};
  m.flags = {"--node-name",      name,
             "--admin-token",    admin_token,
             "--cluster-host",   "127.0.0.1",
             "--advertise-host", "127.0.0.1",
             "--cluster-port",   std::to_string(m.cluster_port),
             "--cluster-secret", with_secret};
  if (!nodes_.empty() && std::find(extra.begin(), extra.end(), "--seeds") == extra.end()) {
    m.flags.push_back("--seeds");
    m.flags.push_back("127.0.0.1:" + std::to_string(nodes_.front().cluster_port));
  }
  m.flags.insert(m.flags.end(), common_.begin(), common_.end());
  m.flags.insert(m.flags.end(), extra.begin(), extra.end());
  if (std::find(m.flags.begin(), m.flags.end(), "--cluster-insecure") == m.flags.end()) {
    auto tls = certs_.flags_for(name);
    m.flags.insert(m.flags.end(), tls.begin(), tls.end());
  }
  m.node = std::make_unique<running_node>(m.flags, std::map<std::string, std::string>{}, wrapper_);
  nodes_.push_back(std::move(m));
  return nodes_.back();
}

void test_cluster::restart(member& m) {
  m.node->proc.signal(SIGKILL);
  m.node->proc.wait_exit(5s);
  auto flags = m.flags;
  flags.push_back("--http-port");
  flags.push_back(std::to_string(m.node->port));
  m.node = std::make_unique<running_node>(flags, std::map<std::string, std::string>{}, wrapper_);
}

nlohmann::json test_cluster::view(member& m) {
  auto reply =
      m.node->get("/admin/cluster", {{"Authorization", std::string{"Bearer "} + admin_token}});
  if (reply.status != 200)
    return nlohmann::json::object();
  auto body = nlohmann::json::parse(reply.body, nullptr, false);
  return body.is_object() ? body : nlohmann::json::object();
}

std::pair<std::string, std::string> test_cluster::state_of(member& m, const std::string& name) {
  for (const auto& x : view(m).value("members", nlohmann::json::array()))
    if (x.value("name", "") == name)
      return {x.value("state", ""), x.value("incarnation", "")};
  return {"", ""};
}

std::optional<clock::duration> test_cluster::await_state(member& m, const std::string& name,
                                                         const std::string& state,
                                                         clock::duration limit) {
  auto start = clock::now();
  while (clock::now() - start < limit) {
    if (state_of(m, name).first == state)
      return clock::now() - start;
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

std::optional<std::string> test_cluster::await_all_up(std::chrono::seconds limit) {
  for (auto& viewer : nodes_)
    for (auto& seen : nodes_)
      if (!await_state(viewer, seen.name, "up", limit))
        return viewer.name + " never saw " + seen.name + " up: " + view(viewer).dump() + "\n" +
               viewer.node->proc.err() + "\n--- " + seen.name + "\n" + seen.node->proc.err();
  return std::nullopt;
}

double test_cluster::metric(member& m, const std::string& series) {
  auto body = m.node->get("/metrics").body;
  auto at = body.find("\n" + series + " "); // a sample line, not its # HELP line
  return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 2));
}

} // namespace troupe::testing
