/* DTLS 1.2 with use_srtp (RFC 6347, RFC 5764) for a WebRTC leg, on the OpenSSL the node
 * binary exports (the same library node:tls uses; headers from Debian's nodejs). The
 * TypeScript leg keeps the socket demux (RFC 7983 §7), ICE and the SDP fingerprint check:
 * it feeds each DTLS datagram in here and reads back a status. Records go out through a
 * datagram BIO of our own: straight from the leg's native socket to the ICE-chosen peer,
 * or through a JS function when the socket is dgram (and in the in-memory tests).
 *
 * What OpenSSL gives for free that the werift path checks by hand (dtls-verify.ts): the
 * peer's CertificateVerify (as server) and ServerKeyExchange signature (as client) are
 * verified against the certificate it presented, so a peer that shows a certificate
 * without its key fails the handshake. The certificate itself is self-signed (RFC 8827
 * §6.5): any chain is accepted here, and the leg compares it with a=fingerprint.
 *
 * Flight retransmission is ours, as on the werift path: first resend after 50 ms,
 * doubling (RFC 6347 §4.2.4.1 makes 1 s a default, not a rule), capped at 3 s; OpenSSL
 * gives up after 12 unanswered timeouts. No timer lives in C: each call returns, and
 * dtlsTimer() says when JS should call dtlsTimeout(). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Before OpenSSL's headers: srtp.h names its profile enum as OpenSSL's srtp.h names the
 * use_srtp ids, whose macros then win in this file. */
#include "addon.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define FIRST_RETRANSMIT_US 50000u
#define MAX_RETRANSMIT_US 3000000u
/* Handshake datagrams stay under this, like the browsers' (certificates make the largest flight). */
#define DTLS_MTU 1200
#define STATE_HANDSHAKING 0
#define STATE_CONNECTED 1
#define STATE_CLOSED 2
#define STATE_FAILED -1

typedef struct {
  SSL_CTX *ctx;
} dtls_ctx_t;

typedef struct {
  SSL *ssl;
  addon_t *addon;
  napi_env env;
  double sock_id;          /* 0: records go through send_fn */
  napi_ref send_fn;
  napi_ref ctx_ref;        /* the dtls_ctx_t's JS object, kept alive while this exists */
  endpoint_t peer;
  int have_peer;
  int server;
  int state;
  int busy;                /* inside an OpenSSL call: its send callback may not feed us again */
  const uint8_t *in;       /* the datagram being fed, read once by the BIO */
  size_t in_len;
  char error[200];
} dtls_t;

/* ---- the datagram BIO --------------------------------------------------------------- */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void send_record(dtls_t *d, const uint8_t *data, size_t len) {
  if (d->sock_id != 0) {
    if (!d->have_peer) return; /* as the TypeScript leg: nothing goes out before a check showed the peer */
    sock_t *s = sock_lookup(d->addon, d->sock_id);
    if (s == NULL) return;
    ssize_t n;
    do {
      n = sendto(s->fd, data, len, 0, (const struct sockaddr *)&d->peer.sa, d->peer.len);
    } while (n < 0 && errno == EINTR);
    return;
  }
  /* Inside a JS-initiated call (feed/start/timeout): calling back into JS is allowed. */
  napi_env env = d->env;
  napi_value fn, global, buf, result;
  void *copy;
  if (d->send_fn == NULL || napi_get_reference_value(env, d->send_fn, &fn) != napi_ok) return;
  if (napi_get_global(env, &global) != napi_ok) return;
  if (napi_create_buffer_copy(env, len, data, &copy, &buf) != napi_ok) return;
  napi_call_function(env, global, fn, 1, &buf, &result);
}

static int bio_write(BIO *b, const char *data, int len) {
  dtls_t *d = BIO_get_data(b);
  if (d != NULL && len > 0) send_record(d, (const uint8_t *)data, (size_t)len);
  return len;
}

