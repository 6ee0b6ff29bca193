#include "troupe/core/unexpected.hpp"

#include <atomic>
#include <chrono>

#include <caf/atom.hpp>
#include <caf/message_view.hpp>
#include <caf/node_id.hpp>
#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include "troupe/observability/metrics.hpp"

namespace troupe {

bool log_slot_free() {
  static std::atomic<int64_t> last{0};
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
                 .count();
  auto before = last.load(std::memory_order_relaxed);
  return now > before && last.compare_exchange_strong(before, now);
}

namespace {

// One bounded line about an unexpected message, when the log has room for it.
void note(const char* actor, caf::scheduled_actor* self, caf::message_view& view) {
  if (!log_slot_free())
    return;
  const auto& xs = view.content();
  // Only an atom is printed: anything else may be as large as its sender made it.
  std::string head = xs.size() > 0 && xs.match_element<caf::atom_value>(0)
                         ? caf::to_string(xs.get_as<caf::atom_value>(0))
                         : std::string{"-"};
  const auto& sender = self->current_sender();
  spdlog::warn("{} dropped an unexpected message ({}, {} elements) from node {}", actor, head,
               xs.size(), sender ? caf::to_string(sender->node()) : std::string{"unknown"});
}

} // namespace

caf::result<caf::message> log_and_drop(caf::scheduled_actor* self, caf::message_view& view) {
  note(self->name(), self, view);
  return caf::sec::unexpected_message;
}

caf::scheduled_actor::default_handler
drop_unexpected(std::string actor, std::shared_ptr<observability::registry> metrics) {
  observability::counter* count = nullptr;
  if (metrics)
    count = &metrics
                 ->counters("troupe_unexpected_messages_total",
                            "Messages an actor had no handler for, dropped.", {"actor"})
                 .with({actor});
  return [actor = std::move(actor), metrics = std::move(metrics),
          count](caf::scheduled_actor* self, caf::message_view& view) -> caf::result<caf::message> {
    if (count)
      count->inc();
    note(actor.c_str(), self, view);
    return caf::sec::unexpected_message;
  };
}

} // namespace troupe
