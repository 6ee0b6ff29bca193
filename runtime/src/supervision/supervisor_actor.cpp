#include "supervisor_actor.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <caf/actor_system.hpp>
#include <spdlog/spdlog.h>

#include "troupe/core/error.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::supervision {

namespace {

// `normal` and `user_shutdown` are the two ways of leaving on purpose; anything
// else (an exception, a kill, an error) is a failure.
bool is_normal_exit(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::normal || reason == caf::exit_reason::user_shutdown;
}

int64_t to_ms(caf::timespan x) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(x).count();
}

} // namespace

std::string to_string(child_status x) {
  switch (x) {
  case child_status::running:
    return "running";
  case child_status::stopping:
    return "stopping";
  case child_status::waiting:
    return "restarting";
  case child_status::stopped:
    return "stopped";
  }
  return "unknown";
}

supervisor_actor::supervisor_actor(caf::actor_config& cfg, supervisor_spec spec)
    : caf::event_based_actor(cfg), spec_(std::move(spec)) {
  for (auto& child : spec_.children) {
    child_slot slot;
    slot.spec = child;
    children_.push_back(std::move(slot));
  }
  rng_.seed(spec_.seed != 0 ? spec_.seed : std::random_device{}());
  if (spec_.metrics) {
    restarts_metric_ =
        &spec_.metrics->counters("troupe_supervisor_restarts_total",
                                 "Children restarted by a supervisor.", {"supervisor", "child"});
    // Every child's series exists at 0 from the start, so rate() sees the first restart.
    for (const auto& child : spec_.children)
      restarts_metric_->with({spec_.name, child.name});
    escalations_metric_ =
        &spec_.metrics
             ->counters("troupe_supervisor_escalations_total",
                        "Supervisors that exceeded their restart intensity.", {"supervisor"})
             .with({spec_.name});
  }
}

caf::behavior supervisor_actor::make_behavior() {
  set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
  set_exit_handler([this](caf::exit_msg& msg) { on_exit_request(msg); });
  for (size_t i = 0; i < children_.size(); ++i) {
    auto err = start_child(i);
    if (!err)
      continue;
    // As in OTP, a child that cannot start at all fails its supervisor's start:
    // retrying a misconfiguration would only hide it.
    phase_ = phase::shutting_down;
    exit_reason_ = make_error(errc::start_failed,
                              spec_.name + "/" + children_[i].spec.name + ": " + describe(err));
    std::vector<size_t> started(i);
    std::iota(started.begin(), started.end(), size_t{0});
    stop_in_reverse(started);
    break;
  }
  if (terminated_)
    return {};
  return {
      [this](restart_atom, uint64_t index, uint64_t epoch) { on_restart_due(index, epoch); },
      [this](stop_timeout_atom, uint64_t index, uint64_t epoch) { on_stop_timeout(index, epoch); },
      [this](inspect_atom) { return inspect(); },
      [this](child_atom, const std::string& name) -> caf::result<caf::actor> {
        for (auto& child : children_)
          if (child.spec.name == name && child.handle && child.status == child_status::running)
            return child.handle;
        return make_error(errc::not_found, spec_.name + " has no running child " + name);
      },
  };
}

void supervisor_actor::on_exit() {
  // Reached with live children only when this supervisor was killed or crashed:
  // take the subtree down with it, as a link would, without a link's habit of
  // killing the supervisor when a child is killed.
  for (auto& child : children_) {
    if (child.handle)
      send_exit(child.handle, caf::exit_reason::kill); // guarded children refuse anonymous exits
    if (spec_.names)
      spec_.names->erase(child.spec.name);
  }
}

caf::error supervisor_actor::start_child(size_t index) {
  auto& child = children_[index];
  caf::expected<caf::actor> started{caf::actor{}};
  try {
    started = child.spec.start(system());
  } catch (const std::exception& ex) {
    started = make_error(errc::start_failed, ex.what());
  }
  if (started && !*started)
    started = make_error(errc::start_failed, "start function returned no actor");
  if (!started) {
    auto reason = describe(started.error());
    spdlog::error("supervisor {}: child {} failed to start: {}", spec_.name, child.spec.name,
                  reason);
    child.last_failure = reason;
    return std::move(started.error());
  }
  child.handle = std::move(*started);
  child.status = child_status::running;
  child.restart_due.reset();
  monitor(child.handle);
  if (spec_.names)
    spec_.names->put(child.spec.name, child.handle);
  return caf::none;
}

std::optional<size_t> supervisor_actor::index_of(const caf::actor_addr& addr) const {
  for (size_t i = 0; i < children_.size(); ++i)
    if (children_[i].handle && children_[i].handle.address() == addr)
      return i;
  return std::nullopt;
}