static int bio_read(BIO *b, char *out, int cap) {
  dtls_t *d = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (d == NULL || d->in == NULL) {
    BIO_set_retry_read(b);
    return -1;
  }
  /* One datagram per read: DTLS records never span datagrams (RFC 6347 §4.1.1). */
  size_t n = d->in_len < (size_t)cap ? d->in_len : (size_t)cap;
  memcpy(out, d->in, n);
  d->in = NULL;
  d->in_len = 0;
  return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  (void)b;
  (void)num;
  (void)ptr;
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU: return DTLS_MTU;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: return 0; /* DTLS_MTU is already the payload size */
    default: return 0;
  }
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static void make_bio_method(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "trapezoid datagram");
  if (m == NULL) return;
  BIO_meth_set_write(m, bio_write);
  BIO_meth_set_read(m, bio_read);
  BIO_meth_set_ctrl(m, bio_ctrl);
  BIO_meth_set_create(m, bio_create);
  bio_method = m;
}

/* ---- errors --------------------------------------------------------------------------- */

/* OpenSSL's first queued error as text, then an empty queue: node:crypto shares this
 * thread's error queue and must not find our leftovers. */
static void take_error(dtls_t *d, const char *what) {
  unsigned long e = ERR_peek_error();
  if (e == 0) {
    snprintf(d->error, sizeof d->error, "%s", what);
  } else {
    const char *reason = ERR_reason_error_string(e);
    snprintf(d->error, sizeof d->error, "%s: %s", what, reason != NULL ? reason : "unknown OpenSSL error");
  }
  ERR_clear_error();
}

static int throw_openssl(napi_env env, const char *what) {
  char msg[240];
  unsigned long e = ERR_peek_error();
  const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;
  snprintf(msg, sizeof msg, "%s%s%s", what, reason != NULL ? ": " : "", reason != NULL ? reason : "");
  ERR_clear_error();
  napi_throw_error(env, NULL, msg);
  return -1;
}

/* ---- contexts ------------------------------------------------------------------------- */

static int accept_self_signed(int ok, X509_STORE_CTX *store) {
  (void)ok;
  (void)store;
  return 1; /* identity is the SDP fingerprint (RFC 8122 §5), checked by the leg */
}

static unsigned int retransmit_timer(SSL *ssl, unsigned int us) {
  (void)ssl;
  if (us == 0) return FIRST_RETRANSMIT_US;
  return us >= MAX_RETRANSMIT_US / 2 ? MAX_RETRANSMIT_US : us * 2;
}

static void finalize_ctx(napi_env env, void *data, void *hint) {
  dtls_ctx_t *c = data;
  (void)env;
  (void)hint;
  SSL_CTX_free(c->ctx);
  free(c);
}

static int get_string(napi_env env, napi_value v, char **out) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return -1;
  *out = malloc(n + 1);
  if (*out == NULL) return -1;
  if (napi_get_value_string_utf8(env, v, *out, n + 1, &n) != napi_ok) {
    free(*out);
    return -1;
  }
  return 0;
}

static SSL_CTX *make_ctx(napi_env env, const char *cert_pem, const char *key_pem) {
  SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
  if (ctx == NULL) { throw_openssl(env, "SSL_CTX_new"); return NULL; }
  BIO *cb = BIO_new_mem_buf(cert_pem, -1);
  BIO *kb = BIO_new_mem_buf(key_pem, -1);
  X509 *cert = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
  EVP_PKEY *key = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
  BIO_free(cb);
  BIO_free(kb);
  const char *fault = NULL;
  if (cert == NULL) fault = "DTLS certificate PEM does not parse";
  else if (key == NULL) fault = "DTLS private key PEM does not parse";
  else if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    fault = "DTLS certificate and key do not go together";
  else if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 || SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1)
    fault = "DTLS 1.2 not available";
  /* ECDHE only (forward secrecy, RFC 8827 §6.5); ECDSA and RSA peers both served. */
  else if (SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
                                        "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA") != 1)
    fault = "no usable DTLS cipher suite";
  else if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1)
    fault = "no usable ECDHE group";
  X509_free(cert);
  EVP_PKEY_free(key);
  if (fault != NULL) {
    SSL_CTX_free(ctx);
    throw_openssl(env, fault);
    return NULL;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  /* A session idles for the whole call once keys are out: no read/write buffers held meanwhile. */
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  /* RFC 5763 §5: each side's certificate is what its a=fingerprint names, so ask for it. */
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_self_signed);
  return ctx;
}

