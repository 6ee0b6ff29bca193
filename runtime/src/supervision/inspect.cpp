// The supervisor's answer to inspect_atom: its subtree as JSON, nested
// supervisors asked in turn with a bounded timeout.

#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>

#include "supervisor_actor.hpp"
#include "troupe/core/error.hpp"

namespace troupe::supervision {

namespace {

// A nested supervisor that does not answer in time is reported, not waited for.
constexpr auto inspect_timeout = std::chrono::seconds(1);

int64_t ms_until(caf::actor_clock::time_point due, caf::actor_clock::time_point now) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count();
  return left < 0 ? 0 : left;
}

} // namespace

caf::result<std::string> supervisor_actor::inspect() {
  auto now = clock().now();
  auto tree = std::make_shared<nlohmann::json>(nlohmann::json{
      {"name", spec_.name},
      {"kind", "supervisor"},
      {"actor_id", id()},
      {"state", phase_ == phase::running      ? "running"
                : phase_ == phase::escalating ? "escalating"
                                              : "stopping"},
      {"strategy", to_string(spec_.strategy)},
      {"intensity",
       {{"max_restarts", spec_.intensity.max_restarts},
        {"window_ms",
         std::chrono::duration_cast<std::chrono::milliseconds>(spec_.intensity.window).count()}}},
      {"restart_budget_left", budget_left()},
      {"children", nlohmann::json::array()},
  });
  std::vector<std::pair<size_t, caf::actor>> nested;
  for (auto& child : children_) {
    nlohmann::json entry{
        {"name", child.spec.name},
        {"kind", to_string(child.spec.kind)},
        {"restart", to_string(child.spec.restart)},
        {"actor_id", child.handle ? nlohmann::json(child.handle.id()) : nlohmann::json()},
        {"state", to_string(child.status)},
        {"restarts", child.restarts},
        {"last_failure",
         child.last_failure.empty() ? nlohmann::json() : nlohmann::json(child.last_failure)},
        {"backoff_pending_ms",
         child.restart_due ? nlohmann::json(ms_until(*child.restart_due, now)) : nlohmann::json()},
    };
    if (child.spec.kind == child_kind::supervisor && child.handle &&
        child.status == child_status::running)
      nested.emplace_back((*tree)["children"].size(), child.handle);
    (*tree)["children"].push_back(std::move(entry));
  }
  if (nested.empty())
    return tree->dump();
  auto promise = make_response_promise<std::string>();
  auto left = std::make_shared<size_t>(nested.size());
  auto finish_one = [tree, left, promise]() mutable {
    if (--*left == 0)
      promise.deliver(tree->dump());
  };
  for (auto& [pos, handle] : nested) {
    request(handle, inspect_timeout, inspect_atom::value)
        .then(
            [tree, pos = pos, finish_one](const std::string& subtree) mutable {
              auto& entry = (*tree)["children"][pos];
              auto sub = nlohmann::json::parse(subtree, nullptr, false);
              for (auto key : {"strategy", "intensity", "restart_budget_left", "children"})
                if (sub.is_object() && sub.contains(key))
                  entry[key] = sub[key];
              finish_one();
            },
            [tree, pos = pos, finish_one](const caf::error& err) mutable {
              (*tree)["children"][pos]["inspect_error"] = describe(err);
              finish_one();
            });
  }
  return promise;
}

} // namespace troupe::supervision
