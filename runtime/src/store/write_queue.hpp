#pragma once

// The queue of `database::write` and how a batch of it runs: together in one transaction,
// or, after a failure, with a savepoint per write.

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/error.hpp>

#include "troupe/core/owed_reply.hpp"
#include "troupe/store/database.hpp"

namespace troupe::store::detail {

struct session;

using write_clock = std::chrono::steady_clock;

// One `database::write` from its submission until its batch ended.
struct write_item {
  write_step step;
  std::shared_ptr<troupe::detail::owed_reply> reply;
  write_clock::time_point deadline;
  // The step's own error or its batch's; none means it committed.
  caf::error result;

  void answer(const caf::error& err) { reply->give(step.output(err)); }
};

// Writes waiting to share a transaction, and the pool threads leading batches of them.
struct write_queue {
  std::mutex mtx;
  // In submission order.
  std::deque<std::shared_ptr<write_item>> items;
  // Lead jobs queued or running in the pool; each runs batches until the queue is empty.
  size_t leaders = 0;
  bool stopping = false;
};

/// Takes up to `max` queued writes, oldest first, off `q` into `batch`; writes whose caller
/// has given up go to `late` instead.
void take_batch(write_queue& q, size_t max, std::vector<std::shared_ptr<write_item>>& batch,
                std::vector<std::shared_ptr<write_item>>& late);

/// Runs every write of `batch` in one transaction without savepoints (in two round trips if all
/// are made of statements); returns false, with nothing kept, if one failed or the transaction
/// did not commit.
bool run_together(session& s, const std::vector<std::shared_ptr<write_item>>& batch);

/// Runs every write of `batch` in a savepoint of its own and commits once.
void run_isolated(session& s, const std::vector<std::shared_ptr<write_item>>& batch);

} // namespace troupe::store::detail