/* dtlsContext(certPem, keyPem): an opaque context for dtlsCreate. */
napi_value js_dtls_context(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  char *cert_pem = NULL, *key_pem = NULL;
  if (argc < 2 || get_string(env, argv[0], &cert_pem) != 0 || get_string(env, argv[1], &key_pem) != 0) {
    free(cert_pem);
    napi_throw_type_error(env, NULL, "dtlsContext(certPem, keyPem): two PEM strings");
    return NULL;
  }
  ERR_clear_error();
  SSL_CTX *ctx = make_ctx(env, cert_pem, key_pem);
  free(cert_pem);
  free(key_pem);
  if (ctx == NULL) return NULL;
  dtls_ctx_t *c = calloc(1, sizeof *c);
  if (c == NULL) {
    SSL_CTX_free(ctx);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  c->ctx = ctx;
  if (napi_create_external(env, c, finalize_ctx, NULL, &result) != napi_ok) {
    finalize_ctx(env, c, NULL);
    return NULL;
  }
  return result;
}

/* ---- sessions ------------------------------------------------------------------------- */

static void free_session(dtls_t *d) {
  if (d->ssl != NULL) {
    SSL_free(d->ssl); /* frees the BIO too */
    d->ssl = NULL;
  }
  if (d->send_fn != NULL) napi_delete_reference(d->env, d->send_fn);
  if (d->ctx_ref != NULL) napi_delete_reference(d->env, d->ctx_ref);
  d->send_fn = NULL;
  d->ctx_ref = NULL;
}

static void finalize_session(napi_env env, void *data, void *hint) {
  dtls_t *d = data;
  (void)hint;
  /* References can no longer be deleted once the environment is going away; at GC they can. */
  d->env = env;
  if (d->ssl != NULL) SSL_free(d->ssl);
  d->ssl = NULL;
  if (!d->addon->tearing_down) {
    if (d->send_fn != NULL) napi_delete_reference(env, d->send_fn);
    if (d->ctx_ref != NULL) napi_delete_reference(env, d->ctx_ref);
  }
  free(d);
}

static dtls_t *get_session(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "not a DTLS session");
    return NULL;
  }
  return data;
}

/* dtlsCreate(context, server, profiles, socketId, send): a session handle. `profiles` is
 * OpenSSL's use_srtp list ("SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"), most
 * preferred first; socketId 0 sends records through send(datagram). */
napi_value js_dtls_create(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], result;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  addon_t *a = data;
  dtls_ctx_t *c = NULL;
  bool server = false;
  char profiles[128];
  size_t n = 0;
  double sock_id = 0;
  napi_valuetype t = napi_undefined;
  if (argc < 5 || napi_get_value_external(env, argv[0], (void **)&c) != napi_ok || c == NULL ||
      napi_get_value_bool(env, argv[1], &server) != napi_ok ||
      napi_get_value_string_utf8(env, argv[2], profiles, sizeof profiles, &n) != napi_ok || n + 1 >= sizeof profiles ||
      napi_get_value_double(env, argv[3], &sock_id) != napi_ok || napi_typeof(env, argv[4], &t) != napi_ok ||
      (sock_id == 0 && t != napi_function)) {
    napi_throw_type_error(env, NULL, "dtlsCreate(context, server, profiles, socketId, send)");
    return NULL;
  }
  pthread_once(&bio_once, make_bio_method);
  if (bio_method == NULL) {
    napi_throw_error(env, NULL, "BIO_meth_new failed");
    return NULL;
  }
  dtls_t *d = calloc(1, sizeof *d);
  if (d == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  d->addon = a;
  d->env = env;
  d->sock_id = sock_id;
  d->server = server;
  ERR_clear_error();
  d->ssl = SSL_new(c->ctx);
  BIO *bio = d->ssl != NULL ? BIO_new(bio_method) : NULL;
  if (bio == NULL) {
    throw_openssl(env, "SSL_new");
    free_session(d);
    free(d);
    return NULL;
  }
  BIO_set_data(bio, d);
  SSL_set_bio(d->ssl, bio, bio);
  SSL_set_mtu(d->ssl, DTLS_MTU);
  DTLS_set_timer_cb(d->ssl, retransmit_timer);
  /* SSL_set_tlsext_use_srtp returns 0 on success. */
  if (SSL_set_tlsext_use_srtp(d->ssl, profiles) != 0) {
    throw_openssl(env, "unknown SRTP profile list");
    free_session(d);
    free(d);
    return NULL;
  }
  if (server) SSL_set_accept_state(d->ssl);
  else SSL_set_connect_state(d->ssl);
  if ((t == napi_function && napi_create_reference(env, argv[4], 1, &d->send_fn) != napi_ok) ||
      napi_create_reference(env, argv[0], 1, &d->ctx_ref) != napi_ok ||
      napi_create_external(env, d, finalize_session, NULL, &result) != napi_ok) {
    free_session(d);
    free(d);
    return NULL;
  }
  return result;
}

