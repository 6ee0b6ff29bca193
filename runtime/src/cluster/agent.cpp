// The node agent: publishes this node, connects to peers with bounded requests (never the
// blocking `remote_actor`), runs the handshake, watches peers through monitors, and keeps
// the membership view, its metrics and the shared snapshot current.
//
// The handshake, for a node D that dialed the agent of node A:
//   D -> A  challenge(nonce_D)                      A answers nonce_A, kept for D's CAF node
//   D -> A  hello(nonce_A, nonce_D, proof_D, D's name, incarnation, address, roles, CAF node)
//   A -> D  proof_A, A's name, incarnation, address, roles, peers, A's router
//   D -> A  joined(D's router)
// Each proof is an HMAC under the cluster secret over both nonces, both CAF nodes, the
// prover's name and incarnation and its side, so it is good for this handshake between these
// two nodes only: a hello relayed by a third node names a CAF node that is not the sender's.
// A router goes only to a peer whose proof checked out. Commands that change this node
// (leave, found, retry) are taken only from this node; `leaving` only from the leaver's own
// agent. Everything else from a node that is not an authenticated peer stops at the guard.

#include "troupe/cluster/agent.hpp"

#include <map>
#include <optional>
#include <set>

#include <ifaddrs.h>
#include <netdb.h>
#include <sys/socket.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include "proof.hpp"
#include "troupe/cluster/guard.hpp"
#include "troupe/cluster/lease.hpp"
#include "troupe/cluster/protocol.hpp"
#include "troupe/cluster/socket_guard.hpp"
#include "troupe/cluster/transport.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/core/unexpected.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::cluster {

namespace {

using namespace protocol;
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;

using clock = membership::clock;

// Nonces peers may answer; each is good for one handshake within the connect timeout. One
// node gets a few at a time, so no node can crowd out the others.
constexpr size_t max_open_nonces = 256;
constexpr size_t max_open_nonces_per_node = 4;
// Addresses taken from one peer's list of peers, and known addresses in all.
constexpr size_t max_peers_per_hello = 64;
constexpr size_t max_candidates = 1024;

// A nonce this node handed out: to whom, with the asker's own nonce, until when.
struct open_challenge {
  caf::node_id asker;
  std::string their_nonce;
  std::chrono::steady_clock::time_point expiry;
};

// A peer whose hello checked out and which was sent this node's router; it becomes a member
// when its own router arrives (`joined`), or is forgotten at `expiry`.
struct verified_peer {
  member who;
  std::chrono::steady_clock::time_point expiry;
};

struct agent_state {
  static inline const char* name = "cluster-agent";

  agent_config cfg;
  std::shared_ptr<shared_view> shared;
  std::shared_ptr<observability::registry> metrics;
  std::unique_ptr<membership> view;
  std::string address;                               // this node's advertised host:port
  std::map<std::string, open_challenge> nonces;      // issued, by nonce
  std::map<caf::actor_addr, verified_peer> verified; // peers' agents awaiting `joined`
  connection_limits limits;                          // what the cluster port's connections hold
  std::set<std::string> candidates;                  // peer addresses to stay connected to
  std::set<std::string> dialing;                     // connects or handshakes under way
  std::set<std::string> self_aliases;                // addresses that turned out to be this node
  std::set<std::string> incompatible; // peers that refused this node's protocol version
  std::set<std::string> attempted;    // addresses with at least one finished attempt
  bool dns_answered = false;          // --seed-dns has resolved at least once
  bool settled = false;               // every address known was tried once (latched)
  std::map<caf::actor_addr, std::pair<std::string, std::string>> links; // agent → member
  std::map<std::string, caf::actor, std::less<>> routers;               // up peers' inbound routers
  std::unique_ptr<lease_keeper> lease; // when this node may answer for its keys from memory
  caf::timespan lease_length{};
  uint64_t tenure = 0;                     // of the lease last published
  bool held = false;                       // the lease was held at least once
  std::optional<clock::time_point> lapsed; // since when it is not held, once it was
};

// From a node that is not (yet) an authenticated peer the agent takes the handshake alone,
// and the answers to its own handshake requests.
bool handshake_message(const caf::mailbox_element& e) {
  const auto& xs = e.content();
  if (e.mid.is_response())
    return true;
  if (xs.size() == 0 || !xs.match_element<caf::atom_value>(0))
    return false;
  auto head = xs.get_as<caf::atom_value>(0);
  return head == challenge_atom::value || head == hello_atom::value || head == joined_atom::value;
}

class agent_actor : public guarded<caf::stateful_actor<agent_state>> {
public:
  agent_actor(caf::actor_config& cfg, std::shared_ptr<const remote_guard> guard,
              std::function<caf::behavior(agent_actor*)> init)
      : guarded(cfg, std::move(guard)), init_(std::move(init)) {}

