#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/message_id.hpp>

namespace troupe::cluster {

/// Requests waiting for an answer from another node, by node.
///
/// CAF never fails a request whose receiver's node died: it waits for its timeout. Callers
/// register each remote request here, and when the agent sees the node go down it answers
/// every one of them at once with an error, as if the receiver had replied with it.
class in_flight {
public:
  /// Identifies one registration.
  using ticket = uint64_t;

  /// Registers a request of `requester` to `node`; `id` is the response id its handle
  /// carries (`response_handle::id()`), under which the error answer is delivered.
  ticket add(const std::string& node, caf::strong_actor_ptr requester, caf::message_id id);

  /// The request was answered (or failed on its own): forget it.
  void done(const std::string& node, ticket t);

  /// Answers every request still waiting on `node` with `err`; returns how many.
  size_t fail(const std::string& node, const caf::error& err);

  /// The number of requests waiting on `node`.
  size_t waiting(const std::string& node) const;

private:
  struct entry {
    caf::strong_actor_ptr requester;
    caf::message_id id;
  };
  mutable std::mutex mtx_;
  ticket next_ = 1;
  std::map<std::string, std::map<ticket, entry>> by_node_;
};

} // namespace troupe::cluster