static int advance_locked(dtls_t *d);

/* Runs the handshake (or, once connected, reads what the peer sent) and returns the state. */
static int advance(dtls_t *d) {
  if (d->ssl == NULL || d->state == STATE_FAILED || d->state == STATE_CLOSED) return d->state;
  d->busy = 1;
  int state = advance_locked(d);
  d->busy = 0;
  return state;
}

static int advance_locked(dtls_t *d) {
  ERR_clear_error();
  if (d->state == STATE_HANDSHAKING) {
    int rc = SSL_do_handshake(d->ssl);
    if (rc == 1) {
      d->state = STATE_CONNECTED;
      /* The record layer's read and write buffers (~17 KiB each) idle for the rest of the
       * call; OpenSSL makes them again if an alert or a retransmitted flight comes. */
      SSL_free_buffers(d->ssl);
    } else {
      int err = SSL_get_error(d->ssl, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        d->state = STATE_FAILED;
        take_error(d, "DTLS handshake failed");
      }
    }
    d->in = NULL;
    ERR_clear_error();
    return d->state;
  }
  /* Connected: a retransmitted flight (our last one was lost) makes OpenSSL resend it; an
   * alert ends the session. No application data is expected on a DTLS-SRTP association. */
  uint8_t scratch[256];
  int rc = SSL_read(d->ssl, scratch, sizeof scratch);
  if (rc <= 0) {
    int err = SSL_get_error(d->ssl, rc);
    if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL) {
      d->state = STATE_CLOSED;
      take_error(d, "DTLS closed by the peer");
    }
  }
  d->in = NULL;
  if (d->state == STATE_CONNECTED) SSL_free_buffers(d->ssl);
  ERR_clear_error();
  return d->state;
}

static napi_value state_value(napi_env env, int state) {
  napi_value v;
  napi_create_int32(env, state, &v);
  return v;
}

#define SESSION_ARGS(count)                                                       \
  size_t argc = (count);                                                          \
  napi_value argv[(count) > 0 ? (count) : 1];                                     \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL; \
  if (argc < 1) { napi_throw_type_error(env, NULL, "DTLS session expected"); return NULL; } \
  dtls_t *d = get_session(env, argv[0]);                                          \
  if (d == NULL) return NULL;                                                     \
  if (d->busy) { napi_throw_error(env, NULL, "DTLS session re-entered from its own send callback"); return NULL; } \
  d->env = env;

/* The family of the session's native socket (IPv4 peers of an IPv6 socket are v4-mapped), or 0. */
static int peer_family(dtls_t *d) {
  sock_t *s = d->sock_id != 0 ? sock_lookup(d->addon, d->sock_id) : NULL;
  return s != NULL ? s->family : 0;
}

/* dtlsPeer(session, address, port): where records go (the ICE-validated address). */
napi_value js_dtls_peer(napi_env env, napi_callback_info info) {
  SESSION_ARGS(3)
  char address[INET6_ADDRSTRLEN + 8];
  size_t n = 0;
  double port = -1;
  if (argc < 3 || napi_get_value_string_utf8(env, argv[1], address, sizeof address, &n) != napi_ok || n + 1 >= sizeof address ||
      napi_get_value_double(env, argv[2], &port) != napi_ok || !(port >= 0 && port <= 65535) ||
      parse_endpoint(address, (uint32_t)port, peer_family(d), &d->peer) != 0) {
    napi_throw_type_error(env, NULL, "dtlsPeer(session, address, port): an IP literal and a port");
    return NULL;
  }
  d->have_peer = 1;
  return NULL;
}

/* dtlsStart(session): the client sends its ClientHello; a server waits. Returns the state. */
napi_value js_dtls_start(napi_env env, napi_callback_info info) {
  SESSION_ARGS(1)
  return state_value(env, d->server ? d->state : advance(d));
}