  caf::behavior make_behavior() override { return init_(this); }

protected:
  remote_guard::stranger_filter strangers() const override { return handshake_message; }

private:
  std::function<caf::behavior(agent_actor*)> init_;
};

// Whether the message being handled comes from an actor on this node.
bool from_this_node(agent_actor* self) {
  const auto& sender = self->current_sender();
  return sender && sender->node() == self->node();
}

void refused(agent_actor* self, const char* what) {
  count_refusal(self->state.metrics.get(), "cluster-agent", what);
}

// The up peers' CAF nodes, and those verified but not yet joined (they may already route).
std::set<caf::node_id> trusted_nodes(agent_actor* self) {
  std::set<caf::node_id> out;
  for (const auto& [addr, who] : self->state.links)
    out.insert(addr.node());
  for (const auto& [addr, peer] : self->state.verified)
    out.insert(addr.node());
  return out;
}

// Splits "host:port"; nothing for anything else.
std::optional<std::pair<std::string, uint16_t>> split_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return std::nullopt;
  try {
    auto port = std::stoul(address.substr(colon + 1));
    if (port == 0 || port > 65535)
      return std::nullopt;
    return std::make_pair(address.substr(0, colon), static_cast<uint16_t>(port));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Why the node should not take client traffic yet; "" once it may. Until it has heard from
// DNS (if it uses it) and tried every address it knows of once, a node would answer as if
// alone and own every key while its peers are one handshake away. Once settled it stays so:
// a peer that died but lingers in DNS must not take a live node out of service. A node that
// every peer it reached refused for its protocol version is not ready either, so a canary of
// an incompatible version fails safe instead of serving beside a cluster it cannot join.
std::string not_ready(agent_actor* self) {
  auto& st = self->state;
  if (st.address.empty())
    return "the cluster endpoint is not listening yet";
  if (!st.settled) {
    if (!st.cfg.seed_dns.empty() && !st.dns_answered)
      return "waiting for --seed-dns " + st.cfg.seed_dns + " to resolve";
    std::set<std::string> live; // a peer that dialed in is never dialed back
    for (const auto& m : st.view->members())
      if (m.state != member_state::down)
        live.insert(m.address);
    size_t untried = 0, others = 0;
    for (const auto& a : st.candidates)
      if (a != st.address && st.self_aliases.count(a) == 0) {
        ++others;
        if (st.attempted.count(a) == 0 && live.count(a) == 0)
          ++untried;
      }
    if (untried > 0)
      return "joining: " + std::to_string(untried) + " known peer address(es) not tried yet";
    st.settled = true;
    st.lease->settle(others > 0); // a node that knew of peers waits for one to confirm it
  }
  if (!st.incompatible.empty() && st.links.empty())
    return "every peer reached speaks another cluster protocol version";
  return {};
}

// Whether the message being handled comes from the agent of member `name` in life
// `incarnation` (a member speaks for itself only).
bool from_member(agent_actor* self, const std::string& name, const std::string& incarnation) {
  const auto& sender = self->current_sender();
  auto& links = self->state.links;
  auto i = sender ? links.find(caf::actor_addr{sender->address()}) : links.end();
  return i != links.end() && i->second.first == name && i->second.second == incarnation;
}

// Sends `(Atom, name, incarnation)` about this node to every linked peer; the result answers
// once each acknowledged or failed to within the connect timeout.
template <class Atom>
caf::result<caf::ok_atom> tell_peers(agent_actor* self) {
  auto& st = self->state;
  // Before any promise: one made takes over the answer, and a value returned after it would
  // never reach the caller.
  if (st.links.empty())
    return caf::ok_atom::value;
  auto promise = self->make_response_promise<caf::ok_atom>();
  auto waiting = std::make_shared<size_t>(st.links.size());
  auto one_done = [promise, waiting]() mutable {
    if (--*waiting == 0)
      promise.deliver(caf::ok_atom::value);
  };
  for (const auto& [addr, who] : st.links)
    self->request(caf::actor_cast<caf::actor>(addr), caf::timespan{st.cfg.connect_timeout},
                  Atom::value, st.cfg.name, st.cfg.incarnation)
        .then([one_done](caf::ok_atom) mutable { one_done(); },
              [one_done](caf::error&) mutable { one_done(); });
  return promise;
}

// "name/incarnation": one life of a member.
std::string life_of(const std::string& name, const std::string& incarnation) {
  return name + "/" + incarnation;
}

// Publishes the lease as it stands now, counting each new stretch of it: every one makes the
// node's activations reload, so a count that climbs without view changes means confirmations
// come late (an overloaded node or network).
void publish_lease(agent_actor* self) {
  auto& st = self->state;
  auto lease = st.lease->publish(clock::now());
  if (st.metrics && lease.tenure != st.tenure)
    st.metrics
        ->counters("troupe_cluster_lease_tenures_total",
                   "Unbroken stretches of this node's lease begun (activations reload after each).")
        .with({})
        .inc();
  st.tenure = lease.tenure;
  st.shared->set_lease(lease);
  // A lapse is when requests for this node's keys wait: worth a line when it ends, with how
  // long it lasted (a view change costs one exchange; longer means slow confirmations).
  auto now = clock::now();
  if (lease.at(now) == 0) {
    if (!st.lapsed && st.held)
      st.lapsed = now;
    return;
  }
  st.held = true;
  if (st.lapsed) {
    // One that ended where it began (a view change confirmed within the same turn) kept
    // nothing waiting.
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - *st.lapsed).count();
    if (ms > 0)
      spdlog::info("cluster: lease held again after {} ms (tenure {})", ms, lease.tenure);
    st.lapsed.reset();
  }
}

// Asks the peer whose agent is `addr` whether it sees this node's view; an answer that does
// renews the lease from the moment it was asked (see `lease_keeper`).
void ask_peer(agent_actor* self, const caf::actor_addr& addr, const std::string& id) {
  auto& st = self->state;
  auto epoch = st.lease->epoch();
  auto asked = clock::now();
  self->request(caf::actor_cast<caf::actor>(addr), st.lease_length, lease_atom::value,
                st.lease->digest())
      .then(
          [self, id, epoch, asked](const std::string& theirs) {
            self->state.lease->on_answer(id, epoch, asked, theirs);
            publish_lease(self);
          },
          [](caf::error&) {}); // no answer: the lease runs out on its own
}

void ask_peers(agent_actor* self) {
  for (const auto& [addr, who] : self->state.links)
    ask_peer(self, addr, life_of(who.first, who.second));
}

// Hands the view to the lease keeper. A leaving node keeps the view from before its leave
// there until its activations are gone (see `agent_config::drained`).
void lease_view(agent_actor* self) {
  auto& st = self->state;
  if (st.view->self().state == member_state::leaving && st.cfg.drained && !st.cfg.drained())
    return;
  std::set<std::string> peers;
  for (const auto& m : st.view->members())
    if (m.state != member_state::down && m.name != st.view->self().name)
      peers.insert(life_of(m.name, m.incarnation));
  st.lease->on_view(view_digest(*st.view), std::move(peers), clock::now());
}

void publish(agent_actor* self) {
  auto& st = self->state;
  auto why_not_ready = not_ready(self); // may settle the lease keeper
  // The lease first: a view change voids it before anything routes by the new view.
  auto epoch = st.lease->epoch();
  lease_view(self);
  publish_lease(self);
  if (st.lease->epoch() != epoch)
    ask_peers(self);
  st.shared->publish(*st.view, st.routers, trusted_nodes(self),
                     st.cfg.tls ? "mutual-tls" : "insecure", why_not_ready);
  if (!st.metrics)
    return;
  auto& gauge =
      st.metrics->gauges("troupe_cluster_members", "Members in this node's view.", {"state"});
  for (auto s :
       {member_state::joining, member_state::up, member_state::leaving, member_state::down})
    gauge.with({std::string{to_string(s)}}).set(static_cast<double>(st.view->count(s)));
}

void note(agent_actor* self, const std::vector<member_change>& changes) {
  for (const auto& c : changes) {
    spdlog::info("cluster: {} ({}) {} -> {}", c.name, c.incarnation,
                 c.from ? to_string(*c.from) : "new", to_string(c.to));
    if (c.to == member_state::down && self->state.metrics)
      self->state.metrics
          ->counters("troupe_cluster_node_down_total", "Peers this node saw go down.")
          .with({})
          .inc();
  }
  if (changes.empty())
    return;
  auto& st = self->state;
  for (const auto& c : changes)
    if (c.to != member_state::up)
      st.routers.erase(c.name);
  publish(self);
  for (const auto& c : changes)
    if (c.to == member_state::down && st.cfg.pending)
      if (auto n = st.cfg.pending->fail(
              c.name, make_error(errc::node_down, "node " + c.name + " went down")))
        spdlog::warn("cluster: failed {} requests in flight to {}", n, c.name);
  if (st.cfg.on_change)
    st.cfg.on_change(changes);
}

void note(agent_actor* self, std::optional<member_change> c) {
  if (c)
    note(self, std::vector<member_change>{*c});
}

// Watches a peer's agent; its monitor is how this node learns that the peer is gone.
void link_to(agent_actor* self, const caf::actor& peer_agent, const member& peer,
             caf::actor router) {
  auto addr = caf::actor_cast<caf::actor_addr>(peer_agent);
  if (self->state.links.count(addr) == 0) {
    self->monitor(peer_agent);
    // Introduced to the others: one that joined through this node at the same moment as
    // another learned nothing of it from either hello.
    for (const auto& [other, who] : self->state.links)
      self->send(caf::actor_cast<caf::actor>(other), peers_atom::value,
                 std::vector<std::string>{peer.address});
  }
  self->state.links[addr] = {peer.name, peer.incarnation};
  if (router)
    self->state.routers[peer.name] = std::move(router);
}

caf::actor inbound_of(agent_actor* self) {
  return self->state.cfg.inbound ? self->state.cfg.inbound() : caf::actor{};
}

member member_of(std::string name, std::string incarnation, std::string address,
                 std::vector<std::string> roles) {
  return member{std::move(name),  std::move(incarnation), std::move(address),
                std::move(roles), member_state::up,       {}};
}

// The up peers' addresses: a node that knows one member learns them all.
std::vector<std::string> known_addresses(agent_actor* self) {
  std::vector<std::string> out;
  for (const auto& m : self->state.view->members())
    if (m.state == member_state::up && m.name != self->state.cfg.name)
      out.push_back(m.address);
  return out;
}

// The proof that `name` (incarnation `incarnation`, CAF node `prover`) holds the secret, for
// the handshake with nonces (`asked`, `answered`) towards CAF node `verifier`. `side` tells the
// dialer's proof from the acceptor's, so neither can be reflected as the other.
std::string proof_for(const agent_state& st, std::string_view side, std::string_view asked,
                      std::string_view answered, std::string_view name,
                      std::string_view incarnation, std::string_view prover,
                      std::string_view verifier) {
  return detail::proof(st.cfg.secret, {side, asked, answered, name, incarnation, prover, verifier});
}

// Takes up to `max_peers_per_hello` of a peer's known addresses as candidates to dial; the
// view's addresses come only from each member's own hello, never from another's word.
void learn_candidates(agent_actor* self, const std::vector<std::string>& peers) {
  auto& st = self->state;
  size_t taken = 0;
  for (const auto& p : peers) {
    if (taken++ == max_peers_per_hello || st.candidates.size() >= max_candidates)
      break;
    st.candidates.insert(p);
  }
}

// An attempt on `address` ended, whichever way.
void attempted(agent_actor* self, const std::string& address) {
  auto& st = self->state;
  st.dialing.erase(address);
  st.attempted.insert(address);
  // Readiness, and the lease, may change with this attempt: published now, not at the next
  // dial round.
  publish(self);
}

// Our half of a handshake we started: ask for a nonce (sending ours), prove the secret over
// both, check the peer's proof before taking anything of it in, then send our router.
void handshake(agent_actor* self, const std::string& address, caf::actor peer) {
  auto& cfg = self->state.cfg;
  auto timeout = caf::timespan{cfg.connect_timeout};
  auto ours = random_hex(16);
  self->request(peer, timeout, challenge_atom::value, ours, protocol::version)
      .then(
          [=](const std::string& their_nonce) {
            auto& st = self->state;
            auto me = caf::to_string(self->node());
            auto them = caf::to_string(peer.node());
            self->request(peer, timeout, hello_atom::value, their_nonce, ours,
                          proof_for(st, "dial", their_nonce, ours, st.cfg.name, st.cfg.incarnation,
                                    me, them),
                          st.cfg.name, st.cfg.incarnation, st.address, st.cfg.roles, me)
                .then(
                    [=](const std::string& their_proof, const std::string& name,
                        const std::string& incarnation, const std::string& their_address,
                        const std::vector<std::string>& roles,
                        const std::vector<std::string>& peers, const caf::actor& router) {
                      auto& st = self->state;
                      attempted(self, address);
                      auto expected =
                          proof_for(st, "accept", ours, their_nonce, name, incarnation, them, me);
                      if (!detail::same_proof(their_proof, expected)) {
                        spdlog::error("cluster: refusing {} at {}: it does not hold the "
                                      "cluster secret",
                                      name, address);
                        refused(self, "bad proof");
                        return;
                      }
                      auto m = member_of(name, incarnation, their_address, roles);
                      link_to(self, peer, m, router);
                      note(self, st.view->on_hello(std::move(m), clock::now()));
                      learn_candidates(self, peers);
                      self->send(peer, joined_atom::value, inbound_of(self));
                    },
                    [=](caf::error& err) {
                      attempted(self, address);
                      spdlog::error("cluster: the peer at {} refused this node: {}", address,
                                    describe(err));
                    });
          },
          [=](caf::error& err) {
            auto& st = self->state;
            // A peer of another protocol version says so once; it is tried again quietly, as
            // a rollout or rollback may settle it. Noted, and readiness published, before the
            // line that says so.
            bool incompatible =
                is(err, errc::invalid_state) && st.incompatible.insert(address).second;
            attempted(self, address);
            if (incompatible)
              spdlog::error("cluster: the peer at {} refused this node: {}", address,
                            describe(err));
            else
              spdlog::debug("cluster: no handshake with {}: {}", address, describe(err));
          });
}

// Whether `address` is this node's own endpoint: its port, on a host that is this node.
bool is_this_node(agent_actor* self, const std::string& address) {
  auto& st = self->state;
  auto where = split_address(address);
  if (!where || std::to_string(where->second) != st.address.substr(st.address.rfind(':') + 1))
    return false;
  const auto& host = where->first;
  if (host == st.cfg.advertise_host || host == "localhost" || host == st.cfg.bind_host)
    return true;
  bool local = false;
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0)
    return false;
  for (auto* a = all; a != nullptr && !local; a = a->ifa_next) {
    if (a->ifa_addr == nullptr ||
        (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6))
      continue;
    char text[NI_MAXHOST];
    auto len = a->ifa_addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (getnameinfo(a->ifa_addr, static_cast<socklen_t>(len), text, sizeof text, nullptr, 0,
                    NI_NUMERICHOST) == 0)
      local = host == text;
  }
  freeifaddrs(all);
  return local;
}