void supervisor_actor::on_down(const caf::down_msg& msg) {
  auto index = index_of(msg.source);
  if (!index)
    return; // an earlier incarnation or a stranger
  auto& child = children_[*index];
  child.handle = nullptr;
  if (child.status == child_status::stopping) {
    bool comes_back = phase_ == phase::running && child.spec.restart != restart_type::temporary;
    child.status = comes_back ? child_status::waiting : child_status::stopped;
    if (!comes_back && spec_.names)
      spec_.names->erase(child.spec.name);
    stopping_.reset();
    stop_next();
    return;
  }
  if (phase_ != phase::running) {
    // Already going down; the stop queue skips it.
    child.status = child_status::stopped;
    if (spec_.names)
      spec_.names->erase(child.spec.name);
    return;
  }
  on_failure(*index, msg.reason);
}

void supervisor_actor::log_failure(const child_slot& child, const caf::error& reason) const {
  spdlog::warn("supervisor {}: child {} exited: {}", spec_.name, child.spec.name, describe(reason));
}

void supervisor_actor::on_failure(size_t index, const caf::error& reason) {
  auto& child = children_[index];
  child.handle = nullptr;
  if (!is_normal_exit(reason)) {
    child.last_failure = describe(reason);
    log_failure(child, reason);
  }
  if (!wants_restart(child, reason)) {
    child.status = child_status::stopped;
    if (spec_.names)
      spec_.names->erase(child.spec.name);
    return;
  }
  if (!within_intensity()) {
    phase_ = phase::escalating;
    auto detail = spec_.name + ": more than " + std::to_string(spec_.intensity.max_restarts) +
                  " restarts in " + std::to_string(to_ms(spec_.intensity.window)) +
                  " ms; last failure: " + child.spec.name + " (" + child.last_failure + ")";
    exit_reason_ = make_error(errc::escalated, detail);
    spdlog::error("supervisor {} escalates: {}", spec_.name, detail);
    if (escalations_metric_)
      escalations_metric_->inc();
    child.status = child_status::stopped;
    std::vector<size_t> all(children_.size());
    std::iota(all.begin(), all.end(), size_t{0});
    stop_in_reverse(all);
    return;
  }
  auto delay = next_delay(child);
  child.status = child_status::waiting;
  std::vector<size_t> to_stop;
  for (auto i : restart_group(index)) {
    auto& member = children_[i];
    ++member.epoch;
    member.delay = delay;
    member.restart_due.reset();
    if (member.status == child_status::running)
      to_stop.push_back(i);
  }
  stop_in_reverse(to_stop);
}

bool supervisor_actor::wants_restart(const child_slot& child, const caf::error& reason) const {
  switch (child.spec.restart) {
  case restart_type::permanent:
    return true;
  case restart_type::transient:
    return !is_normal_exit(reason);
  case restart_type::temporary:
    return false;
  }
  return false;
}

bool supervisor_actor::within_intensity() {
  auto now = clock().now();
  recent_restarts_.push_back(now);
  while (!recent_restarts_.empty() && now - recent_restarts_.front() > spec_.intensity.window)
    recent_restarts_.pop_front();
  return recent_restarts_.size() <= spec_.intensity.max_restarts;
}

size_t supervisor_actor::budget_left() const {
  auto now = clock().now();
  auto recent = std::count_if(recent_restarts_.begin(), recent_restarts_.end(),
                              [&](auto t) { return now - t <= spec_.intensity.window; });
  auto used = static_cast<size_t>(recent);
  return used >= spec_.intensity.max_restarts ? 0 : spec_.intensity.max_restarts - used;
}

caf::timespan supervisor_actor::next_delay(child_slot& child) {
  auto now = clock().now();
  auto& policy = spec_.backoff;
  if (child.attempt > 0 && now - child.last_failure_at >= policy.reset_after)
    child.attempt = 0;
  child.last_failure_at = now;
  ++child.attempt;
  // Doubling in floating point cannot overflow; the cap applies before jitter so
  // that jitter also spreads restarts that sit at the cap.
  auto exponent = static_cast<double>(std::min<size_t>(child.attempt - 1, 62));
  auto base = std::min(static_cast<double>(policy.initial.count()) * std::pow(2.0, exponent),
                       static_cast<double>(policy.max.count()));
  auto factor = 1.0;
  if (policy.jitter > 0) {
    std::uniform_real_distribution<double> spread{1.0 - policy.jitter, 1.0 + policy.jitter};
    factor = spread(rng_);
  }
  return caf::timespan{static_cast<caf::timespan::rep>(std::llround(base * factor))};
}

