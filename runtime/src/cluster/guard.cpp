#include "troupe/cluster/guard.hpp"

#include <atomic>
#include <chrono>

#include <caf/node_id.hpp>
#include <caf/system_messages.hpp>
#include <spdlog/spdlog.h>

#include "troupe/cluster/shared_view.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::cluster {

remote_guard::remote_guard(std::shared_ptr<const shared_view> view,
                           std::shared_ptr<observability::registry> metrics)
    : view_(std::move(view)), metrics_(std::move(metrics)) {}

bool remote_guard::admit(const caf::mailbox_element& e, const caf::node_id& home, const char* who,
                         stranger_filter strangers) const {
  const auto& content = e.content();
  bool local = e.sender && e.sender->node() == home;
  if (content.match_elements<caf::exit_msg>()) {
    if (local)
      return true;
    refuse(who, e.sender ? "remote exit" : "anonymous exit", e);
    return false;
  }
  if (local)
    return true;
  if (!e.sender) {
    if (e.mid.is_response() || content.match_elements<caf::timeout_msg>())
      return true;
    refuse(who, "anonymous", e);
    return false;
  }
  if ((view_ && view_->trusts(e.sender->node())) || (strangers && strangers(e)))
    return true;
  refuse(who, "stranger", e);
  return false;
}

void remote_guard::refuse(const char* who, const char* reason,
                          const caf::mailbox_element& e) const {
  if (metrics_)
    metrics_
        ->counters("troupe_cluster_refused_total",
                   "Messages from other nodes refused before an actor's mailbox.",
                   {"actor", "reason"})
        .with({who, reason})
        .inc();
  // An attacker chooses how many messages arrive: the log gets one line a second at most.
  static std::atomic<int64_t> last_line{0};
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
                 .count();
  auto before = last_line.load(std::memory_order_relaxed);
  if (now > before && last_line.compare_exchange_strong(before, now))
    spdlog::warn("cluster: {} refused a message ({}) from node {}", who, reason,
                 e.sender ? caf::to_string(e.sender->node()) : std::string{"unknown"});
}

} // namespace troupe::cluster