void dial(agent_actor* self, const std::string& address) {
  auto& st = self->state;
  auto where = split_address(address);
  if (!where) {
    spdlog::warn("cluster: ignoring peer address '{}' (expected host:port)", address);
    st.candidates.erase(address);
    return;
  }
  st.dialing.insert(address);
  auto mm = transport_actor(self->system());
  self->request(mm, caf::timespan{st.cfg.connect_timeout}, caf::connect_atom::value, where->first,
                where->second)
      .then(
          [=](const caf::node_id& nid, caf::strong_actor_ptr& ptr, std::set<std::string>&) {
            auto& st = self->state;
            if (nid == self->node()) {
              // CAF answers a connection to its own node id locally, so such a peer can
              // never be reached: either it is this node under another name, or another
              // process whose id collides with ours. Either way, never dial it again.
              attempted(self, address);
              st.self_aliases.insert(address);
              if (is_this_node(self, address))
                return;
              spdlog::error("cluster: refusing the peer at {}: it has this node's CAF node id {} "
                            "(another process from the same image with the same pid?); CAF "
                            "would merge the two, so the peer stays out of the cluster",
                            address, caf::to_string(nid));
              return;
            }
            if (!ptr) {
              attempted(self, address);
              spdlog::warn("cluster: {} has no cluster agent published", address);
              return;
            }
            handshake(self, address, caf::actor_cast<caf::actor>(ptr));
          },
          [=](caf::error& err) {
            attempted(self, address);
            spdlog::debug("cluster: cannot reach {}: {}", address, describe(err));
          });
}