std::vector<size_t> supervisor_actor::restart_group(size_t failed) const {
  std::vector<size_t> group;
  for (size_t i = 0; i < children_.size(); ++i) {
    bool member = spec_.strategy == restart_strategy::one_for_all ||
                  (spec_.strategy == restart_strategy::rest_for_one && i > failed) || i == failed;
    // Children that ended for good (temporary, transient after a normal exit) stay ended.
    if (member && (i == failed || children_[i].status != child_status::stopped))
      group.push_back(i);
  }
  return group;
}

void supervisor_actor::on_restart_due(uint64_t index, uint64_t epoch) {
  if (phase_ != phase::running || index >= children_.size())
    return;
  auto& child = children_[index];
  if (child.epoch != epoch || child.status != child_status::waiting)
    return; // superseded by a later failure or a shutdown
  child.restart_due.reset();
  if (auto err = start_child(index)) {
    on_failure(index, err);
    return;
  }
  ++child.restarts;
  if (restarts_metric_)
    restarts_metric_->with({spec_.name, child.spec.name}).inc();
  spdlog::info("supervisor {}: restarted {} (restart #{})", spec_.name, child.spec.name,
               child.restarts);
}

void supervisor_actor::on_exit_request(const caf::exit_msg& msg) {
  if (is_normal_exit(msg.reason) && msg.reason != caf::exit_reason::user_shutdown)
    return; // CAF's default: a normal exit message is no reason to stop
  if (phase_ != phase::running)
    return; // already stopping everything
  phase_ = phase::shutting_down;
  exit_reason_ = msg.reason;
  std::vector<size_t> all;
  for (size_t i = 0; i < children_.size(); ++i) {
    auto& child = children_[i];
    ++child.epoch; // cancels pending restarts
    child.restart_due.reset();
    if (child.status == child_status::waiting) {
      child.status = child_status::stopped;
      if (spec_.names)
        spec_.names->erase(child.spec.name);
    }
    all.push_back(i);
  }
  stop_in_reverse(all);
}

void supervisor_actor::stop_in_reverse(const std::vector<size_t>& indices) {
  stop_queue_.insert(stop_queue_.end(), indices.begin(), indices.end());
  // One global order even when a second group joins a stop already under way.
  std::sort(stop_queue_.begin(), stop_queue_.end(), std::greater<>{});
  stop_queue_.erase(std::unique(stop_queue_.begin(), stop_queue_.end()), stop_queue_.end());
  if (!stopping_)
    stop_next();
}

void supervisor_actor::stop_next() {
  while (!stop_queue_.empty()) {
    auto index = stop_queue_.front();
    stop_queue_.pop_front();
    auto& child = children_[index];
    if (child.status != child_status::running)
      continue;
    child.status = child_status::stopping;
    ++child.epoch;
    stopping_ = index;
    send_exit(child.handle, caf::exit_reason::user_shutdown);
    delayed_send(this, child.spec.shutdown_timeout, stop_timeout_atom::value,
                 static_cast<uint64_t>(index), child.epoch);
    return;
  }
  stops_done();
}

void supervisor_actor::on_stop_timeout(uint64_t index, uint64_t epoch) {
  if (index >= children_.size())
    return;
  auto& child = children_[index];
  if (child.status != child_status::stopping || child.epoch != epoch)
    return;
  spdlog::warn("supervisor {}: child {} did not stop within {} ms; killing it", spec_.name,
               child.spec.name, to_ms(child.spec.shutdown_timeout));
  send_exit(child.handle, caf::exit_reason::kill);
}

void supervisor_actor::stops_done() {
  if (phase_ != phase::running) {
    terminate(exit_reason_);
    return;
  }
  // Arm restarts in start order, so equal delays restart a group in start order.
  auto now = clock().now();
  for (size_t i = 0; i < children_.size(); ++i) {
    auto& child = children_[i];
    if (child.status != child_status::waiting || child.restart_due)
      continue;
    child.restart_due = now + child.delay;
    // A zero delay skips the timer: the clock's round trip would be pure latency.
    if (child.delay.count() == 0)
      send(this, restart_atom::value, static_cast<uint64_t>(i), child.epoch);
    else
      delayed_send(this, child.delay, restart_atom::value, static_cast<uint64_t>(i), child.epoch);
  }
}

void supervisor_actor::terminate(caf::error reason) {
  terminated_ = true;
  quit(std::move(reason));
}

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_spec spec) {
  return sys.spawn<supervisor_actor>(std::move(spec));
}

} // namespace troupe::supervision
