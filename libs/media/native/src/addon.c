/* N-API glue of the native media fast path (libs/media/src/native/binding.ts documents
 * the API). Context-aware: each JS thread that loads the addon gets its own addon_t as
 * instance data, with its own sockets served by its own libuv loop; nothing is shared. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addon.h"
#include "state.h"

#define CHECK(call) do { if ((call) != napi_ok) return NULL; } while (0)

static addon_t *addon_of(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, NULL, &data) != napi_ok) return NULL;
  return data;
}

static int get_address(napi_env env, napi_value v, char *out, size_t cap) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, out, cap, &n) != napi_ok || n + 1 >= cap) {
    napi_throw_type_error(env, NULL, "address must be an IP literal string");
    return -1;
  }
  return 0;
}

static int get_u32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= 4294967295.0)) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a non-negative number", what);
    napi_throw_type_error(env, NULL, msg);
    return -1;
  }
  *out = (uint32_t)d;
  return 0;
}

static sock_t *get_sock(napi_env env, addon_t *a, napi_value v) {
  double id;
  if (napi_get_value_double(env, v, &id) != napi_ok) return NULL;
  return sock_lookup(a, id);
}

/* An Error like libuv's from dgram: .code is the errno name, plus errno/syscall/address/port. */
static void throw_errno(napi_env env, int err, const char *syscall, const char *address, uint32_t port) {
  char msg[160];
  const char *code = uv_err_name(err);
  snprintf(msg, sizeof msg, "%s %s %s:%u", syscall, code, address, port);
  napi_value e, code_v, msg_v, v;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v);
  napi_create_error(env, code_v, msg_v, &e);
  napi_create_int32(env, err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "address", v);
  napi_create_uint32(env, port, &v);
  napi_set_named_property(env, e, "port", v);
  napi_throw(env, e);
}

/* open(address, port, onMessage): id */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  addon_t *a = addon_of(env, info, &argc, argv);
  if (a == NULL) return NULL;
  char address[INET6_ADDRSTRLEN + 8];
  uint32_t port;
  napi_valuetype t;
  if (argc < 3 || get_address(env, argv[0], address, sizeof address) != 0) return NULL;
  if (get_u32(env, argv[1], "port", &port) != 0) return NULL;
  if (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "onMessage must be a function");
    return NULL;
  }
  endpoint_t ep;
  int err = parse_endpoint(address, port, 0, &ep);
  double id = 0;
  if (err == 0 && sock_open(a, &ep.sa, ep.len, argv[2], &id, &err) == 0) {
    CHECK(napi_create_double(env, id, &result));
    return result;
  }
  throw_errno(env, err, "bind", address, port);
  return NULL;
}

static napi_value js_local_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  addon_t *a = addon_of(env, info, &argc, argv);
  if (a == NULL) return NULL;
  sock_t *s = argc >= 1 ? get_sock(env, a, argv[0]) : NULL;
  if (s == NULL) {
    napi_throw_error(env, "EBADF", "unknown or closed media socket");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  uint32_t port = 0;
  if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == 0) {
    port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                   : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  }
  CHECK(napi_create_uint32(env, port, &result));
  return result;
}

/* send(id, buf, offset, length, address, port): bytes sent or a negative errno. */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], result;
  addon_t *a = addon_of(env, info, &argc, argv);
  if (a == NULL) return NULL;
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "send(id, buf, offset, length, address, port)");
    return NULL;
  }
  napi_typedarray_type type;
  size_t count, byte_offset;
  void *data;
  napi_value ab;
  /* napi_get_typedarray_info fails on anything but a typed array. */
  if (napi_get_typedarray_info(env, argv[1], &type, &count, &data, &ab, &byte_offset) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "buf must be a Buffer");
    return NULL;
  }
  uint32_t offset, length, port;
  char address[INET6_ADDRSTRLEN + 8];
  if (get_u32(env, argv[2], "offset", &offset) != 0 || get_u32(env, argv[3], "length", &length) != 0) return NULL;
  if ((uint64_t)offset + length > count) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offset + length beyond the buffer");
    return NULL;
  }
  if (get_address(env, argv[4], address, sizeof address) != 0 || get_u32(env, argv[5], "port", &port) != 0) return NULL;
  sock_t *s = get_sock(env, a, argv[0]);
  ssize_t n = -EBADF;
  if (s != NULL) {
    endpoint_t ep;
    int err = parse_endpoint(address, port, s->family, &ep);
    if (err != 0) {
      n = err;
    } else {
      do {
        n = sendto(s->fd, (uint8_t *)data + offset, length, 0, (struct sockaddr *)&ep.sa, ep.len);
      } while (n < 0 && errno == EINTR);
      if (n < 0) n = -errno;
    }
  }
  CHECK(napi_create_double(env, (double)n, &result));
  return result;
}

