#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_session.hpp"
#include "load_state.hpp"
#include "record.hpp"

namespace troupe::chaos_harness {

/// One virtual client: runs one logical operation at a time, as a real client app would
/// (retries with the same Idempotency-Key, a new login after a 401), and records every
/// request it sends.
class load_client {
public:
  /// `index` names the client in the record; -1 is the preparation's client.
  load_client(load_state& state, int index, std::uint64_t seed);

  /// Runs operations until the state says stop.
  void run();

  /// Logs in as the admin and stocks the SKUs, retrying until `deadline`.
  bool prepare(std::chrono::steady_clock::time_point deadline, std::string& why);

  /// What was recorded so far.
  std::vector<operation> operations() const;

private:
  struct answer {
    int status = 0;
    nlohmann::json body;
    std::size_t op = 0;
  };

  using headers = std::vector<std::pair<std::string, std::string>>;

  // Sends one request through a live node and records it; `detail` goes into the record.
  answer send(const std::string& kind, const std::string& key, const std::string& method,
              const std::string& target, const headers& hdrs, const std::string& body, int attempt,
              nlohmann::json detail);
  // Adds `more` to the detail of recorded operation `op`, and sets its key if given.
  void amend(std::size_t op, const nlohmann::json& more, const std::string& key = {});

  static bool retryable(int status) { return status == 0 || status >= 500 || status == 409; }
  // Waits before attempt `attempt` + 1 (bounded exponential backoff with jitter).
  void backoff(int attempt);
  void think();
  bool stopping() const { return state_.stopping.load(std::memory_order_relaxed); }
  headers auth(const pooled_user& u) const;
  bool login(pooled_user& u);

  void register_user();
  void update_profile();
  void read_profile();
  void place_order();
  void read_order();
  void cancel_order();
  void list_notifications();
  void set_preferences(pooled_user& u);

  struct placed {
    std::string id;
    std::shared_ptr<pooled_user> owner;
    bool cancelled = false;
  };

  load_state& state_;
  int index_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<http_session>> sessions_;
  std::int64_t counter_ = 0;
  std::vector<placed> orders_;
  // Grows while requests fail and resets on success, so a dead cluster is not hammered.
  std::chrono::milliseconds failure_pause_{0};
  bool failed_last_ = false;
  mutable std::mutex ops_mtx_;
  std::vector<operation> ops_;
  std::string admin_token_;
};

} // namespace troupe::chaos_harness
