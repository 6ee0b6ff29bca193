// The user entity on the deterministic scheduler with the memory repository.

#include "fixture.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/placement/region.hpp"
#include "troupe/user/entity.hpp"

namespace troupe::user {
namespace {

using namespace std::chrono_literals;

class user_entity_test : public supervision::test::supervision_test {
protected:
  user_entity_test() {
    region_ = placement::spawn_region(sys_ref(), user_entity_kind(repo_, 2min, board_), metrics_);
    keep(region_);
    run();
  }

  /// Sends `msg` to user `id` and returns the record or the error.
  template <class... Ts>
  caf::expected<user_record> ask(const std::string& id, Ts... msg) {
    auto out = std::make_shared<caf::expected<user_record>>(make_error(errc::not_found));
    keep(sys_ref().spawn([=, region = region_](caf::event_based_actor* self) {
      placement::ask(
          self, region, id, 5s, std::make_tuple(msg...), [=](const user_record& r) { *out = r; },
          [=](const caf::error& e) { *out = e; });
    }));
    run();
    return *out;
  }

  static user_record alice(std::string email = "alice@example.org") {
    user_record r;
    r.email = std::move(email);
    r.password_hash = "$argon2id$fake";
    r.display_name = "Alice";
    r.role = "user";
    return r;
  }

