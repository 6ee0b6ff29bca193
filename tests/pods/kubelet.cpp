#include "pods/kubelet.hpp"

#include <algorithm>

#include "pods/command.hpp"
#include "support/http_client.hpp"

namespace troupe::testing {

using namespace std::chrono_literals;

bool probe_passes(const pod_sandbox&, const std::string& name, const std::string& ip,
                  const probe& p) {
  if (!p.exec.empty()) {
    std::vector<std::string> argv{"podman", "exec", name};
    argv.insert(argv.end(), p.exec.begin(), p.exec.end());
    return run_command(argv, 10s).code == 0;
  }
  auto r = http_call(ip, p.port, "GET", p.path, {}, {}, 1s);
  return r.status >= 200 && r.status < 400;
}

bool await_probe(const pod_sandbox& box, const std::string& name, const std::string& ip,
                 const probe& p, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!probe_passes(box, name, ip, p)) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

service_view::service_view(const pod_sandbox& box, std::vector<endpoint> pods,
                           std::chrono::milliseconds refresh)
    : box_(box), pods_(std::move(pods)), refresh_(refresh), thread_([this] { loop(); }) {}

service_view::~service_view() {
  stop_ = true;
  thread_.join();
}

size_t service_view::ready_count() {
  std::lock_guard<std::mutex> guard{mtx_};
  return ready_.size();
}

std::string service_view::pick() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (ready_.empty())
    return {};
  return ready_[next_++ % ready_.size()];
}

void service_view::terminating(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  terminating_.push_back(name);
}

void service_view::ready_again(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::erase(terminating_, name);
}

void service_view::loop() {
  while (!stop_) {
    std::vector<std::string> skip;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      skip = terminating_;
    }
    std::vector<std::string> ready;
    for (const auto& p : pods_)
      if (std::find(skip.begin(), skip.end(), p.name) == skip.end() &&
          probe_passes(box_, p.name, p.ip, p.readiness))
        ready.push_back(p.ip);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ready_ = std::move(ready);
    }
    std::this_thread::sleep_for(refresh_);
  }
}

} // namespace troupe::testing
