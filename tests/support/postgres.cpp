#include "support/postgres.hpp"
#include "support/loopback_server.hpp"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "support/process.hpp"

namespace troupe::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Newest installed server first; TROUPE_PG_BIN overrides the search.
std::string find_bin_dir() {
  if (const char* env = std::getenv("TROUPE_PG_BIN"); env != nullptr && *env != '\0')
    return fs::exists(fs::path{env} / "initdb") ? env : "";
  for (int version = 17; version >= 12; --version) {
    auto dir = "/usr/lib/postgresql/" + std::to_string(version) + "/bin";
    if (fs::exists(dir + "/initdb"))
      return dir;
  }
  return "";
}

std::string find_runuser() {
  for (const char* p : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"})
    if (fs::exists(p))
      return p;
  throw std::runtime_error("runuser not found; PostgreSQL refuses to run as root without it");
}

// PostgreSQL will not run as root: tests (root in CI) switch to the postgres user.
std::vector<std::string> as_postgres(std::vector<std::string> argv) {
  if (::geteuid() != 0)
    return argv;
  std::vector<std::string> wrapped{find_runuser(), "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

struct outcome {
  int code;
  std::string output;
};

outcome run(std::vector<std::string> argv, std::chrono::milliseconds limit) {
  process p{std::move(argv)};
  auto code = p.wait_exit(limit);
  return {code ? *code : -1, p.out() + p.err()};
}

} // namespace

throwaway_postgres::throwaway_postgres(bool durable) : bin_dir_(find_bin_dir()), durable_(durable) {
  if (bin_dir_.empty())
    throw std::runtime_error("PostgreSQL server binaries not found (apt-get install postgresql)");
  std::string templ = (fs::temp_directory_path() / "troupe-pg-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  try {
    if (::geteuid() == 0) {
      auto* pw = ::getpwnam("postgres");
      if (pw == nullptr)
        throw std::runtime_error("no postgres user to run the server as");
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("chown of " + dir_ + " failed");
    }
    auto init = run(as_postgres({bin_dir_ + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U",
                                 "postgres", "--no-locale", "-E", "UTF8", "--no-sync"}),
                    60s);
    if (init.code != 0)
      throw std::runtime_error("initdb failed: " + init.output);
    bool started = false;
    for (int i = 0; i < 5 && !started; ++i) {
      port_ = loopback_server::unused_port();
      started = try_start();
    }
    if (!started)
      throw std::runtime_error("PostgreSQL did not start: " + log());
    auto created = run(as_postgres({bin_dir_ + "/createdb", "-h", dir_, "-p", std::to_string(port_),
                                    "-U", "postgres", "troupe_test"}),
                       30s);
    if (created.code != 0)
      throw std::runtime_error("createdb failed: " + created.output);
  } catch (...) {
    // The destructor does not run for a half-built object.
    if (running_)
      stop();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    throw;
  }
}

throwaway_postgres::~throwaway_postgres() {
  try {
    if (running_)
      stop();
  } catch (...) {
    // Nothing sensible left to do in a destructor; the directory still goes.
  }
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

bool throwaway_postgres::available() {
  return !find_bin_dir().empty();
}

std::string throwaway_postgres::url() const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/troupe_test";
}

bool throwaway_postgres::try_start() {
  std::string options = "-p " + std::to_string(port_) + " -k " + dir_ +
                        " -c listen_addresses=127.0.0.1" + (durable_ ? "" : " -c fsync=off");
  auto started = run(as_postgres({bin_dir_ + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/log",
                                  "-w", "-t", "30", "-o", options, "start"}),
                     45s);
  running_ = started.code == 0;
  return running_;
}

void throwaway_postgres::start() {
  if (running_)
    return;
  if (!try_start())
    throw std::runtime_error("PostgreSQL did not restart on port " + std::to_string(port_) + ": " +
                             log());
}

void throwaway_postgres::stop() {
  if (!running_)
    return;
  auto stopped = run(as_postgres({bin_dir_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate",
                                  "-w", "-t", "30", "stop"}),
                     45s);
  running_ = false;
  if (stopped.code != 0)
    throw std::runtime_error("pg_ctl stop failed: " + stopped.output);
}

std::string throwaway_postgres::log() const {
  std::ifstream in{dir_ + "/log"};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace troupe::testing