  std::shared_ptr<user_repository> repo_ = make_memory_user_repository();
  std::shared_ptr<user_snapshots> board_ = std::make_shared<user_snapshots>();
  caf::actor region_;
};

TEST_F(user_entity_test, create_then_fetch_returns_the_stored_user_at_version_one) {
  auto created = ask("u1", create_atom::value, alice());
  ASSERT_TRUE(created) << describe(created.error());
  EXPECT_EQ(created->id, "u1");
  EXPECT_EQ(created->version, 1u);
  EXPECT_GT(created->created_at_ms, 0);
  auto fetched = ask("u1", fetch_atom::value);
  ASSERT_TRUE(fetched);
  EXPECT_EQ(fetched->email, "alice@example.org");
}

TEST_F(user_entity_test, an_unknown_user_is_not_found) {
  auto fetched = ask("nobody", fetch_atom::value);
  ASSERT_FALSE(fetched);
  EXPECT_TRUE(is(fetched.error(), errc::no_such_record));
}

TEST_F(user_entity_test, a_second_create_of_the_same_id_is_refused) {
  ASSERT_TRUE(ask("u1", create_atom::value, alice()));
  auto again = ask("u1", create_atom::value, alice("other@example.org"));
  ASSERT_FALSE(again);
  EXPECT_TRUE(is(again.error(), errc::already_exists));
}

TEST_F(user_entity_test, the_same_email_under_two_ids_is_refused) {
  ASSERT_TRUE(ask("u1", create_atom::value, alice()));
  auto dup = ask("u2", create_atom::value, alice());
  ASSERT_FALSE(dup);
  EXPECT_TRUE(is(dup.error(), errc::already_exists));
}

TEST_F(user_entity_test, updates_bump_the_version_and_survive_passivation) {
  ASSERT_TRUE(ask("u1", create_atom::value, alice()));
  user_patch patch;
  patch.set_display_name = true;
  patch.display_name = "Alice B.";
  auto updated = ask("u1", update_atom::value, patch);
  ASSERT_TRUE(updated) << describe(updated.error());
  EXPECT_EQ(updated->version, 2u);
  advance(2min); // passivates
  auto fetched = ask("u1", fetch_atom::value);
  ASSERT_TRUE(fetched);
  EXPECT_EQ(fetched->display_name, "Alice B.");
  EXPECT_EQ(fetched->version, 2u);
}

TEST_F(user_entity_test, a_write_behind_its_back_is_a_conflict_not_an_overwrite) {
  ASSERT_TRUE(ask("u1", create_atom::value, alice()));
  // Another writer (a stale activation elsewhere) bumps the stored version.
  auto stored = alice();
  stored.id = "u1";
  stored.version = 1;
  stored.display_name = "Written elsewhere";
  keep(sys_ref().spawn([=, repo = repo_](caf::event_based_actor* self) {
    repo->update(self, stored, [](caf::expected<user_record>) {});
  }));
  run();
  user_patch patch;
  patch.set_display_name = true;
  patch.display_name = "Mine";
  auto conflicted = ask("u1", update_atom::value, patch);
  ASSERT_FALSE(conflicted);
  EXPECT_TRUE(is(conflicted.error(), errc::version_conflict));
  // The activation passivated; the next message sees the other writer's state.
  auto fetched = ask("u1", fetch_atom::value);
  ASSERT_TRUE(fetched);
  EXPECT_EQ(fetched->display_name, "Written elsewhere");
  EXPECT_EQ(fetched->version, 2u);
}

TEST_F(user_entity_test, remove_deletes_and_the_user_is_gone) {
  ASSERT_TRUE(ask("u1", create_atom::value, alice()));
  auto out = std::make_shared<std::string>();
  keep(sys_ref().spawn([=, region = region_](caf::event_based_actor* self) {
    placement::ask(
        self, region, "u1", 5s, std::make_tuple(remove_atom::value),
        [=](bool) { *out = "removed"; }, [=](const caf::error& e) { *out = describe(e); });
  }));
  run();
  EXPECT_EQ(*out, "removed");
  auto fetched = ask("u1", fetch_atom::value);
  ASSERT_FALSE(fetched);
  EXPECT_TRUE(is(fetched.error(), errc::no_such_record));
  EXPECT_TRUE(ask("u3", create_atom::value, alice())) << "the email is free again";
}

TEST_F(user_entity_test, the_published_copy_follows_every_committed_change) {
  EXPECT_FALSE(board_->find("u1"));
  ASSERT_TRUE(ask("u1", create_atom::value, alice()));
  ASSERT_TRUE(board_->find("u1"));
  EXPECT_EQ(board_->find("u1")->record.version, 1u);
  user_patch patch;
  patch.set_display_name = true;
  patch.display_name = "Renamed";
  ASSERT_TRUE(ask("u1", update_atom::value, patch));
  EXPECT_EQ(board_->find("u1")->record.display_name, "Renamed");
  EXPECT_EQ(board_->find("u1")->record.version, 2u);
}

TEST_F(user_entity_test, the_copy_is_withdrawn_when_the_activation_passivates) {
  ASSERT_TRUE(ask("u1", create_atom::value, alice()));
  advance(2min);
  EXPECT_FALSE(board_->find("u1"));
  ASSERT_TRUE(ask("u1", fetch_atom::value));
  EXPECT_TRUE(board_->find("u1")) << "a fresh activation publishes what it loaded";
}

TEST_F(user_entity_test, no_copy_survives_a_conflict_or_a_removal) {
  ASSERT_TRUE(ask("u1", create_atom::value, alice()));
  auto stored = alice();
  stored.id = "u1";
  stored.version = 1;
  keep(sys_ref().spawn([=, repo = repo_](caf::event_based_actor* self) {
    repo->update(self, stored, [](caf::expected<user_record>) {});
  }));
  run();
  user_patch patch;
  patch.set_display_name = true;
  patch.display_name = "Mine";
  ASSERT_FALSE(ask("u1", update_atom::value, patch));
  EXPECT_FALSE(board_->find("u1")) << "a stale activation's copy stayed readable";
  ASSERT_TRUE(ask("u1", fetch_atom::value));
  keep(sys_ref().spawn([=, region = region_](caf::event_based_actor* self) {
    placement::ask(
        self, region, "u1", 5s, std::make_tuple(remove_atom::value), [](bool) {},
        [](const caf::error&) {});
  }));
  run();
  EXPECT_FALSE(board_->find("u1"));
}

} // namespace
} // namespace troupe::user