// Closes the cluster port's connections that idle or exceed their bounds, and counts them.
void sweep(agent_actor* self) {
  auto& st = self->state;
  if (st.limits.port == 0)
    return;
  auto swept = sweep_connections(st.limits);
  if (!st.metrics)
    return;
  st.metrics->gauges("troupe_cluster_connections", "Connections accepted on the cluster port.")
      .with({})
      .set(static_cast<int64_t>(swept.open));
  auto& closed = st.metrics->counters("troupe_cluster_connections_closed_total",
                                      "Cluster port connections this node closed.", {"reason"});
  if (swept.closed_idle > 0)
    closed.with({"idle"}).inc(swept.closed_idle);
  if (swept.closed_over_limit > 0)
    closed.with({"over limit"}).inc(swept.closed_over_limit);
}

// Tries every known address that has no live member behind it and no attempt under way.
void retry(agent_actor* self) {
  auto& st = self->state;
  auto now = clock::now();
  st.view->prune(now, st.cfg.keep_down);
  for (auto i = st.nonces.begin(); i != st.nonces.end();)
    i = i->second.expiry < now ? st.nonces.erase(i) : std::next(i);
  for (auto i = st.verified.begin(); i != st.verified.end();)
    i = i->second.expiry < now ? st.verified.erase(i) : std::next(i);
  sweep(self);
  std::set<std::string> live;
  for (const auto& m : st.view->members())
    if (m.state != member_state::down)
      live.insert(m.address);
  for (const auto& a : st.candidates)
    if (a != st.address && live.count(a) == 0 && st.dialing.count(a) == 0 &&
        st.self_aliases.count(a) == 0)
      dial(self, a);
  publish(self);
}

