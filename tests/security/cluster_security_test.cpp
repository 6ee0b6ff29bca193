// A rogue peer against real nodes over mutual TLS: each probe is one an attacker who reaches
// the cluster port would try, and each asserts what the attacker would have gained. Every
// test ends by checking that the node still serves HTTP and still sees its peer up.

#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "rogue.hpp"
#include "support/cluster.hpp"
#include "troupe/core/error.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

class cluster_security : public ::testing::Test {
protected:
  void SetUp() override {
    cluster_.start("n1");
    cluster_.start("n2");
    auto problem = cluster_.await_all_up();
    ASSERT_FALSE(problem) << *problem;
  }

  test_cluster::member& n1() { return cluster_[0]; }
  test_cluster::member& n2() { return cluster_[1]; }

  /// The refusals n1 counted for `actor` and `reason`.
  double refused(const std::string& actor, const std::string& reason) {
    auto v = test_cluster::metric(n1(), "troupe_cluster_refused_total{actor=\"" + actor +
                                            "\",reason=\"" + reason + "\"}");
    return v < 0 ? 0 : v;
  }

  /// n1 answers HTTP and both nodes still see each other up, in the same lives.
  void expect_unharmed() {
    EXPECT_EQ(n1().node->get("/healthz").status, 200);
    EXPECT_EQ(n1().node->get("/readyz").status, 200);
    EXPECT_EQ(test_cluster::state_of(n1(), "n2").first, "up");
    EXPECT_EQ(test_cluster::state_of(n2(), "n1").first, "up");
    EXPECT_EQ(test_cluster::state_of(n2(), "n1").second, incarnation_) << "n1 restarted or left";
    // A connection that failed its TLS handshake must not take a member's connection with it.
    EXPECT_LE(test_cluster::metric(n1(), "troupe_cluster_node_down_total"), 0)
        << "n1 lost its peer for a while";
  }

  /// A rogue with a certificate of the cluster's own CA (stolen, or issued to another cluster
  /// under the same CA) but without the cluster secret.
  rogue_identity insider() {
    auto& c = cluster_.certs();
    return {true, c.cert("rogue"), c.key("rogue"), c.ca()};
  }

  void SetUpIncarnation() { incarnation_ = test_cluster::state_of(n2(), "n1").second; }

  test_cluster cluster_;
  std::string incarnation_;
};

TEST_F(cluster_security, peers_without_a_certificate_of_the_cluster_ca_are_never_heard) {
  SetUpIncarnation();
  auto port = n1().cluster_port;
  test_certs other_ca;
  struct probe {
    const char* what;
    rogue_identity who;
  };
  std::vector<probe> probes{
      {"plain BASP", {}},
      {"TLS without a certificate", {true, "", "", ""}},
      {"TLS with another CA's certificate",
       {true, other_ca.cert("rogue"), other_ca.key("rogue"), other_ca.ca()}},
      {"TLS with a certificate its own CA did not sign",
       {true, other_ca.cert("rogue"), other_ca.key("rogue"), cluster_.certs().ca()}},
  };
  for (const auto& p : probes) {
    rogue_peer rogue{p.who};
    auto agent = rogue.connect(port, 3s);
    EXPECT_FALSE(agent) << p.what << ": reached the agent";
  }
  expect_unharmed();
}

TEST_F(cluster_security, raw_bytes_never_reach_the_protocol_parser) {
  SetUpIncarnation();
  auto port = n1().cluster_port;
  auto before = rss_kib(n1().node->proc.pid());
  // A BASP header announcing a payload of 4 GiB - 1: CAF would reserve it on plain TCP.
  unsigned char header[32] = {};
  header[0] = 0x01;
  std::memset(header + 4, 0xff, 4);
  // And a message nested 50 000 levels deep, as it would overflow the deserialiser's stack.
  std::string nested(1500000, '\x01');
  for (const std::string& payload :
       {std::string(reinterpret_cast<const char*>(header), sizeof header), nested}) {
    int fd = raw_connect(port);
    ASSERT_GE(fd, 0);
    (void)!::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
    EXPECT_TRUE(closed_within(fd, 3s)) << "the node kept a connection that sent garbage";
    close(fd);
  }
  auto after = rss_kib(n1().node->proc.pid());
  EXPECT_LT(after - before, 64 * 1024)
      << "resident memory grew from " << before << " to " << after << " KiB";
  expect_unharmed();
}

