// A resource lives exactly as long as the incarnation that acquired it.

#include "fixture.hpp"
#include "troupe/supervision/resource.hpp"

namespace troupe::supervision::test {
namespace {

struct tracked {
  explicit tracked(int* alive) : alive_(alive) { ++*alive_; }
  ~tracked() { --*alive_; }
  int* alive_;
};

class resource_test : public supervision_test {
protected:
  int alive_ = 0;
  int acquired_ = 0;
  bool refuse_ = false;

  child_spec owner() {
    return resource_child("res", [this]() -> caf::expected<std::shared_ptr<void>> {
      if (refuse_)
        return make_error(errc::io_failure, "port taken");
      ++acquired_;
      return std::make_shared<tracked>(&alive_);
    });
  }
};

TEST_F(resource_test, a_restart_releases_the_old_resource_before_acquiring_anew) {
  start(spec("sup", restart_strategy::one_for_one, {owner()}));
  EXPECT_EQ(alive_, 1);
  caf::anon_send_exit(live("res"), caf::exit_reason::kill);
  run();
  EXPECT_EQ(alive_, 0) << "released at exit";
  advance(10ms);
  EXPECT_EQ(acquired_, 2);
  EXPECT_EQ(alive_, 1);
}

TEST_F(resource_test, shutdown_releases_the_resource) {
  auto sup = start(spec("sup", restart_strategy::one_for_one, {owner()}));
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  EXPECT_EQ(alive_, 0);
}

TEST_F(resource_test, a_failed_acquire_is_a_failed_start_naming_the_cause) {
  refuse_ = true;
  auto sup = spawn_supervisor(sys_ref(), spec("sup", restart_strategy::one_for_one, {owner()}));
  auto reason = watch(sup);
  ASSERT_TRUE(reason->has_value());
  EXPECT_TRUE(is(**reason, errc::start_failed));
  EXPECT_NE(describe(**reason).find("port taken"), std::string::npos) << describe(**reason);
}

} // namespace
} // namespace troupe::supervision::test
