// The image on its own, as an operator first meets it: its user, labels and entrypoint;
// run read-only with the store in memory, it answers /healthz as pid 1 and exits 0 on
// SIGTERM within the grace period.

#include <chrono>
#include <sstream>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pods/command.hpp"
#include "pods/kubelet.hpp"
#include "pods/prepared.hpp"
#include "pods/sandbox.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

TEST(image, runs_alone_as_non_root_read_only_pid_one_and_stops_cleanly_on_sigterm) {
  prepared prep;
  auto config = json::parse(must_run({"podman", "image", "inspect", troupe_image}))[0]["Config"];
  EXPECT_EQ(config.value("User", ""), "10001:10001");
  EXPECT_EQ(config["Entrypoint"], json::array({"/usr/local/bin/troupe-node"}));
  const auto& labels = config["Labels"];
  EXPECT_FALSE(labels.value("org.opencontainers.image.version", "").empty()) << labels.dump();
  EXPECT_FALSE(labels.value("org.opencontainers.image.revision", "").empty()) << labels.dump();
  EXPECT_TRUE(config["ExposedPorts"].contains("8080/tcp")) << config.dump();
  EXPECT_TRUE(config["ExposedPorts"].contains("7100/tcp")) << config.dump();

  auto version =
      run_command({"podman", "run", "--rm", "--network=none", troupe_image, "--version"});
  EXPECT_EQ(version.code, 0) << version.err;
  EXPECT_NE(version.out.find(labels.value("org.opencontainers.image.version", "?")),
            std::string::npos)
      << version.out;

  pod_sandbox box{"troupe-image-" + std::to_string(::getpid()), 100 + (::getpid() + 75) % 150};
  pod_plan plan;
  plan.name = "troupe-alone";
  plan.image = troupe_image;
  plan.flags = {"--read-only", "--read-only-tmpfs=false", "--cap-drop=all",
                "--security-opt=no-new-privileges"};
  auto ip = box.address(5);
  box.run(plan, ip, {});
  probe health;
  health.path = "/healthz";
  health.port = 8080;
  ASSERT_TRUE(await_probe(box, plan.name, ip, health, 30s)) << box.podman({"logs", plan.name});
  // troupe-node itself is pid 1 (it handles SIGTERM; nothing reaps for it) and not root.
  std::istringstream top{box.podman({"top", plan.name, "pid", "user", "args"})};
  std::string pid, user, line;
  std::getline(top, line); // the header
  top >> pid >> user;
  EXPECT_EQ(pid, "1");
  EXPECT_EQ(user, "troupe");
  auto began = std::chrono::steady_clock::now();
  box.podman({"stop", "-t", "30", plan.name});
  auto took = std::chrono::steady_clock::now() - began;
  EXPECT_EQ(box.exit_code(plan.name), 0) << box.podman({"logs", plan.name});
  EXPECT_LT(took, 15s) << "SIGTERM took longer than the drain timeout";
}

} // namespace
} // namespace troupe::testing