TEST_F(cluster_security, idle_and_flooding_connections_are_closed_while_http_answers) {
  SetUpIncarnation();
  auto port = n1().cluster_port;
  std::vector<int> fds;
  for (int i = 0; i < 100; ++i) {
    int fd = raw_connect(port);
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
  }
  EXPECT_EQ(n1().node->get("/healthz").status, 200) << "HTTP must answer meanwhile";
  // The idle bound is the connect timeout (2 s); the agent sweeps every 0.5 s.
  size_t closed = 0;
  for (int fd : fds)
    closed += closed_within(fd, 4s) ? 1 : 0;
  for (int fd : fds)
    close(fd);
  EXPECT_EQ(closed, fds.size()) << "idle connections still held";
  auto idle =
      test_cluster::metric(n1(), "troupe_cluster_connections_closed_total{reason=\"idle\"}");
  auto over =
      test_cluster::metric(n1(), "troupe_cluster_connections_closed_total{reason=\"over limit\"}");
  // CAF itself drops some connections that stay in their TLS handshake; the rest are the
  // agent's doing.
  EXPECT_GT(over, 0) << "100 connections from one address exceed its bound of 16";
  EXPECT_GT(std::max(idle, 0.0) + over, 50) << "idle " << idle << " over " << over;
  expect_unharmed();
}

TEST_F(cluster_security, a_certified_stranger_cannot_command_kill_or_flood_the_agent) {
  SetUpIncarnation();
  rogue_peer rogue{insider()};
  auto agent = rogue.connect(n1().cluster_port, 5s);
  ASSERT_TRUE(agent) << "a holder of a cluster certificate reaches the agent's port";
  caf::scoped_actor self{rogue.system()};
  auto answered = [&](auto... xs) {
    bool got = false;
    self->request(*agent, 1s, xs...)
        .receive([&](caf::message&) { got = true; }, [&](caf::error&) {});
    return got;
  };
  auto n2_incarnation = test_cluster::state_of(n1(), "n2").second;
  EXPECT_FALSE(answered(leave_atom::value)) << "leave";
  EXPECT_FALSE(answered(leaving_atom::value, std::string{"n2"}, n2_incarnation)) << "leaving";
  // A stranger's lease question is never confirmed: it could otherwise hold a lease on keys.
  EXPECT_FALSE(answered(lease_atom::value, std::string{"n1/x;n9/y;"})) << "lease";
  // Nor may it let go of a member's keys for it, or plant addresses to dial.
  EXPECT_FALSE(answered(release_atom::value)) << "release";
  EXPECT_FALSE(answered(released_atom::value, std::string{"n2"}, n2_incarnation)) << "released";
  self->send(*agent, found_atom::value, std::vector<std::string>{"127.0.0.1:9"});
  self->send(*agent, peers_atom::value, std::vector<std::string>{"127.0.0.1:9"});
  for (int i = 0; i < 10; ++i) {
    caf::anon_send_exit(*agent, caf::exit_reason::kill);
    self->send_exit(*agent, caf::exit_reason::kill);
  }
  // A hello with a made-up proof: refused, and no router handed out.
  std::string nonce;
  self->request(*agent, 2s, challenge_atom::value, std::string(32, 'b'), cluster::protocol::version)
      .receive([&](const std::string& n) { nonce = n; }, [](caf::error&) {});
  bool got_router = false;
  caf::error hello_error;
  self->request(*agent, 2s, hello_atom::value, nonce, std::string(32, 'b'), std::string(64, '0'),
                std::string{"n9"}, std::string{"x"}, std::string{"127.0.0.1:1"},
                std::vector<std::string>{"user"}, caf::to_string(rogue.system().node()))
      .receive([&](caf::message&) { got_router = true; }, [&](caf::error& e) { hello_error = e; });
  EXPECT_FALSE(got_router);
  EXPECT_TRUE(hello_error) << "a hello without the secret must be refused";
  // A flood of challenges: a few answered, the rest refused, the table not filled.
  size_t nonces = 0;
  for (int i = 0; i < 500; ++i)
    self->request(*agent, 2s, challenge_atom::value, std::string(32, 'a'),
                  cluster::protocol::version)
        .receive([&](const std::string&) { ++nonces; },
                 [&](caf::error& e) { ASSERT_NE(e, caf::sec::request_timeout) << i; });
  EXPECT_EQ(nonces, 4u) << "one node gets four handshakes at a time, no more";

  EXPECT_GE(refused("cluster-agent", "stranger"), 4) << "leave, leaving, lease and found";
  EXPECT_GE(refused("cluster-agent", "remote exit") + refused("cluster-agent", "anonymous exit"),
            20);
  EXPECT_GE(refused("cluster-agent", "too many handshakes"), 400);
  EXPECT_GE(refused("cluster-agent", "bad proof"), 1);
  // The agent was never restarted: its supervisor saw no failure.
  auto tree =
      n1().node->get("/admin/supervision",
                     {{"Authorization", std::string{"Bearer "} + test_cluster::admin_token}});
  EXPECT_EQ(tree.status, 200);
  EXPECT_EQ(tree.body.find("\"restarts\":1"), std::string::npos) << tree.body;
  // A real node still joins after the flood.
  auto& n3 = cluster_.start("n3");
  EXPECT_TRUE(test_cluster::await_state(n3, "n1", "up", 10s)) << n3.node->proc.err();
  expect_unharmed();
}

