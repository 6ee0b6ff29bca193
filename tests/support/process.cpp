#include "support/process.hpp"

#include <csignal>
#include <cstring>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace troupe::testing {

using namespace std::chrono_literals;

process::process(std::vector<std::string> argv, std::map<std::string, std::string> env) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0)
    throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    close(out_pipe[0]);
    close(err_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    for (auto& [k, v] : env)
      setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  out_reader_ = std::thread{[this, fd = out_pipe[0]] { pump(fd, out_); }};
  err_reader_ = std::thread{[this, fd = err_pipe[0]] { pump(fd, err_); }};
}

process::~process() {
  if (!exit_code_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait_exit(5s);
  }
  if (out_reader_.joinable())
    out_reader_.join();
  if (err_reader_.joinable())
    err_reader_.join();
}

void process::pump(int fd, std::string& sink) {
  char buf[4096];
  for (;;) {
    auto n = read(fd, buf, sizeof(buf));
    if (n <= 0)
      break;
    std::lock_guard<std::mutex> guard{mtx_};
    sink.append(buf, static_cast<size_t>(n));
  }
  close(fd);
}

void process::signal(int sig) const {
  if (!exit_code_)
    ::kill(pid_, sig);
}

std::optional<int> process::wait_exit(std::chrono::milliseconds limit) {
  if (exit_code_)
    return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + limit;
  do {
    int status = 0;
    auto r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      // The pipes reach end-of-file once the process is gone; after the joins,
      // out() and err() hold everything it wrote.
      if (out_reader_.joinable())
        out_reader_.join();
      if (err_reader_.joinable())
        err_reader_.join();
      return exit_code_;
    }
    std::this_thread::sleep_for(5ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return std::nullopt;
}

std::optional<std::string> process::wait_for_line(const std::string& needle,
                                                  std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  do {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto pos = err_.find(needle);
      if (pos != std::string::npos) {
        auto begin = err_.rfind('\n', pos);
        begin = begin == std::string::npos ? 0 : begin + 1;
        auto end = err_.find('\n', pos);
        if (end != std::string::npos)
          return err_.substr(begin, end - begin);
      }
    }
    std::this_thread::sleep_for(5ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return std::nullopt;
}

std::string process::err() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return err_;
}

std::string process::out() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return out_;
}

std::optional<uint16_t> port_from_listening_line(const std::string& line) {
  auto pos = line.find("listening on http://");
  if (pos == std::string::npos)
    return std::nullopt;
  auto colon = line.find(':', pos + std::strlen("listening on http://"));
  if (colon == std::string::npos)
    return std::nullopt;
  return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

std::optional<std::vector<std::string>> pid_one_wrapper() {
  std::vector<std::string> wrapper{"/usr/bin/unshare", "--pid",        "--fork",
                                   "--kill-child",     "--mount-proc", "--"};
  auto probe_argv = wrapper;
  probe_argv.push_back("/bin/true");
  process probe{probe_argv};
  auto code = probe.wait_exit(std::chrono::seconds(5));
  if (!code || *code != 0)
    return std::nullopt;
  return wrapper;
}

} // namespace troupe::testing