// Asks every connected peer whether it sees this node's view (see `ask_peer`), after a view
// change at once rather than at the next tick.
void renew(agent_actor* self) {
  lease_view(self); // a leaving node that has drained moves on to its current view
  publish_lease(self);
  ask_peers(self);
}

// Resolves the seed DNS name on its own thread (getaddrinfo blocks) and reports each round.
caf::behavior resolver(caf::event_based_actor* self, std::string name, uint16_t port,
                       caf::timespan interval, caf::actor agent) {
  self->send(self, resolve_atom::value);
  return {[=](resolve_atom) {
    self->delayed_send(self, interval, resolve_atom::value);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = getaddrinfo(name.c_str(), nullptr, &hints, &found); rc != 0) {
      spdlog::warn("cluster: cannot resolve --seed-dns {}: {}", name, gai_strerror(rc));
      return;
    }
    std::set<std::string> out;
    for (auto* a = found; a != nullptr; a = a->ai_next) {
      char host[NI_MAXHOST];
      if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST) ==
          0) {
        std::string h{host};
        out.insert((h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" +
                   std::to_string(port));
      }
    }
    freeaddrinfo(found);
    self->send(agent, found_atom::value, std::vector<std::string>(out.begin(), out.end()));
  }};
}

// A hello from the node that was handed `nonce`: checks the proof, the CAF node and the
// names, then answers with this node's proof and router; nothing before the checks pass.
caf::result<std::string, std::string, std::string, std::string, std::vector<std::string>,
            std::vector<std::string>, caf::actor>
