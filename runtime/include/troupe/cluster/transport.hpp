#pragma once

#include <chrono>
#include <string>

#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>

namespace troupe::cluster {

/// How nodes reach each other: CAF's protocol (BASP) over mutual TLS, or, only when asked
/// for, over plain TCP.
struct transport_config {
  /// PEM certificate of this node, signed by the cluster's CA (`--cluster-tls-cert`).
  std::string tls_cert;
  /// PEM private key of that certificate, unencrypted (`--cluster-tls-key`).
  std::string tls_key;
  /// PEM certificate of the cluster's CA; peers must present a certificate it signed
  /// (`--cluster-tls-ca`).
  std::string tls_ca;
  /// Plain TCP: anyone who reaches the port speaks to the node. For a laptop, never a network.
  bool insecure = false;
  /// Middleman heartbeat interval: what notices a frozen or cut-off peer.
  std::chrono::milliseconds heartbeat{100};
  /// A peer silent this long is disconnected.
  std::chrono::milliseconds connection_timeout{500};

  /// Whether mutual TLS is on.
  bool tls() const noexcept { return !insecure; }
};

/// Reads the three TLS files now and checks that the key belongs to the certificate and that
/// the CA signed it (CAF itself reads them only at the first connection, and a bad file then
/// kills its multiplexer). Returns one line naming the flag at fault, or "" if all is well.
std::string check_tls_files(const transport_config& t);

/// Loads CAF's middleman into `cfg` with the heartbeat settings and, with TLS, CAF's OpenSSL
/// module with this node's keys. Call before the actor system is made.
void configure_transport(caf::actor_system_config& cfg, const transport_config& t);

/// After the actor system started: "" if the transport is what `t` asked for, else why not
/// (CAF's OpenSSL module quietly falls back to anonymous TLS when it has no keys).
std::string verify_transport(caf::actor_system& sys, const transport_config& t);

/// The actor that publishes and connects for the cluster: CAF's OpenSSL middleman actor when
/// the OpenSSL module is loaded, the plain one otherwise. Both take the same requests.
caf::io::middleman_actor transport_actor(caf::actor_system& sys);

} // namespace troupe::cluster
