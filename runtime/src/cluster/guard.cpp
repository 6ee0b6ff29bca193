#include "troupe/cluster/guard.hpp"

#include <caf/node_id.hpp>
#include <caf/system_messages.hpp>
#include <spdlog/spdlog.h>

#include "troupe/cluster/shared_view.hpp"
#include "troupe/core/unexpected.hpp"
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

void count_refusal(observability::registry* metrics, const char* actor, const char* reason) {
  if (metrics)
    metrics
        ->counters("troupe_cluster_refused_total",
                   "Messages from other nodes refused before an actor's mailbox.",
                   {"actor", "reason"})
        .with({actor, reason})
        .inc();
}

void remote_guard::refuse(const char* who, const char* reason,
                          const caf::mailbox_element& e) const {
  count_refusal(metrics_.get(), who, reason);
  if (log_slot_free())
    spdlog::warn("cluster: {} refused a message ({}) from node {}", who, reason,
                 e.sender ? caf::to_string(e.sender->node()) : std::string{"unknown"});
}

} // namespace troupe::cluster