answer_hello(agent_actor* self, const std::string& nonce, const std::string& their_nonce,
             const std::string& their_proof, member m, const std::string& caf_node) {
  auto& st = self->state;
  const auto& sender = self->current_sender();
  auto issued = st.nonces.find(nonce);
  if (issued == st.nonces.end() || !sender || issued->second.asker != sender->node() ||
      issued->second.their_nonce != their_nonce) {
    refused(self, "unknown nonce");
    return make_error(errc::forbidden, "unknown or expired handshake nonce");
  }
  st.nonces.erase(issued);
  auto me = caf::to_string(self->node());
  if (caf_node != caf::to_string(sender->node())) {
    // The proof names another node than the one that sent it: a relayed hello.
    spdlog::error("cluster: refusing {} at {}: its hello came from another CAF node ({}) than "
                  "the one it names ({}), as a relayed handshake would",
                  m.name, m.address, caf::to_string(sender->node()), caf_node);
    refused(self, "relayed hello");
    return make_error(errc::forbidden, "hello from another node than the one it names");
  }
  if (!detail::same_proof(their_proof, proof_for(st, "dial", nonce, their_nonce, m.name,
                                                 m.incarnation, caf_node, me))) {
    spdlog::error("cluster: refusing {} ({}) at {}: wrong cluster secret", m.name, m.incarnation,
                  m.address);
    refused(self, "bad proof");
    return make_error(errc::forbidden, "wrong cluster secret");
  }
  if (caf_node == me) {
    spdlog::error("cluster: refusing {} at {}: its CAF node id equals this node's "
                  "(same image, same pid); it would be merged with this node",
                  m.name, m.address);
    return make_error(errc::invalid_state, "CAF node id collision");
  }
  if (m.name == st.cfg.name) {
    spdlog::error("cluster: refusing {} at {}: this node has the same name", m.name, m.address);
    return make_error(errc::invalid_state, "duplicate node name " + m.name);
  }
  auto reply =
      proof_for(st, "accept", their_nonce, nonce, st.cfg.name, st.cfg.incarnation, me, caf_node);
  st.verified[caf::actor_addr{sender->address()}] = {m, clock::now() + st.cfg.connect_timeout};
  publish(self); // its node may route here before its router arrives
  return {std::move(reply), st.cfg.name,           st.cfg.incarnation, st.address,
          st.cfg.roles,     known_addresses(self), inbound_of(self)};
}

