#include "database.hpp"

#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "pods/command.hpp"

namespace troupe::chaos_harness {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::run_command;

namespace {

std::string newest_bin_dir() {
  for (int version = 17; version >= 12; --version) {
    auto dir = "/usr/lib/postgresql/" + std::to_string(version) + "/bin";
    if (fs::exists(dir + "/initdb"))
      return dir;
  }
  throw std::runtime_error("PostgreSQL server binaries not found (apt-get install postgresql)");
}

// PostgreSQL refuses to run as root.
std::vector<std::string> as_postgres(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  return argv;
}

} // namespace

database::database(std::string dir, std::string ns, std::string address, std::string subnet)
    : ns_(std::move(ns)), address_(std::move(address)), bin_(newest_bin_dir()),
      dir_(std::move(dir)) {
  fs::create_directories(dir_);
  auto* pw = ::getpwnam("postgres");
  if (pw == nullptr || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
    throw std::runtime_error("no postgres user to run the server as");
  auto init = run_command(as_postgres({bin_ + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U",
                                       "postgres", "--no-locale", "-E", "UTF8"}),
                          120s);
  if (init.code != 0)
    throw std::runtime_error("initdb failed: " + init.out + init.err);
  {
    std::ofstream hba{dir_ + "/data/pg_hba.conf", std::ios::app};
    hba << "host all all " << subnet << " trust\n";
    std::ofstream conf{dir_ + "/data/postgresql.conf", std::ios::app};
    conf << "fsync = on\nsynchronous_commit = on\nmax_connections = 200\n";
  }
  if (!start())
    throw std::runtime_error("PostgreSQL did not start in " + ns_);
  auto made = run_command({"createdb", "-h", dir_, "-p", "5432", "-U", "postgres", "troupe"}, 30s);
  if (made.code != 0)
    throw std::runtime_error("createdb failed: " + made.err);
}

database::~database() {
  stop_immediately();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string database::node_url() const {
  return "postgresql://postgres@" + address_ + ":5432/troupe";
}

std::string database::local_url() const {
  return "postgresql://postgres@/troupe?host=" + dir_ + "&port=5432";
}

bool database::start() {
  auto options = "-p 5432 -k " + dir_ + " -c listen_addresses=" + address_;
  auto argv = as_postgres({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/log", "-w", "-t",
                           "60", "-o", options, "start"});
  argv.insert(argv.begin(), {"ip", "netns", "exec", ns_});
  running_ = run_command(argv, 90s).code == 0;
  return running_;
}

bool database::stop_immediately() {
  if (!running_)
    return true;
  running_ = false;
  return run_command(as_postgres({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w",
                                  "-t", "30", "stop"}),
                     45s)
             .code == 0;
}

std::string database::query(const std::string& sql) const {
  return run_command(
             {"psql", "-h", dir_, "-p", "5432", "-U", "postgres", "-d", "troupe", "-tAc", sql}, 10s)
      .out;
}

} // namespace troupe::chaos_harness
