#include "troupe/user/login_throttle.hpp"

#include "troupe/observability/metrics.hpp"

namespace troupe::user {

login_throttle::login_throttle(login_limits limits,
                               std::shared_ptr<observability::registry> metrics)
    : accounts_(limits.account), clients_(limits.client), metrics_(std::move(metrics)) {
  if (metrics_) {
    auto& family =
        metrics_->counters("troupe_login_throttled_total",
                           "Login attempts refused with 429, by the limit that hit.", {"by"});
    by_account_ = &family.with({"account"});
    by_client_ = &family.with({"client"});
  }
}

std::chrono::milliseconds login_throttle::acquire(const std::string& email,
                                                  const std::string& client,
                                                  rate_limiter::time_point now) {
  // The client first: a guesser spraying many accounts from one address is stopped
  // without using up (and so locking) the accounts it sprays.
  if (auto wait = clients_.acquire(client, now); wait.count() > 0) {
    if (by_client_)
      by_client_->inc();
    return wait;
  }
  if (auto wait = accounts_.acquire(email, now); wait.count() > 0) {
    clients_.refund(client, now);
    if (by_account_)
      by_account_->inc();
    return wait;
  }
  return std::chrono::milliseconds{0};
}

void login_throttle::refund(const std::string& email, const std::string& client,
                            rate_limiter::time_point now) {
  accounts_.refund(email, now);
  clients_.refund(client, now);
}

} // namespace troupe::user