/* close(id, done) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  addon_t *a = addon_of(env, info, &argc, argv);
  if (a == NULL) return NULL;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  napi_value done = t == napi_function ? argv[1] : NULL;
  sock_t *s = argc >= 1 ? get_sock(env, a, argv[0]) : NULL;
  if (s != NULL) sock_close(a, s, done);
  else if (done != NULL) defer_done(a, done);
  return NULL;
}

static napi_value js_clear_route(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  addon_t *a = addon_of(env, info, &argc, argv);
  if (a == NULL) return NULL;
  sock_t *s = argc >= 1 ? get_sock(env, a, argv[0]) : NULL;
  if (s != NULL) {
    route_free(env, s->route);
    s->route = NULL;
  }
  return NULL;
}

/* ---- per-thread lifetime -------------------------------------------------------------- */

static void all_closed(addon_t *a) {
  napi_remove_async_cleanup_hook(a->cleanup);
  a->cleanup = NULL;
}

static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  addon_t *a = arg;
  a->cleanup = handle;
  addon_teardown(a, all_closed);
}

static void finalize_addon(napi_env env, void *data, void *hint) {
  addon_t *a = data;
  (void)env;
  (void)hint;
  free(a->bufs);
  free(a->slots);
  free(a->generations);
  free(a->free_slots);
  free(a);
}

NAPI_MODULE_INIT() {
  addon_t *a = calloc(1, sizeof *a);
  if (a == NULL) return NULL;
  a->env = env;
  a->bufs = malloc((size_t)RECV_BATCH * (RECV_SIZE + RECV_SLACK));
  if (a->bufs == NULL || napi_get_uv_event_loop(env, &a->loop) != napi_ok) {
    free(a->bufs);
    free(a);
    napi_throw_error(env, NULL, "trapezoid_media: out of memory or no event loop");
    return NULL;
  }
  for (int i = 0; i < RECV_BATCH; i++) {
    a->iovs[i].iov_base = a->bufs + (size_t)i * (RECV_SIZE + RECV_SLACK);
    a->iovs[i].iov_len = RECV_SIZE;
    a->msgs[i].msg_hdr.msg_iov = &a->iovs[i];
    a->msgs[i].msg_hdr.msg_iovlen = 1;
    a->msgs[i].msg_hdr.msg_name = &a->names[i];
  }
  if (napi_set_instance_data(env, a, finalize_addon, NULL) != napi_ok) return NULL;
  napi_add_async_cleanup_hook(env, on_env_cleanup, a, NULL);
  napi_property_descriptor props[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, a },
    { "localPort", NULL, js_local_port, NULL, NULL, NULL, napi_enumerable, a },
    { "send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, a },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, a },
    { "setRoute", NULL, js_set_route, NULL, NULL, NULL, napi_enumerable, a },
    { "clearRoute", NULL, js_clear_route, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsContext", NULL, js_dtls_context, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsCreate", NULL, js_dtls_create, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsPeer", NULL, js_dtls_peer, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsStart", NULL, js_dtls_start, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsFeed", NULL, js_dtls_feed, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsTimeout", NULL, js_dtls_timeout, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsTimer", NULL, js_dtls_timer, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsError", NULL, js_dtls_error, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsExport", NULL, js_dtls_export, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsPeerCertificate", NULL, js_dtls_peer_certificate, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsClose", NULL, js_dtls_close, NULL, NULL, NULL, napi_enumerable, a },
    { "dtlsCertificate", NULL, js_dtls_certificate, NULL, NULL, NULL, napi_enumerable, a },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