caf::behavior agent(agent_actor* self, agent_config cfg, std::shared_ptr<shared_view> shared,
                    std::shared_ptr<observability::registry> metrics) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.shared = std::move(shared);
  st.metrics = std::move(metrics);
  if (st.metrics) {
    // At 0 from the start, so rate() and increase() see the first event.
    st.metrics->counters("troupe_cluster_node_down_total", "Peers this node saw go down.").with({});
    auto& closed = st.metrics->counters("troupe_cluster_connections_closed_total",
                                        "Cluster port connections this node closed.", {"reason"});
    closed.with({"idle"});
    closed.with({"over limit"});
  }
  st.limits.idle = std::max(st.cfg.connect_timeout, st.cfg.connection_timeout);
  st.lease_length =
      caf::timespan{st.cfg.lease.count() > 0 ? st.cfg.lease : st.cfg.connection_timeout};
  st.lease = std::make_unique<lease_keeper>(
      st.lease_length, static_cast<uint64_t>(clock::now().time_since_epoch().count()));
  st.limits.per_address = st.cfg.max_connections_per_address;
  st.limits.total = st.cfg.max_connections;
  st.view = std::make_unique<membership>(
      member{st.cfg.name, st.cfg.incarnation, "", st.cfg.roles, member_state::joining, {}});
  st.candidates.insert(st.cfg.seeds.begin(), st.cfg.seeds.end());
  self->set_default_handler(drop_unexpected("cluster-agent", st.metrics));
  // CAF's own named helpers answer any peer by name; a node that takes no remote spawns
  // and keeps no shared configuration needs neither reachable.
  self->system().registry().erase(caf::atom("SpawnServ"));
  self->system().registry().erase(caf::atom("ConfigServ"));
  publish(self);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    st.verified.erase(dm.source);
    auto i = st.links.find(dm.source);
    if (i == st.links.end())
      return;
    auto [name, incarnation] = i->second;
    st.links.erase(i);
    note(self, st.view->on_down(name, incarnation, clock::now()));
    publish(self);
  });
  auto mm = transport_actor(self->system());
  self->request(mm, std::chrono::seconds(10), caf::publish_atom::value, st.cfg.port,
                caf::actor_cast<caf::strong_actor_ptr>(self), std::set<std::string>{},
                st.cfg.bind_host, true)
      .then(
          [self, mm](uint16_t port) {
            auto& st = self->state;
            st.address = st.cfg.advertise_host + ":" + std::to_string(port);
            st.limits.port = port;
            self->attach_functor([mm, port] {
              caf::anon_send(mm, caf::close_atom::value, port); // free the port for a restart
              // A connection still in its TLS handshake would hold CAF's shutdown forever.
              close_connections(port);
            });
            auto me = st.view->self();
            me.address = st.address;
            st.view = std::make_unique<membership>(me);
            note(self, st.view->set_self(member_state::up, clock::now()));
            spdlog::info("cluster: {} ({}) listening on {}:{} ({}), advertised as {}", st.cfg.name,
                         st.cfg.incarnation, st.cfg.bind_host, port,
                         st.cfg.tls ? "mutual TLS" : "INSECURE: plain TCP, no authentication",
                         st.address);
            if (!st.cfg.seed_dns.empty())
              self->spawn<caf::detached + caf::linked>(resolver, st.cfg.seed_dns, st.cfg.port,
                                                       caf::timespan{st.cfg.resolve_interval},
                                                       caf::actor_cast<caf::actor>(self));
            self->send(self, retry_atom::value);
            self->send(self, renew_atom::value);
          },
          [self](caf::error& err) {
            spdlog::critical("cluster: cannot listen on {}:{}: {}", self->state.cfg.bind_host,
                             self->state.cfg.port, describe(err));
            self->quit(err);
          });
  return {
      [self](retry_atom) {
        if (!from_this_node(self))
          return refused(self, "command from another node");
        self->delayed_send(self, caf::timespan{self->state.cfg.retry_interval}, retry_atom::value);
        retry(self);
      },
      [self](renew_atom) {
        if (!from_this_node(self))
          return refused(self, "command from another node");
        // Two and a half questions per lease: an answer has three fifths of a lease to come
        // before the lease lapses, and an idle cluster pays for every message (on TLS each is
        // a wakeup and half a dozen syscalls of the multiplexer).
        self->delayed_send(self, self->state.lease_length * 2 / 5, renew_atom::value);
        renew(self);
      },
      [self](lease_atom, const std::string& theirs) -> std::string {
        auto& st = self->state;
        const auto& sender = self->current_sender();
        auto i = sender ? st.links.find(caf::actor_addr{sender->address()}) : st.links.end();
        // A confirmation this node cannot attribute is never given: after a peer goes down,
        // the lease waits out the last one it was given (see `lease_keeper`).
        if (i == st.links.end())
          return std::string{};
        auto id = life_of(i->second.first, i->second.second);
        // A peer that has just come to this node's view: ask it back now, not at the next tick.
        if (st.lease->on_question(id, theirs, clock::now()) && !st.lease->confirmed(id))
          ask_peer(self, i->first, id);
        return st.lease->digest();
      },
      [self](found_atom, const std::vector<std::string>& addresses) {
        if (!from_this_node(self))
          return refused(self, "command from another node");
        self->state.dns_answered = true;
        learn_candidates(self, addresses);
      },
      [self](challenge_atom, const std::string& their_nonce,
             uint32_t version) -> caf::result<std::string> {
        auto& st = self->state;
        const auto& sender = self->current_sender();
        if (version != protocol::version) {
          // A canary of another version must fail safe, not misread what it is sent.
          spdlog::error("cluster: refusing a peer that speaks cluster protocol {}; this node "
                        "speaks {} (roll back or upgrade one side)",
                        version, protocol::version);
          refused(self, "protocol version");
          return make_error(errc::invalid_state, "cluster protocol " + std::to_string(version) +
                                                     " refused; this node "
                                                     "speaks " +
                                                     std::to_string(protocol::version));
        }
        if (!sender || their_nonce.size() != 32)
          return make_error(errc::invalid_argument, "a challenge carries the asker's nonce");
        size_t theirs = 0;
        for (const auto& [n, c] : st.nonces)
          theirs += c.asker == sender->node() ? 1 : 0;
        if (st.nonces.size() >= max_open_nonces || theirs >= max_open_nonces_per_node) {
          refused(self, "too many handshakes");
          return make_error(errc::overloaded, "too many handshakes at once");
        }
        auto nonce = random_hex(16);
        st.nonces[nonce] = {sender->node(), their_nonce, clock::now() + st.cfg.connect_timeout};
        return nonce;
      },
      [self](hello_atom, const std::string& nonce, const std::string& their_nonce,
             const std::string& their_proof, std::string& name, std::string& incarnation,
             std::string& address, std::vector<std::string>& roles, const std::string& caf_node) {
        return answer_hello(self, nonce, their_nonce, their_proof,
                            member_of(std::move(name), std::move(incarnation), std::move(address),
                                      std::move(roles)),
                            caf_node);
      },
      [self](joined_atom, const caf::actor& router) {
        auto& st = self->state;
        auto i = st.verified.find(caf::actor_addr{self->current_sender()->address()});
        if (i == st.verified.end())
          return refused(self, "join without a hello");
        auto m = std::move(i->second.who);
        st.verified.erase(i);
        link_to(self, caf::actor_cast<caf::actor>(self->current_sender()), m, router);
        st.candidates.insert(m.address);
        note(self, st.view->on_hello(std::move(m), clock::now()));
        publish(self);
      },
      [self](leaving_atom, const std::string& name,
             const std::string& incarnation) -> caf::result<caf::ok_atom> {
        auto& st = self->state;
        if (!from_member(self, name, incarnation)) {
          refused(self, "leaving for another node");
          return make_error(errc::forbidden, "only a member's own agent announces its leave");
        }
        note(self, st.view->on_leaving(name, incarnation, clock::now()));
        return caf::ok_atom::value;
      },
      [self](leave_atom) -> caf::result<caf::ok_atom> {
        auto& st = self->state;
        if (!from_this_node(self)) {
          refused(self, "command from another node");
          return make_error(errc::forbidden, "only this node can make itself leave");
        }
        note(self, st.view->set_self(member_state::leaving, clock::now()));
        spdlog::info("cluster: {} is leaving; telling {} peers", st.cfg.name, st.links.size());
        return tell_peers<leaving_atom>(self);
      },
      [self](peers_atom, const std::vector<std::string>& addresses) {
        auto& st = self->state;
        const auto& sender = self->current_sender();
        if (!sender || st.links.count(caf::actor_addr{sender->address()}) == 0)
          return refused(self, "peers from a node that is not linked");
        learn_candidates(self, addresses); // dialed at the next retry
      },
      [self](released_atom, const std::string& name,
             const std::string& incarnation) -> caf::result<caf::ok_atom> {
        auto& st = self->state;
        if (!from_member(self, name, incarnation)) {
          refused(self, "released for another node");
          return make_error(errc::forbidden, "only a member's own agent announces its release");
        }
        st.lease->on_release(life_of(name, incarnation));
        spdlog::info("cluster: {} ({}) drained: no wait for its lease when it goes", name,
                     incarnation);
        return caf::ok_atom::value;
      },
      [self](release_atom) -> caf::result<caf::ok_atom> {
        auto& st = self->state;
        if (!from_this_node(self)) {
          refused(self, "command from another node");
          return make_error(errc::forbidden, "only this node can release its keys");
        }
        if (st.view->self().state != member_state::leaving || (st.cfg.drained && !st.cfg.drained()))
          return make_error(errc::invalid_state, "only a leaving node that drained lets go");
        spdlog::info("cluster: {} has drained; telling {} peers", st.cfg.name, st.links.size());
        return tell_peers<released_atom>(self);
      },
  };
}

} // namespace

supervision::child_spec agent_child(agent_config cfg, std::shared_ptr<shared_view> view,
                                    std::shared_ptr<observability::registry> metrics) {
  supervision::child_spec spec;
  spec.name = "cluster";
  spec.shutdown_timeout = std::chrono::seconds(1);
  spec.start = [cfg, view, metrics](caf::actor_system& sys) -> caf::expected<caf::actor> {
    auto guard = std::make_shared<const remote_guard>(view, metrics);
    return caf::actor_cast<caf::actor>(
        sys.spawn<agent_actor>(guard, [cfg, view, metrics](agent_actor* self) {
          return agent(self, cfg, view, metrics);
        }));
  };
  return spec;
}

} // namespace troupe::cluster
