#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

#include "troupe/core/clock.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/notification/store.hpp"

namespace troupe::notification {

namespace {

bool accepts(const preferences& p, channel c) {
  return c == channel::email ? p.email : c == channel::push ? p.push : p.sms;
}

// One lock stands in for the database's transactions, with the same rules.
class memory_store final : public notification_store {
public:
  void record(caf::event_based_actor*, notice n, reply<size_t> done) override {
    std::unique_lock guard{mtx_};
    if (!n.email.empty())
      contacts_[n.user_id] = n.email;
    auto prefs = prefs_locked(n.user_id);
    size_t created = 0;
    for (auto ch : n.channels) {
      auto key = std::make_pair(n.event_id, ch);
      if (!accepts(prefs, ch) || by_event_.count(key) > 0)
        continue;
      notification_record r;
      r.id = random_uuid();
      r.event_id = n.event_id;
      r.channel = ch;
      r.user_id = n.user_id;
      auto email = contacts_.find(n.user_id);
      r.recipient =
          ch == channel::email && email != contacts_.end() ? email->second : "user:" + n.user_id;
      r.subject = n.subject;
      r.body = n.body;
      r.created_at_ms = r.updated_at_ms = unix_now_ms();
      by_event_.emplace(key, r.id);
      rows_.emplace(r.id, entry{r, 0, 0});
      ++created;
    }
    guard.unlock();
    done(created);
  }

  void claim_due(caf::event_based_actor*, size_t limit, std::chrono::milliseconds lease,
                 reply<std::vector<notification_record>> done) override {
    std::vector<notification_record> out;
    {
      std::lock_guard guard{mtx_};
      auto now = unix_now_ms();
      for (auto& [id, e] : rows_) {
        auto open = e.record.status == delivery_status::pending ||
                    e.record.status == delivery_status::failed;
        if (out.size() < limit && open && e.due_ms <= now && e.claimed_until_ms < now) {
          e.claimed_until_ms = now + lease.count();
          out.push_back(e.record);
        }
      }
    }
    done(std::move(out));
  }

  void mark_sent(caf::event_based_actor*, std::vector<std::string> ids,
                 reply<size_t> done) override {
    size_t found = 0;
    for (const auto& id : ids)
      found += change(id, [](entry& e) {
        e.record.status = delivery_status::sent;
        e.record.last_error.clear();
      });
    done(found);
  }

  void mark_failed(caf::event_based_actor*, std::string id, std::string error, bool dead,
                   std::chrono::milliseconds retry_in, reply<bool> done) override {
    change(id, [&](entry& e) {
      e.record.status = dead ? delivery_status::dead : delivery_status::failed;
      e.record.last_error = error;
      e.due_ms = unix_now_ms() + retry_in.count();
    });
    done(true);
  }

  void preferences_of(caf::event_based_actor*, std::string user_id,
                      reply<preferences> done) override {
    std::unique_lock guard{mtx_};
    auto p = prefs_locked(user_id);
    guard.unlock();
    done(std::move(p));
  }

  void set_preferences(caf::event_based_actor*, preferences p, reply<preferences> done) override {
    {
      std::lock_guard guard{mtx_};
      prefs_[p.user_id] = p;
    }
    done(std::move(p));
  }

  void list(caf::event_based_actor*, std::string user_id, size_t limit,
            reply<std::vector<notification_record>> done) override {
    std::vector<notification_record> out;
    {
      std::lock_guard guard{mtx_};
      for (const auto& [id, e] : rows_)
        if (e.record.user_id == user_id)
          out.push_back(e.record);
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.created_at_ms > b.created_at_ms; });
    if (out.size() > limit)
      out.resize(limit);
    done(std::move(out));
  }

private:
  struct entry {
    notification_record record;
    int64_t due_ms = 0;
    int64_t claimed_until_ms = 0;
  };

  preferences prefs_locked(const std::string& user_id) {
    auto i = prefs_.find(user_id);
    return i == prefs_.end() ? preferences{user_id} : i->second;
  }

  // Records an attempt on notification `id` and returns whether there is one.
  template <class Fn>
  bool change(const std::string& id, Fn fn) {
    std::lock_guard guard{mtx_};
    auto i = rows_.find(id);
    if (i == rows_.end())
      return false;
    fn(i->second);
    i->second.record.attempts += 1;
    i->second.record.updated_at_ms = unix_now_ms();
    i->second.claimed_until_ms = 0;
    return true;
  }

  std::mutex mtx_;
  std::unordered_map<std::string, entry> rows_;
  std::map<std::pair<std::string, channel>, std::string> by_event_;
  std::unordered_map<std::string, std::string> contacts_;
  std::unordered_map<std::string, preferences> prefs_;
};

} // namespace

std::shared_ptr<notification_store> make_memory_notification_store() {
  return std::make_shared<memory_store>();
}

} // namespace troupe::notification
