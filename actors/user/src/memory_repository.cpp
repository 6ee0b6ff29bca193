#include <mutex>
#include <unordered_map>

#include "troupe/core/error.hpp"
#include "troupe/user/repository.hpp"

namespace troupe::user {

namespace {

// One lock for both maps: it stands in for a database in tests and demos, and must
// keep the same rules (unique emails, versions) under concurrent entities.
class memory_repository final : public user_repository {
public:
  void load(caf::event_based_actor*, const std::string& id, reply<user_record> done) override {
    done(find(id));
  }

  void find_by_email(caf::event_based_actor*, const std::string& email,
                     reply<user_record> done) override {
    std::string id;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (auto i = emails_.find(email); i != emails_.end())
        id = i->second;
    }
    done(find(id));
  }

  void insert(caf::event_based_actor*, user_record rec, reply<user_record> done) override {
    std::unique_lock<std::mutex> guard{mtx_};
    if (rows_.count(rec.id) > 0 || emails_.count(rec.email) > 0) {
      guard.unlock();
      done(make_error(errc::already_exists, "email already registered"));
      return;
    }
    rec.version = 1;
    emails_.emplace(rec.email, rec.id);
    rows_.emplace(rec.id, rec);
    guard.unlock();
    done(std::move(rec));
  }

  void update(caf::event_based_actor*, user_record rec, reply<user_record> done) override {
    std::unique_lock<std::mutex> guard{mtx_};
    auto i = rows_.find(rec.id);
    if (i == rows_.end() || i->second.version != rec.version) {
      guard.unlock();
      done(make_error(errc::version_conflict, "user " + rec.id + " changed meanwhile"));
      return;
    }
    rec.version += 1;
    i->second = rec;
    guard.unlock();
    done(std::move(rec));
  }

  void remove(caf::event_based_actor*, const std::string& id, uint64_t version,
              reply<bool> done) override {
    std::unique_lock<std::mutex> guard{mtx_};
    auto i = rows_.find(id);
    if (i == rows_.end() || i->second.version != version) {
      guard.unlock();
      done(make_error(errc::version_conflict, "user " + id + " changed meanwhile"));
      return;
    }
    emails_.erase(i->second.email);
    rows_.erase(i);
    guard.unlock();
    done(true);
  }

private:
  caf::expected<user_record> find(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = rows_.find(id); i != rows_.end())
      return i->second;
    return make_error(errc::no_such_record, "no such user");
  }

  std::mutex mtx_;
  std::unordered_map<std::string, user_record> rows_;
  std::unordered_map<std::string, std::string> emails_; // email -> id
};

} // namespace

std::shared_ptr<user_repository> make_memory_user_repository() {
  return std::make_shared<memory_repository>();
}

} // namespace troupe::user
