// One contract, two stores: the memory repository and PostgreSQL must agree on
// versions, unique emails and conflicts. Real threads, bounded waits.

#include <future>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <gtest/gtest.h>

#include "support/store_contract.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/events/schema.hpp"
#include "troupe/store/database.hpp"
#include "troupe/user/repository.hpp"

namespace troupe::user {
namespace {

using namespace std::chrono_literals;

class repository_contract : public testing::store_contract {
protected:
  void SetUp() override {
    // Registrations write their event to the outbox in the same transaction.
    auto migrations = events::outbox_migrations();
    for (auto& m : user_migrations())
      migrations.push_back(m);
    repo_ = start_store(std::move(migrations)) ? make_postgres_user_repository(db_)
                                               : make_memory_user_repository();
    ASSERT_FALSE(HasFailure());
  }

  void TearDown() override {
    repo_.reset();
    stop_store();
  }

  caf::expected<user_record> insert(user_record r) {
    return await<user_record>(
        [=, repo = repo_](auto* self, auto done) { repo->insert(self, r, done); });
  }
  caf::expected<user_record> load(std::string id) {
    return await<user_record>(
        [=, repo = repo_](auto* self, auto done) { repo->load(self, id, done); });
  }
  caf::expected<user_record> by_email(std::string email) {
    return await<user_record>(
        [=, repo = repo_](auto* self, auto done) { repo->find_by_email(self, email, done); });
  }
  caf::expected<user_record> update(user_record r) {
    return await<user_record>(
        [=, repo = repo_](auto* self, auto done) { repo->update(self, r, done); });
  }
  caf::expected<bool> remove(std::string id, uint64_t version) {
    return await<bool>(
        [=, repo = repo_](auto* self, auto done) { repo->remove(self, id, version, done); });
  }

  static user_record someone(std::string email) {
    user_record r;
    r.id = random_uuid();
    r.email = std::move(email);
    r.password_hash = "$argon2id$v=19$fake";
    r.display_name = "Zoë \"O'Brien\"; DROP TABLE users; --";
    r.role = "user";
    r.created_at_ms = r.updated_at_ms = 1'700'000'000'123;
    return r;
  }

  std::shared_ptr<user_repository> repo_;
};

TEST_P(repository_contract, insert_load_and_find_round_trip_every_field) {
  auto r = someone("zoë@example.org");
  auto stored = insert(r);
  ASSERT_TRUE(stored) << describe(stored.error());
  EXPECT_EQ(stored->version, 1u);
  for (auto loaded : {load(r.id), by_email("zoë@example.org")}) {
    ASSERT_TRUE(loaded) << describe(loaded.error());
    EXPECT_EQ(loaded->id, r.id);
    EXPECT_EQ(loaded->email, r.email);
    EXPECT_EQ(loaded->display_name, r.display_name);
    EXPECT_EQ(loaded->password_hash, r.password_hash);
    EXPECT_EQ(loaded->role, "user");
    EXPECT_EQ(loaded->version, 1u);
    EXPECT_EQ(loaded->created_at_ms, r.created_at_ms);
  }
}

TEST_P(repository_contract, missing_users_are_no_such_record) {
  for (auto missing : {load(random_uuid()), by_email("nobody@example.org")}) {
    ASSERT_FALSE(missing);
    EXPECT_TRUE(is(missing.error(), errc::no_such_record)) << describe(missing.error());
  }
}

TEST_P(repository_contract, a_taken_email_is_already_exists) {
  ASSERT_TRUE(insert(someone("a@example.org")));
  auto dup = insert(someone("a@example.org"));
  ASSERT_FALSE(dup);
  EXPECT_TRUE(is(dup.error(), errc::already_exists)) << describe(dup.error());
}

TEST_P(repository_contract, updates_are_conditional_on_the_version) {
  auto r = *insert(someone("b@example.org"));
  r.display_name = "second";
  auto v2 = update(r);
  ASSERT_TRUE(v2) << describe(v2.error());
  EXPECT_EQ(v2->version, 2u);
  r.display_name = "stale";
  auto stale = update(r); // still carries version 1
  ASSERT_FALSE(stale);
  EXPECT_TRUE(is(stale.error(), errc::version_conflict));
  EXPECT_EQ(load(r.id)->display_name, "second");
}

TEST_P(repository_contract, remove_is_conditional_too) {
  auto r = *insert(someone("c@example.org"));
  auto stale = remove(r.id, 7);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(is(stale.error(), errc::version_conflict));
  ASSERT_TRUE(remove(r.id, 1));
  EXPECT_FALSE(load(r.id));
}

INSTANTIATE_TEST_SUITE_P(stores, repository_contract, ::testing::Values("memory", "postgres"),
                         [](const auto& info) { return info.param; });

} // namespace
} // namespace troupe::user
