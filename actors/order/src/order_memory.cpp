#include <algorithm>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "troupe/core/error.hpp"
#include "troupe/order/orders.hpp"

namespace troupe::order {

namespace {

// One lock stands in for the database, with the same rules (versions, one order per
// user and idempotency key). Events are dropped: the memory store has no outbox.
class memory_orders final : public order_repository {
public:
  void load(caf::event_based_actor*, const std::string& id, reply<order_record> done) override {
    std::unique_lock guard{mtx_};
    auto i = rows_.find(id);
    if (i == rows_.end()) {
      guard.unlock();
      return done(make_error(errc::no_such_record, "no such order"));
    }
    auto out = i->second;
    guard.unlock();
    done(std::move(out));
  }

  void insert(caf::event_based_actor*, order_record rec, reply<order_record> done) override {
    std::unique_lock guard{mtx_};
    auto taken =
        rows_.count(rec.id) > 0 || std::any_of(rows_.begin(), rows_.end(), [&](const auto& row) {
          return row.second.user_id == rec.user_id &&
                 row.second.idempotency_key == rec.idempotency_key;
        });
    if (taken) {
      guard.unlock();
      return done(make_error(errc::already_exists, "order exists"));
    }
    rec.version = 1;
    rows_.emplace(rec.id, rec);
    guard.unlock();
    done(std::move(rec));
  }

  void update(caf::event_based_actor*, order_record rec, std::optional<events::event>,
              reply<order_record> done) override {
    std::unique_lock guard{mtx_};
    auto i = rows_.find(rec.id);
    if (i == rows_.end() || i->second.version != rec.version) {
      guard.unlock();
      return done(make_error(errc::version_conflict, "order " + rec.id + " changed meanwhile"));
    }
    rec.version += 1;
    i->second = rec;
    guard.unlock();
    done(std::move(rec));
  }

  void list(caf::event_based_actor*, order_query q,
            reply<std::vector<order_record>> done) override {
    std::vector<order_record> out;
    {
      std::lock_guard guard{mtx_};
      for (const auto& [id, r] : rows_)
        if ((q.user_id.empty() || r.user_id == q.user_id) && (!q.status || r.status == *q.status) &&
            (!q.before ||
             std::tie(r.created_at_ms, r.id) < std::tie(q.before->first, q.before->second)))
          out.push_back(r);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::tie(a.created_at_ms, a.id) > std::tie(b.created_at_ms, b.id);
    });
    if (out.size() > q.limit)
      out.resize(q.limit);
    done(std::move(out));
  }

  void unfinished(caf::event_based_actor*, int64_t before_ms, size_t limit,
                  reply<std::vector<std::string>> done) override {
    std::vector<std::string> out;
    {
      std::lock_guard guard{mtx_};
      for (const auto& [id, r] : rows_)
        if (!is_final(r.status) && r.updated_at_ms < before_ms && out.size() < limit)
          out.push_back(id);
    }
    done(std::move(out));
  }

private:
  std::mutex mtx_;
  std::unordered_map<std::string, order_record> rows_;
};

} // namespace

std::shared_ptr<order_repository> make_memory_order_repository() {
  return std::make_shared<memory_orders>();
}

} // namespace troupe::order
