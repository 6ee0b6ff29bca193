// OpenSSL reports a failed call through the calling thread's error queue, and SSL_get_error
// blames the call it is asked about for whatever the queue holds. So the queue must be empty
// before each TLS read, write or handshake step. CAF's OpenSSL module empties it only in log
// statements that Debian's build compiles out: after one connection fails (a peer killed
// without a TLS close, a stranger without a certificate), the error stays behind, and the
// next read on a healthy connection that merely has no data yet is taken for a failure and
// the connection is dropped. One lost peer, or one stranger, would disconnect every other.
//
// This file, linked into the executable, puts a wrapper in front of those four calls that
// empties the queue first, as OpenSSL's documentation asks of every caller, then calls the
// library's own function.

#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class F>
F next_definition(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto next = next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto next = next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto next = next_definition<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return next(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto next = next_definition<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

} // extern "C"