// A node of another protocol version (a canary of a release that changed the messages) is
// refused at its first message, with one line saying why on both sides.
TEST_F(cluster_security, a_peer_of_another_protocol_version_is_refused_with_one_clear_line) {
  SetUpIncarnation();
  rogue_peer canary{insider()};
  auto agent = canary.connect(n1().cluster_port, 5s);
  ASSERT_TRUE(agent);
  caf::scoped_actor self{canary.system()};
  caf::error err;
  self->request(*agent, 2s, challenge_atom::value, std::string(32, 'c'),
                cluster::protocol::version + 1)
      .receive([](const std::string&) {}, [&](caf::error& e) { err = e; });
  ASSERT_TRUE(err) << "a nonce was handed to another protocol version";
  EXPECT_NE(canary.system().render(err).find("cluster protocol"), std::string::npos)
      << canary.system().render(err);
  auto line = n1().node->proc.wait_for_line("speaks cluster protocol", 5s);
  ASSERT_TRUE(line) << n1().node->proc.err();
  EXPECT_NE(line->find(std::to_string(cluster::protocol::version + 1)), std::string::npos);
  EXPECT_EQ(refused("cluster-agent", "protocol version"), 1);
  expect_unharmed();
}

// A node of an older version meets a cluster that speaks a newer protocol (played by a rogue
// agent that refuses every challenge as a newer node would): it is refused and must stay
// unready, so a canary of an incompatible version never takes client traffic.
TEST(cluster_security_canary, a_node_every_peer_refuses_for_its_version_stays_unready) {
  test_cluster cluster;
  rogue_peer newer{
      {true, cluster.certs().cert("newer"), cluster.certs().key("newer"), cluster.certs().ca()}};
  auto agent = newer.system().spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](challenge_atom, const std::string&, uint32_t version) -> caf::result<std::string> {
      return troupe::make_error(troupe::errc::invalid_state,
                                "cluster protocol " + std::to_string(version) +
                                    " refused; this node speaks " +
                                    std::to_string(cluster::protocol::version + 1));
    }};
  });
  // Stopped however the test ends: a live agent would keep the rogue's actor system (and the
  // test) from ever finishing after a failed assertion.
  struct stop_agent {
    caf::actor agent;
    ~stop_agent() { caf::anon_send_exit(agent, caf::exit_reason::user_shutdown); }
  } stop{agent};
  auto port = newer.publish(agent);
  ASSERT_NE(port, 0);
  auto& canary = cluster.start("canary", {"--seeds", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(canary.node->proc.wait_for_line("refused this node", 10s)) << canary.node->proc.err();
  // Refused at every attempt, it never becomes ready (one retry round is 0.5 s).
  auto deadline = clock::now() + 3s;
  while (clock::now() < deadline) {
    auto r = canary.node->get("/readyz");
    ASSERT_EQ(r.status, 503) << r.body;
    std::this_thread::sleep_for(100ms);
  }
  auto r = canary.node->get("/readyz");
  EXPECT_NE(r.body.find("another cluster protocol version"), std::string::npos) << r.body;
  EXPECT_EQ(canary.node->get("/healthz").status, 200) << "unready, but alive";
}

// A man in the middle that holds a cluster certificate but not the secret: n2 dials it (it is
// n2's seed); it hands n2 a nonce of n1's and passes n2's hello on to n1, hoping to be taken
// for n2 and be sent n1's requests for n2. It either speaks as itself (`delegate` false) or
// lets CAF forward n2's messages under n2's name (true).
class cluster_security_relay : public ::testing::TestWithParam<bool> {};

TEST_P(cluster_security_relay, a_relayed_hello_is_refused) {
  bool delegate = GetParam();
  test_cluster cluster;
  auto& n1 = cluster.start("n1");
  rogue_peer rogue{
      {true, cluster.certs().cert("mitm"), cluster.certs().key("mitm"), cluster.certs().ca()}};
  auto victim = rogue.connect(n1.cluster_port, 5s);
  ASSERT_TRUE(victim);
  struct outcome {
    std::mutex mtx;
    bool relayed = false;
    bool accepted = false;
  };
  auto seen = std::make_shared<outcome>();
  auto relay = rogue.system().spawn(
      [victim = *victim, seen, delegate](caf::event_based_actor* self) -> caf::behavior {
        return {
            [=](challenge_atom, const std::string& their_nonce, uint32_t version) {
              auto rp = self->make_response_promise();
              if (delegate)
                rp.delegate(victim, challenge_atom::value, their_nonce, version);
              else
                self->request(victim, std::chrono::seconds(2), challenge_atom::value, their_nonce,
                              version)
                    .then([=](const std::string& n) mutable { rp.deliver(n); },
                          [=](caf::error& e) mutable { rp.deliver(e); });
              return rp;
            },
            [=](hello_atom, std::string& nonce, std::string& their_nonce, std::string& proof,
                std::string& name, std::string& incarnation, std::string& address,
                std::vector<std::string>& roles, std::string& node) {
              {
                std::lock_guard guard{seen->mtx};
                seen->relayed = true;
              }
              auto rp = self->make_response_promise();
              if (delegate) {
                rp.delegate(victim, hello_atom::value, nonce, their_nonce, proof, name, incarnation,
                            address, roles, node);
                return rp;
              }
              self->request(victim, std::chrono::seconds(2), hello_atom::value, nonce, their_nonce,
                            proof, name, incarnation, address, roles, node)
                  .then(
                      [=](caf::message&) mutable {
                        std::lock_guard guard{seen->mtx};
                        seen->accepted = true;
                      },
                      [=](caf::error&) mutable {});
              return rp; // n2 never hears back
            },
        };
      });
  auto port = rogue.publish(relay);
  ASSERT_NE(port, 0);
  auto& n2 = cluster.start("n2", {"--seeds", "127.0.0.1:" + std::to_string(port)});
  // Speaking as itself, the relay is caught by the node id; under n2's name, by the proof,
  // which n2 made for the relay's node, not n1's.
  auto line =
      n1.node->proc.wait_for_line(delegate ? "wrong cluster secret" : "relayed handshake", 10s);
  ASSERT_TRUE(line) << n1.node->proc.err();
  {
    std::lock_guard guard{seen->mtx};
    EXPECT_TRUE(seen->relayed) << "n2 never sent its hello through the relay";
    EXPECT_FALSE(seen->accepted) << "n1 took the relayed hello";
  }
  EXPECT_EQ(test_cluster::state_of(n1, "n2").first, "") << "n1 lists n2 through the relay";
  EXPECT_EQ(n2.node->get("/healthz").status, 200);
  caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
}

INSTANTIATE_TEST_SUITE_P(both, cluster_security_relay, ::testing::Values(false, true),
                         [](const auto& info) {
                           return std::string{info.param ? "under_its_name" : "as_itself"};
                         });

TEST(cluster_security_stop, a_node_with_a_half_open_handshake_still_stops_on_sigterm) {
  test_cluster cluster;
  auto& n1 = cluster.start("n1");
  // The node binds its cluster port a moment after it starts: poll, within a bound.
  int fd = -1;
  for (auto until = std::chrono::steady_clock::now() + 10s;
       fd < 0 && std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms))
    fd = raw_connect(n1.cluster_port);
  ASSERT_GE(fd, 0) << "the cluster port never accepted: " << n1.node->proc.err();
  const char hello_start[] = "\x16\x03\x01"; // the first bytes of a TLS ClientHello, then nothing
  (void)!::send(fd, hello_start, 3, MSG_NOSIGNAL);
  n1.node->proc.signal(SIGTERM);
  // Within the orderly stop, not by the 10 s backstop that ends a hung actor system.
  auto code = n1.node->proc.wait_exit(8s);
  close(fd);
  ASSERT_TRUE(code) << "the node hangs on shutdown: " << n1.node->proc.err();
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(n1.node->proc.err().find("did not shut down"), std::string::npos);
}

} // namespace
} // namespace troupe::testing
