// The cluster transport: CAF's middleman, wrapped in mutual TLS by CAF's OpenSSL module.
// The module has traps this file closes: it reads its key files only at the first
// connection, and with no keys at all it runs anonymous TLS without saying so.

#include "troupe/cluster/transport.hpp"

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace troupe::cluster {

namespace {

// OpenSSL's latest error as text, or `fallback`.
std::string ssl_error(const char* fallback) {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return fallback;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

template <class T, void (*Free)(T*)>
using owned = std::unique_ptr<T, decltype([](T* p) { Free(p); })>;

} // namespace

std::string check_tls_files(const transport_config& t) {
  if (t.insecure)
    return {};
  owned<SSL_CTX, SSL_CTX_free> ctx{SSL_CTX_new(TLS_method())};
  if (!ctx)
    return "cluster TLS: " + ssl_error("cannot make an OpenSSL context");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), t.tls_cert.c_str()) != 1)
    return "--cluster-tls-cert: cannot read a PEM certificate from " + t.tls_cert + ": " +
           ssl_error("unreadable");
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), t.tls_key.c_str(), SSL_FILETYPE_PEM) != 1)
    return "--cluster-tls-key: cannot read an unencrypted PEM key from " + t.tls_key + ": " +
           ssl_error("unreadable");
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return "--cluster-tls-key: " + t.tls_key + " is not the key of " + t.tls_cert;
  if (SSL_CTX_load_verify_locations(ctx.get(), t.tls_ca.c_str(), nullptr) != 1)
    return "--cluster-tls-ca: cannot read a PEM certificate from " + t.tls_ca + ": " +
           ssl_error("unreadable");
  owned<X509_STORE_CTX, X509_STORE_CTX_free> check{X509_STORE_CTX_new()};
  auto* cert = SSL_CTX_get0_certificate(ctx.get());
  if (!check ||
      X509_STORE_CTX_init(check.get(), SSL_CTX_get_cert_store(ctx.get()), cert, nullptr) != 1)
    return "cluster TLS: " + ssl_error("cannot check the certificate");
  if (X509_verify_cert(check.get()) != 1)
    return "--cluster-tls-cert: " + t.tls_cert + " does not verify against --cluster-tls-ca " +
           t.tls_ca + ": " + X509_verify_cert_error_string(X509_STORE_CTX_get_error(check.get()));
  return {};
}

void configure_transport(caf::actor_system_config& cfg, const transport_config& t) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{t.heartbeat});
  cfg.set("middleman.connection-timeout", caf::timespan{t.connection_timeout});
  // On, CAF would dial peers it hears of on its own, over plain TCP.
  cfg.set("middleman.enable-automatic-connections", false);
  if (t.insecure)
    return;
  cfg.load<caf::openssl::manager>(); // after the middleman: the other order aborts
  cfg.openssl_certificate = t.tls_cert;
  cfg.openssl_key = t.tls_key;
  cfg.openssl_cafile = t.tls_ca;
}

std::string verify_transport(caf::actor_system& sys, const transport_config& t) {
  if (t.insecure)
    return {};
  if (!sys.has_openssl_manager())
    return "cluster TLS: CAF's OpenSSL module is not loaded";
  if (!sys.openssl_manager().authentication_enabled())
    return "cluster TLS: CAF's OpenSSL module would run without certificates";
  return {};
}

caf::io::middleman_actor transport_actor(caf::actor_system& sys) {
  return sys.has_openssl_manager() ? sys.openssl_manager().actor_handle()
                                   : sys.middleman().actor_handle();
}

} // namespace troupe::cluster
