#pragma once

#include <cstdint>

#include <caf/atom.hpp>

/// The messages node agents exchange, as they travel between nodes (see agent.cpp for the
/// handshake they make up).
namespace troupe::cluster::protocol {

/// The version of what nodes say to each other: the handshake and every message type that
/// crosses nodes. Bump it with any change a node of the previous version would misread;
/// nodes of different versions refuse each other at the first message.
///
/// 3: requests to another node's entities carry the caller's trace context
/// (`(forward_atom, kind, key, trace_context, message)`).
/// 4: agents confirm each other's views for the lease (`lease_atom`).
inline constexpr uint32_t version = 4;

/// `(challenge_atom, asker_nonce, version) -> nonce`: asks for a nonce to prove the secret
/// over; refused unless the asker speaks this node's `version`.
using challenge_atom = caf::atom_constant<caf::atom("challenge")>;
/// `(hello_atom, nonce, asker_nonce, proof, name, incarnation, address, roles, caf_node) ->
/// (proof, name, incarnation, address, roles, peers, router)`: the dialer's proof and identity.
using hello_atom = caf::atom_constant<caf::atom("hello")>;
/// `(joined_atom, router)`: the dialer, having checked the answer's proof, hands its router.
using joined_atom = caf::atom_constant<caf::atom("joined")>;
/// `(leaving_atom, name, incarnation) -> ok`: a member announces its own leave.
using leaving_atom = caf::atom_constant<caf::atom("leaving")>;
/// `(found_atom, addresses)`: addresses to dial, from this node's DNS resolver only.
using found_atom = caf::atom_constant<caf::atom("found")>;
/// `(retry_atom)`: the agent's own timer to dial unconnected peers.
using retry_atom = caf::atom_constant<caf::atom("retry")>;
/// `(lease_atom, digest) -> digest`: a member asks whether a peer sees its view (the digest of
/// it, see `view_digest`); the peer answers with its own. Equal digests renew the asker's lease.
using lease_atom = caf::atom_constant<caf::atom("lease")>;
/// `(released_atom, name, incarnation) -> ok`: a leaving member has drained and answers for no
/// key any more (see `lease_keeper::on_release`). A node of version 4 that does not know it
/// drops it and only waits out the lease as before, so it needs no new version.
using released_atom = caf::atom_constant<caf::atom("released")>;
/// `(peers_atom, addresses)`: a member introduces a peer that has just linked to it to its
/// other peers (taken up to the same bound as a hello's list, from linked peers only): two
/// nodes that joined through the same seed at once would otherwise never learn of each other.
/// A node of version 4 drops it, as `released_atom`.
using peers_atom = caf::atom_constant<caf::atom("peers")>;
/// `(renew_atom)`: the agent's own timer to ask every peer for its view.
using renew_atom = caf::atom_constant<caf::atom("renew")>;

} // namespace troupe::cluster::protocol