/* dtlsFeed(session, datagram): one DTLS datagram from the peer. Returns the state. */
napi_value js_dtls_feed(napi_env env, napi_callback_info info) {
  SESSION_ARGS(2)
  napi_typedarray_type type;
  size_t len, off;
  void *data;
  napi_value ab;
  if (argc < 2 || napi_get_typedarray_info(env, argv[1], &type, &len, &data, &ab, &off) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "dtlsFeed(session, datagram): a Buffer");
    return NULL;
  }
  d->in = data;
  d->in_len = len;
  return state_value(env, advance(d));
}

/* dtlsTimeout(session): the retransmission timer fired; resends the flight if it is due. */
napi_value js_dtls_timeout(napi_env env, napi_callback_info info) {
  SESSION_ARGS(1)
  if (d->ssl != NULL && d->state == STATE_HANDSHAKING) {
    ERR_clear_error();
    d->busy = 1;
    if (DTLSv1_handle_timeout(d->ssl) < 0) {
      d->state = STATE_FAILED;
      take_error(d, "DTLS handshake timed out");
    }
    d->busy = 0;
    ERR_clear_error();
  }
  return state_value(env, d->state);
}

/* dtlsTimer(session): milliseconds until dtlsTimeout() is due, or -1 when no flight waits. */
napi_value js_dtls_timer(napi_env env, napi_callback_info info) {
  SESSION_ARGS(1)
  double ms = -1;
  struct timeval tv;
  if (d->ssl != NULL && d->state == STATE_HANDSHAKING && DTLSv1_get_timeout(d->ssl, &tv) == 1) {
    ms = (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
  }
  napi_value v;
  napi_create_double(env, ms, &v);
  return v;
}

/* dtlsError(session): why the session failed or closed ('' if it did not). */
napi_value js_dtls_error(napi_env env, napi_callback_info info) {
  SESSION_ARGS(1)
  napi_value v;
  napi_create_string_utf8(env, d->error, NAPI_AUTO_LENGTH, &v);
  return v;
}

/* dtlsExport(session, out): writes the RFC 5764 §4.2 keying material for the negotiated
 * profile into out (56 or 60 bytes) and returns the profile's id (1 AES-CM, 7 GCM), or 0. */
napi_value js_dtls_export(napi_env env, napi_callback_info info) {
  SESSION_ARGS(2)
  napi_typedarray_type type;
  size_t len, off;
  void *data;
  napi_value ab;
  if (argc < 2 || napi_get_typedarray_info(env, argv[1], &type, &len, &data, &ab, &off) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "dtlsExport(session, out): a Buffer");
    return NULL;
  }
  uint32_t id = 0;
  SRTP_PROTECTION_PROFILE *p = d->ssl != NULL && d->state == STATE_CONNECTED ? SSL_get_selected_srtp_profile(d->ssl) : NULL;
  if (p != NULL) {
    size_t need = p->id == SRTP_AEAD_AES_128_GCM /* 0x0007, the use_srtp id */ ? 2 * (16 + 12) : 2 * (16 + 14);
    static const char label[] = "EXTRACTOR-dtls_srtp";
    ERR_clear_error();
    if (need <= len && SSL_export_keying_material(d->ssl, data, need, label, sizeof label - 1, NULL, 0, 0) == 1) id = (uint32_t)p->id;
    ERR_clear_error();
  }
  napi_value v;
  napi_create_uint32(env, id, &v);
  return v;
}

/* dtlsPeerCertificate(session): the DER of the certificate the peer presented, or null. */
napi_value js_dtls_peer_certificate(napi_env env, napi_callback_info info) {
  SESSION_ARGS(1)
  napi_value v;
  X509 *cert = d->ssl != NULL ? SSL_get0_peer_certificate(d->ssl) : NULL;
  int len = cert != NULL ? i2d_X509(cert, NULL) : -1;
  if (len <= 0) {
    ERR_clear_error();
    napi_get_null(env, &v);
    return v;
  }
  void *out;
  if (napi_create_buffer(env, (size_t)len, &out, &v) != napi_ok) return NULL;
  unsigned char *p = out;
  i2d_X509(cert, &p);
  return v;
}

/* dtlsClose(session): frees the OpenSSL session now (no close_notify, as on the werift path). */
napi_value js_dtls_close(napi_env env, napi_callback_info info) {
  SESSION_ARGS(1)
  if (d->state == STATE_HANDSHAKING || d->state == STATE_CONNECTED) d->state = STATE_CLOSED;
  free_session(d);
  return NULL;
}
