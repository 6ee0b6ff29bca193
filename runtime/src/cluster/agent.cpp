// The node agent: publishes this node, connects to peers with bounded requests (never the
// blocking `remote_actor`), runs the handshake, watches peers through monitors, and keeps
// the membership view, its metrics and the shared snapshot current.

#include "troupe/cluster/agent.hpp"

#include <map>
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
#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::cluster {

namespace {

using challenge_atom = caf::atom_constant<caf::atom("challenge")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using leaving_atom = caf::atom_constant<caf::atom("leaving")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
using found_atom = caf::atom_constant<caf::atom("found")>;

using clock = membership::clock;

// Nonces a peer may answer; each is good for one handshake within the connect timeout.
constexpr size_t max_open_nonces = 1024;

struct agent_state {
  static inline const char* name = "cluster-agent";

  agent_config cfg;
  std::shared_ptr<shared_view> shared;
  std::shared_ptr<observability::registry> metrics;
  std::unique_ptr<membership> view;
  std::string address;                             // this node's advertised host:port
  std::map<std::string, clock::time_point> nonces; // issued, with their expiry
  std::set<std::string> candidates;                // peer addresses to stay connected to
  std::set<std::string> dialing;                   // connects or handshakes under way
  std::set<std::string> self_aliases;              // addresses that turned out to be this node
  std::map<caf::actor_addr, std::pair<std::string, std::string>> links; // agent → member
  std::map<std::string, caf::actor, std::less<>> routers;               // up peers' inbound routers
};

using agent_actor = caf::stateful_actor<agent_state>;

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

void publish(agent_actor* self) {
  auto& st = self->state;
  st.shared->publish(*st.view, st.routers);
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
  if (self->state.links.count(addr) == 0)
    self->monitor(peer_agent);
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

// Our half of a handshake we started: ask for a nonce, prove the secret over it with ours
// attached, and check the peer's proof over ours before taking it in.
void handshake(agent_actor* self, const std::string& address, caf::actor peer) {
  auto& cfg = self->state.cfg;
  auto timeout = caf::timespan{cfg.connect_timeout};
  self->request(peer, timeout, challenge_atom::value)
      .then(
          [=](const std::string& their_nonce) {
            auto& cfg = self->state.cfg;
            auto ours = random_hex(16);
            self->request(peer, timeout, hello_atom::value, their_nonce,
                          detail::proof(cfg.secret, their_nonce, cfg.name, cfg.incarnation),
                          cfg.name, cfg.incarnation, self->state.address, cfg.roles,
                          caf::to_string(self->node()), ours, inbound_of(self))
                .then(
                    [=](const std::string& their_proof, const std::string& name,
                        const std::string& incarnation, const std::string& their_address,
                        const std::vector<std::string>& roles,
                        const std::vector<std::string>& peers, const caf::actor& router) {
                      auto& st = self->state;
                      st.dialing.erase(address);
                      if (!detail::same_proof(
                              their_proof, detail::proof(st.cfg.secret, ours, name, incarnation))) {
                        spdlog::error("cluster: refusing {} at {}: it does not hold the "
                                      "cluster secret",
                                      name, address);
                        return;
                      }
                      auto m = member_of(name, incarnation, their_address, roles);
                      link_to(self, peer, m, router);
                      note(self, st.view->on_hello(std::move(m), clock::now()));
                      for (const auto& p : peers)
                        st.candidates.insert(p);
                    },
                    [=](caf::error& err) {
                      self->state.dialing.erase(address);
                      spdlog::error("cluster: the peer at {} refused this node: {}", address,
                                    describe(err));
                    });
          },
          [=](caf::error& err) {
            self->state.dialing.erase(address);
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
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, caf::timespan{st.cfg.connect_timeout}, caf::connect_atom::value, where->first,
                where->second)
      .then(
          [=](const caf::node_id& nid, caf::strong_actor_ptr& ptr, std::set<std::string>&) {
            auto& st = self->state;
            if (nid == self->node()) {
              // CAF answers a connection to its own node id locally, so such a peer can
              // never be reached: either it is this node under another name, or another
              // process whose id collides with ours. Either way, never dial it again.
              st.dialing.erase(address);
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
              st.dialing.erase(address);
              spdlog::warn("cluster: {} has no cluster agent published", address);
              return;
            }
            handshake(self, address, caf::actor_cast<caf::actor>(ptr));
          },
          [=](caf::error& err) {
            self->state.dialing.erase(address);
            spdlog::debug("cluster: cannot reach {}: {}", address, describe(err));
          });
}

// Tries every known address that has no live member behind it and no attempt under way.
void retry(agent_actor* self) {
  auto& st = self->state;
  auto now = clock::now();
  st.view->prune(now, st.cfg.keep_down);
  for (auto i = st.nonces.begin(); i != st.nonces.end();)
    i = i->second < now ? st.nonces.erase(i) : std::next(i);
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

caf::behavior agent(agent_actor* self, agent_config cfg, std::shared_ptr<shared_view> shared,
                    std::shared_ptr<observability::registry> metrics) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.shared = std::move(shared);
  st.metrics = std::move(metrics);
  st.view = std::make_unique<membership>(
      member{st.cfg.name, st.cfg.incarnation, "", st.cfg.roles, member_state::joining, {}});
  st.candidates.insert(st.cfg.seeds.begin(), st.cfg.seeds.end());
  publish(self);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.links.find(dm.source);
    if (i == st.links.end())
      return;
    auto [name, incarnation] = i->second;
    st.links.erase(i);
    note(self, st.view->on_down(name, incarnation, clock::now()));
  });
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, std::chrono::seconds(10), caf::publish_atom::value, st.cfg.port,
                caf::actor_cast<caf::strong_actor_ptr>(self), std::set<std::string>{},
                st.cfg.bind_host, true)
      .then(
          [self](uint16_t port) {
            auto& st = self->state;
            st.address = st.cfg.advertise_host + ":" + std::to_string(port);
            self->attach_functor([mm = self->system().middleman().actor_handle(), port] {
              caf::anon_send(mm, caf::close_atom::value, port); // free the port for a restart
            });
            auto me = st.view->self();
            me.address = st.address;
            st.view = std::make_unique<membership>(me);
            note(self, st.view->set_self(member_state::up, clock::now()));
            spdlog::info("cluster: {} ({}) listening on {}:{}, advertised as {}", st.cfg.name,
                         st.cfg.incarnation, st.cfg.bind_host, port, st.address);
            if (!st.cfg.seed_dns.empty())
              self->spawn<caf::detached + caf::linked>(resolver, st.cfg.seed_dns, st.cfg.port,
                                                       caf::timespan{st.cfg.resolve_interval},
                                                       caf::actor_cast<caf::actor>(self));
            self->send(self, retry_atom::value);
          },
          [self](caf::error& err) {
            spdlog::critical("cluster: cannot listen on {}:{}: {}", self->state.cfg.bind_host,
                             self->state.cfg.port, describe(err));
            self->quit(err);
          });
  return {
      [self](retry_atom) {
        self->delayed_send(self, caf::timespan{self->state.cfg.retry_interval}, retry_atom::value);
        retry(self);
      },
      [self](found_atom, const std::vector<std::string>& addresses) {
        self->state.candidates.insert(addresses.begin(), addresses.end());
      },
      [self](challenge_atom) -> caf::result<std::string> {
        auto& st = self->state;
        if (st.nonces.size() >= max_open_nonces)
          return make_error(errc::overloaded, "too many handshakes at once");
        auto nonce = random_hex(16);
        st.nonces[nonce] = clock::now() + st.cfg.connect_timeout;
        return nonce;
      },
      [self](hello_atom, const std::string& nonce, const std::string& their_proof,
             std::string& name, std::string& incarnation, std::string& address,
             std::vector<std::string>& roles, const std::string& caf_node,
             const std::string& their_nonce, const caf::actor& router)
          -> caf::result<std::string, std::string, std::string, std::string,
                         std::vector<std::string>, std::vector<std::string>, caf::actor> {
        auto& st = self->state;
        auto issued = st.nonces.find(nonce);
        if (issued == st.nonces.end())
          return make_error(errc::forbidden, "unknown or expired handshake nonce");
        st.nonces.erase(issued);
        if (!detail::same_proof(their_proof,
                                detail::proof(st.cfg.secret, nonce, name, incarnation))) {
          spdlog::error("cluster: refusing {} ({}) at {}: wrong cluster secret", name, incarnation,
                        address);
          return make_error(errc::forbidden, "wrong cluster secret");
        }
        if (caf_node == caf::to_string(self->node())) {
          spdlog::error("cluster: refusing {} at {}: its CAF node id equals this node's "
                        "(same image, same pid); it would be merged with this node",
                        name, address);
          return make_error(errc::invalid_state, "CAF node id collision");
        }
        if (name == st.cfg.name) {
          spdlog::error("cluster: refusing {} at {}: this node has the same name", name, address);
          return make_error(errc::invalid_state, "duplicate node name " + name);
        }
        auto m = member_of(std::move(name), std::move(incarnation), std::move(address),
                           std::move(roles));
        link_to(self, caf::actor_cast<caf::actor>(self->current_sender()), m, router);
        st.candidates.insert(m.address);
        auto peers = known_addresses(self);
        note(self, st.view->on_hello(m, clock::now()));
        return {detail::proof(st.cfg.secret, their_nonce, st.cfg.name, st.cfg.incarnation),
                st.cfg.name,
                st.cfg.incarnation,
                st.address,
                st.cfg.roles,
                peers,
                inbound_of(self)};
      },
      [self](leaving_atom, const std::string& name, const std::string& incarnation) {
        note(self, self->state.view->on_leaving(name, incarnation, clock::now()));
        return caf::ok_atom::value;
      },
      [self](leave_atom) -> caf::result<caf::ok_atom> {
        auto& st = self->state;
        note(self, st.view->set_self(member_state::leaving, clock::now()));
        spdlog::info("cluster: {} is leaving; telling {} peers", st.cfg.name, st.links.size());
        auto promise = self->make_response_promise<caf::ok_atom>();
        auto waiting = std::make_shared<size_t>(st.links.size());
        if (*waiting == 0)
          return caf::ok_atom::value;
        auto one_done = [promise, waiting]() mutable {
          if (--*waiting == 0)
            promise.deliver(caf::ok_atom::value);
        };
        for (const auto& [addr, who] : st.links)
          self->request(caf::actor_cast<caf::actor>(addr), caf::timespan{st.cfg.connect_timeout},
                        leaving_atom::value, st.cfg.name, st.cfg.incarnation)
              .then([one_done](caf::ok_atom) mutable { one_done(); },
                    [one_done](caf::error&) mutable { one_done(); });
        return promise;
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
    return caf::actor_cast<caf::actor>(sys.spawn(agent, cfg, view, metrics));
  };
  return spec;
}

} // namespace troupe::cluster
