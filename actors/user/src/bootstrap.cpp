#include "troupe/user/bootstrap.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "troupe/auth/password.hpp"
#include "troupe/core/blocking_pool.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::user {

namespace {

using retry_atom = caf::atom_constant<caf::atom("retry")>;

constexpr auto first_retry = std::chrono::milliseconds(200);
constexpr auto max_retry = std::chrono::seconds(5);

// Callbacks hold a reference to the object, so it outlives any of them that run.
class bootstrap : public std::enable_shared_from_this<bootstrap> {
public:
  bootstrap(caf::event_based_actor* self, std::shared_ptr<const user_api> api, std::string email,
            std::string password)
      : self_(self), api_(std::move(api)), email_(std::move(email)),
        password_(std::move(password)) {}

  caf::behavior start() {
    auto me = shared_from_this();
    self_->send(self_, retry_atom::value);
    return {[me](retry_atom) { me->attempt(); }};
  }

private:
  void attempt() {
    api_->hashing->run<std::string>(
        self_, [pw = password_] { return auth::hash_password(pw); },
        [this, me = shared_from_this()](caf::expected<std::string> hash) {
          if (!hash)
            return retry(hash.error());
          hash_ = std::move(*hash);
          api_->repo->find_by_email(
              self_, email_, [this, me = shared_from_this()](caf::expected<user_record> found) {
                if (found)
                  return keep_or_replace(*found);
                if (is(found.error(), errc::no_such_record))
                  return write(random_uuid(), true);
                retry(found.error());
              });
        });
  }

  // A password that still matches keeps its hash: a new hash would revoke every token the
  // admin holds (see the credential stamp), and every node runs this at every start.
  void keep_or_replace(const user_record& found) {
    api_->hashing->run<bool>(
        self_,
        [hash = found.password_hash, pw = password_] {
          return caf::expected<bool>{auth::verify_password(hash, pw)};
        },
        [this, me = shared_from_this(), found](caf::expected<bool> same) {
          if (!same)
            return retry(same.error());
          if (*same && found.role == "admin") {
            spdlog::info("admin {} already in place", email_);
            return self_->quit();
          }
          write(found.id, false, *same);
        });
  }

  void write(const std::string& id, bool create, bool keep_hash = false) {
    auto done = [this, me = shared_from_this(), create](const user_record&) {
      spdlog::info("admin {} {}", email_, create ? "created" : "updated");
      self_->quit();
    };
    auto failed = [this, me = shared_from_this()](const caf::error& err) { retry(err); };
    if (create) {
      user_record rec;
      rec.email = email_;
      rec.password_hash = hash_;
      rec.display_name = "Administrator";
      rec.role = "admin";
      placement::ask_owner(self_, api_->locator, entity_kind_name, id, api_->request_timeout,
                           std::make_tuple(create_atom::value, rec), done, failed);
    } else {
      user_patch patch;
      patch.set_password_hash = !keep_hash;
      patch.password_hash = hash_;
      patch.set_role = true;
      patch.role = "admin";
      placement::ask_owner(self_, api_->locator, entity_kind_name, id, api_->request_timeout,
                           std::make_tuple(update_atom::value, patch), done, failed);
    }
  }

  void retry(const caf::error& err) {
    delay_ =
        std::min<caf::timespan>(delay_ == caf::timespan{0} ? first_retry : delay_ * 2, max_retry);
    spdlog::warn("admin bootstrap for {}: {}; retrying in {} ms", email_, describe(err),
                 std::chrono::duration_cast<std::chrono::milliseconds>(delay_).count());
    self_->delayed_send(self_, delay_, retry_atom::value);
  }

  caf::event_based_actor* self_;
  std::shared_ptr<const user_api> api_;
  std::string email_;
  std::string password_;
  std::string hash_;
  caf::timespan delay_{0};
};

} // namespace

supervision::child_spec admin_bootstrap_child(std::shared_ptr<const user_api> api,
                                              std::string email, std::string password) {
  supervision::child_spec spec;
  spec.name = "admin-bootstrap";
  spec.restart = supervision::restart_type::transient;
  spec.shutdown_timeout = std::chrono::seconds(1);
  spec.start = [api, email, password](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return sys.spawn([api, email, password](caf::event_based_actor* self) {
      auto me = std::make_shared<bootstrap>(self, api, email, password);
      return me->start();
    });
  };
  return spec;
}

} // namespace troupe::user
