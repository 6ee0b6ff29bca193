#include "phase.hpp"

#include <algorithm>
#include <cstdio>

#include "campaign.hpp"

namespace troupe::chaos_harness {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// Errors are expected this long after a fault ends (failure detection, restart, rejoin).
constexpr auto error_grace = 10s;
// The longest an out-of-cluster fault waits for the previous one's node to be ready again.
constexpr auto gate_limit = 30s;

double seconds(steady::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Whether a fault of `type` ends with its target's process gone or replaced.
bool replaces_process(const std::string& type) {
  return type == "kill" || type == "runtime:crash_node" || type == "rolling_restart";
}

} // namespace

fault_phase::fault_phase(std::vector<planned_fault> plan, fault_context& ctx, load_generator& load,
                         const campaign_options& o, std::atomic<bool>& stop)
    : plan_(std::move(plan)), ctx_(ctx), load_(load), o_(o), stop_(stop),
      guard_(o.slo_error_rate,
             std::chrono::milliseconds{static_cast<std::int64_t>(o.slo_window_s * 1000)}) {}

fault_phase::~fault_phase() {
  stop_ = true;
  for (auto& a : active_)
    if (a->thread.joinable())
      a->thread.join();
}

void fault_phase::launch(const planned_fault& f) {
  auto a = std::make_unique<active>();
  a->plan = f;
  auto* raw = a.get();
  a->thread = std::thread{[this, raw] {
    // An exception escaping this thread would end the campaign with its nodes left running:
    // a fault that could not be applied or reverted is recorded with the reason instead.
    try {
      raw->window = apply_fault(raw->plan, ctx_);
    } catch (const std::exception& e) {
      raw->window.type = raw->plan.type;
      raw->window.target = raw->plan.target;
      raw->window.detail["error"] = std::string{"the harness failed: "} + e.what();
    }
    raw->done = true;
  }};
  active_.push_back(std::move(a));
}

bool fault_phase::everyone_ready() const {
  return std::all_of(ctx_.nodes.names().begin(), ctx_.nodes.names().end(),
                     [this](const std::string& n) { return ctx_.nodes.ready(n); });
}

bool fault_phase::expecting_errors() const {
  for (const auto& a : active_)
    if (!a->done)
      return true;
  return steady::now() - last_fault_end_ < error_grace;
}

// A node that died while no fault was replacing it: noted and started again, so one crash
// does not silently shrink the cluster for the rest of the campaign.
void fault_phase::watch_nodes() {
  std::set<std::string> held;
  for (const auto& a : active_)
    if (!a->done && replaces_process(a->plan.type)) {
      if (a->plan.target == "all")
        return;
      held.insert(a->plan.target);
    }
  for (const auto& n : ctx_.nodes.names())
    if (!held.count(n) && !ctx_.nodes.alive(n)) {
      std::printf("  ! %s exited outside any fault; starting it again\n", n.c_str());
      unplanned_.push_back({{"node", n}, {"at", since(ctx_.origin)}});
      ctx_.nodes.start(n);
    }
}

void fault_phase::progress() {
  int done = 0;
  std::string running;
  for (const auto& a : active_) {
    if (a->done)
      ++done;
    else
      running += " " + a->plan.type + "@" + a->plan.target;
  }
  std::printf("[%6.1fs] faults %d/%zu done, active:%s | requests %lld, errors %.1f%% (last 5 s)\n",
              seconds(steady::now() - started_), done, plan_.size(),
              running.empty() ? " none" : running.c_str(), static_cast<long long>(load_.requests()),
              100 * load_.error_rate(5s));
  std::fflush(stdout);
}

void fault_phase::tick() {
  auto now = steady::now();
  for (auto& a : active_)
    if (a->done && a->thread.joinable()) {
      a->thread.join();
      last_fault_end_ = std::max(last_fault_end_, now);
    }
  if (now - last_progress_ >= 5s) {
    last_progress_ = now;
    progress();
  }
  if (now - last_watch_ >= 1s) {
    last_watch_ = now;
    watch_nodes();
  }
  if (auto why = guard_.observe(now, load_.error_rate(2s), expecting_errors()); why && !stop_) {
    char at[40];
    std::snprintf(at, sizeof(at), " (at %.1f s)", seconds(now - started_));
    aborted_ = *why + at;
    std::printf("  ! SLO guard: %s\n", aborted_.c_str());
    stop_ = true;
  }
}

void fault_phase::run_faults() {
  started_ = last_progress_ = last_watch_ = steady::now();
  last_fault_end_ = started_ - error_grace;
  std::vector<bool> launched(plan_.size(), false);
  // When the first due fault that takes something out began waiting (zero: none waits).
  steady::time_point gated_since{};
  auto last_gate_check = started_ - 1s;
  std::size_t left = plan_.size();
  while (!stop_ && !interrupted) {
    auto elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started_).count();
    for (std::size_t i = 0; i < plan_.size(); ++i) {
      const auto& f = plan_[i];
      if (launched[i] || f.at_ms > elapsed_ms)
        continue;
      if (takes_out(f.type)) {
        bool busy = std::any_of(active_.begin(), active_.end(),
                                [](const auto& a) { return !a->done && takes_out(a->plan.type); });
        if (busy)
          continue;
        if (gated_since == steady::time_point{})
          gated_since = steady::now();
        bool waited_enough = steady::now() - gated_since > gate_limit;
        if (!waited_enough) {
          if (steady::now() - last_gate_check < 250ms)
            continue;
          last_gate_check = steady::now();
          if (!everyone_ready())
            continue;
        }
        gated_since = {};
      }
      launched[i] = true;
      --left;
      launch(f);
    }
    tick();
    if (left == 0 && std::all_of(active_.begin(), active_.end(),
                                 [](const auto& a) { return static_cast<bool>(a->done); }))
      break;
    std::this_thread::sleep_for(50ms);
  }
  for (auto& a : active_) // a stop cuts the holds short; every fault is still reverted
    if (a->thread.joinable())
      a->thread.join();
  last_fault_end_ = steady::now();
}

std::int64_t fault_phase::settle() {
  auto from = steady::now();
  auto settle_end = from + std::chrono::duration_cast<steady::duration>(
                               std::chrono::duration<double>(o_.settle_s));
  std::int64_t converged = -1;
  auto last_poll = from - 1s;
  while (!stop_ && !interrupted) {
    auto now = steady::now();
    if (converged < 0 && now - last_poll >= 250ms) {
      last_poll = now;
      if (ctx_.nodes.converged())
        converged = std::chrono::duration_cast<std::chrono::milliseconds>(now - from).count();
    }
    if (now >= settle_end && (converged >= 0 || now >= settle_end + 30s))
      break;
    tick();
    std::this_thread::sleep_for(50ms);
  }
  return converged;
}

std::vector<fault_window> fault_phase::windows() const {
  std::vector<fault_window> out;
  for (const auto& a : active_)
    if (a->done)
      out.push_back(a->window);
  std::sort(out.begin(), out.end(),
            [](const fault_window& a, const fault_window& b) { return a.start < b.start; });
  return out;
}

} // namespace troupe::chaos_harness
