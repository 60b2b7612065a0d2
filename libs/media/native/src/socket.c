/* UDP sockets polled in the calling thread's libuv loop (uv_poll on the fd, so a worker
 * thread's sockets are served by that worker), the receive batch, and the slow path:
 * every datagram the route does not take goes to JS as dgram's 'message' would. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addon.h"
#include "state.h"

int parse_endpoint(const char *address, uint32_t port, int family, endpoint_t *ep) {
  memset(ep, 0, sizeof *ep);
  struct in_addr v4;
  struct in6_addr v6;
  if (port > 65535) return -EINVAL;
  if (inet_pton(AF_INET, address, &v4) == 1) {
    if (family == AF_INET6) {
      /* An IPv4 peer of a dual-stack socket is a v4-mapped address (RFC 4291 §2.5.5.2). */
      struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ep->sa;
      s->sin6_family = AF_INET6;
      s->sin6_port = htons((uint16_t)port);
      s->sin6_addr.s6_addr[10] = 0xff;
      s->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&s->sin6_addr.s6_addr[12], &v4, 4);
      ep->len = sizeof *s;
      return 0;
    }
    struct sockaddr_in *s = (struct sockaddr_in *)&ep->sa;
    s->sin_family = AF_INET;
    s->sin_port = htons((uint16_t)port);
    s->sin_addr = v4;
    ep->len = sizeof *s;
    return 0;
  }
  if (inet_pton(AF_INET6, address, &v6) == 1) {
    if (family == AF_INET) return -EAFNOSUPPORT;
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ep->sa;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons((uint16_t)port);
    s->sin6_addr = v6;
    ep->len = sizeof *s;
    return 0;
  }
  return -EINVAL;
}

double sock_id(const addon_t *a, const sock_t *s) {
  return (double)a->generations[s->slot] * (double)MAX_SLOTS + (double)s->slot;
}

sock_t *sock_lookup(addon_t *a, double id) {
  if (!(id >= 0 && id < 9.0e15)) return NULL;
  uint64_t n = (uint64_t)id;
  uint32_t slot = (uint32_t)(n & (MAX_SLOTS - 1));
  uint64_t gen = n >> SLOT_BITS;
  if (slot >= a->slot_count || a->slots[slot] == NULL || a->generations[slot] != gen) return NULL;
  return a->slots[slot];
}

static int take_slot(addon_t *a, uint32_t *slot) {
  if (a->free_count > 0) {
    *slot = a->free_slots[--a->free_count];
  } else {
    if (a->slot_count == MAX_SLOTS) return -EMFILE;
    if (a->slot_count == a->slot_cap) {
      uint32_t cap = a->slot_cap ? a->slot_cap * 2 : 64;
      sock_t **slots = realloc(a->slots, cap * sizeof *slots);
      if (slots == NULL) return -ENOMEM;
      a->slots = slots;
      uint32_t *gens = realloc(a->generations, cap * sizeof *gens);
      if (gens == NULL) return -ENOMEM;
      a->generations = gens;
      uint32_t *free_slots = realloc(a->free_slots, cap * sizeof *free_slots);
      if (free_slots == NULL) return -ENOMEM;
      a->free_slots = free_slots;
      a->slot_cap = cap;
    }
    *slot = a->slot_count++;
    a->generations[*slot] = 0;
  }
  /* Generation >= 1 keeps every id > 0 (0 means "not native" to the legs). */
  if (++a->generations[*slot] >= (1u << 30)) a->generations[*slot] = 1;
  return 0;
}

static void call_js(addon_t *a, napi_async_context ctx, napi_value fn, size_t argc, const napi_value *argv) {
  napi_env env = a->env;
  napi_value recv, result;
  /* MakeCallback wants an object receiver; dgram calls handlers on the socket object. */
  if (napi_get_global(env, &recv) != napi_ok) return;
  napi_status status = napi_make_callback(env, ctx, recv, fn, argc, argv, &result);
  if (status == napi_pending_exception) {
    /* An exception in a handler is the application's, as with dgram: uncaughtException. */
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
}

/* dgram's 'message': a copy of the datagram, the sender's address and port. */
static void punt(addon_t *a, sock_t *s, const uint8_t *buf, int len, const struct sockaddr_storage *from) {
  napi_env env = a->env;
  char text[INET6_ADDRSTRLEN];
  uint16_t port;
  if (from->ss_family == AF_INET) {
    const struct sockaddr_in *f = (const struct sockaddr_in *)from;
    inet_ntop(AF_INET, &f->sin_addr, text, sizeof text);
    port = ntohs(f->sin_port);
  } else {
    const struct sockaddr_in6 *f = (const struct sockaddr_in6 *)from;
    inet_ntop(AF_INET6, &f->sin6_addr, text, sizeof text);
    port = ntohs(f->sin6_port);
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[3], fn;
  void *data;
  if (napi_create_buffer_copy(env, (size_t)len, buf, &data, &argv[0]) == napi_ok &&
      napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &argv[1]) == napi_ok &&
      napi_create_uint32(env, port, &argv[2]) == napi_ok &&
      napi_get_reference_value(env, s->on_message, &fn) == napi_ok) {
    call_js(a, s->async_context, fn, 3, argv);
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  sock_t *s = handle->data;
  addon_t *a = s->addon;
  (void)events;
  if (s->closing) return;
  if (status < 0) {
    /* libuv stops a poll handle that reports POLLERR (a queued socket error, e.g. ICMP
     * with IP_RECVERR): read the error to clear it and keep polling, as dgram keeps
     * receiving after an 'error'. */
    int e = 0;
    socklen_t l = sizeof e;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &l) != 0) return;
    uv_poll_start(&s->poll, UV_READABLE, on_readable);
  }
  for (;;) {
    /* The kernel shrinks msg_namelen to each sender's length; msg_flags is output only. */
    for (int i = 0; i < RECV_BATCH; i++) a->msgs[i].msg_hdr.msg_namelen = sizeof a->names[i];
    int n = recvmmsg(s->fd, a->msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return; /* EAGAIN: drained; other errors: the next readable event retries */
    for (int i = 0; i < n; i++) {
      /* A handler may have closed this socket: its struct lives until the close callback. */
      if (s->closing) return;
      struct mmsghdr *m = &a->msgs[i];
      if (m->msg_hdr.msg_flags & MSG_TRUNC) continue; /* over RECV_SIZE: not media */
      uint8_t *buf = a->iovs[i].iov_base;
      int len = (int)m->msg_len;
      route_t *r = s->route;
      if (r != NULL) {
        if (route_forward(r, buf, len, &a->names[i])) continue;
        r->state[RS_PUNTED] += 1;
      }
      punt(a, s, buf, len, &a->names[i]);
    }
    if (n < RECV_BATCH) return;
  }
}

static void release_socket(addon_t *a, sock_t *s) {
  if (!a->tearing_down) {
    if (s->on_message != NULL) napi_delete_reference(a->env, s->on_message);
    if (s->async_context != NULL) napi_async_destroy(a->env, s->async_context);
  }
  free(s);
}

int sock_open(addon_t *a, const struct sockaddr_storage *sa, socklen_t len, napi_value on_message, double *id_out, int *err) {
  napi_env env = a->env;
  int fd = socket(sa->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { *err = -errno; return -1; }
  int rcvbuf = 1 << 20;
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); /* best effort */
  if (bind(fd, (const struct sockaddr *)sa, len) != 0) {
    *err = -errno;
    close(fd);
    return -1;
  }
  sock_t *s = calloc(1, sizeof *s);
  uint32_t slot;
  int rc = s == NULL ? -ENOMEM : take_slot(a, &slot);
  if (rc != 0) {
    free(s);
    close(fd);
    *err = rc;
    return -1;
  }
  s->addon = a;
  s->fd = fd;
  s->family = sa->ss_family;
  s->slot = slot;
  napi_value resource, name;
  if (napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, "trapezoid.MediaSocket", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, resource, name, &s->async_context) != napi_ok ||
      napi_create_reference(env, on_message, 1, &s->on_message) != napi_ok ||
      uv_poll_init_socket(a->loop, &s->poll, fd) != 0) {
    /* Only out of memory gets here; the poll handle is the last step, so nothing is
     * registered with the loop yet. */
    *err = -ENOMEM;
    close(fd);
    release_socket(a, s);
    a->free_slots[a->free_count++] = slot;
    return -1;
  }
  s->poll.data = s;
  a->slots[slot] = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  *id_out = sock_id(a, s);
  return 0;
}

static void handle_gone(addon_t *a) {
  if (--a->pending_handles == 0 && a->tearing_down && a->on_all_closed != NULL) a->on_all_closed(a);
}

/* Calls a close() callback with no arguments and drops its reference. */
static void call_done(addon_t *a, napi_async_context ctx, napi_ref done) {
  napi_handle_scope scope;
  napi_value fn;
  if (napi_open_handle_scope(a->env, &scope) == napi_ok) {
    if (napi_get_reference_value(a->env, done, &fn) == napi_ok) call_js(a, ctx, fn, 0, NULL);
    napi_close_handle_scope(a->env, scope);
  }
  napi_delete_reference(a->env, done);
}

static void on_closed(uv_handle_t *handle) {
  sock_t *s = handle->data;
  addon_t *a = s->addon;
  if (!a->tearing_down && s->done != NULL) call_done(a, s->async_context, s->done);
  release_socket(a, s);
  handle_gone(a);
}

void sock_close(addon_t *a, sock_t *s, napi_value done) {
  s->closing = 1;
  routes_drop_socket(a, s);
  a->slots[s->slot] = NULL;
  a->free_slots[a->free_count++] = s->slot;
  if (done != NULL) napi_create_reference(a->env, done, 1, &s->done);
  uv_poll_stop(&s->poll);
  /* uv_close removes the fd from epoll at once, so closing it now is safe and the port
   * is free again before done() runs. */
  uv_close((uv_handle_t *)&s->poll, on_closed);
  a->pending_handles++;
  close(s->fd);
  s->fd = -1;
}

/* ---- done() for a close of an unknown id, on a later loop turn ----------------------- */

typedef struct {
  uv_idle_t idle;
  addon_t *addon;
  napi_ref done;
  napi_async_context async_context;
} deferred_t;

static void on_deferred_closed(uv_handle_t *handle) {
  deferred_t *d = handle->data;
  addon_t *a = d->addon;
  if (!a->tearing_down) {
    call_done(a, d->async_context, d->done);
    napi_async_destroy(a->env, d->async_context);
  }
  free(d);
  handle_gone(a);
}

void defer_done(addon_t *a, napi_value done) {
  deferred_t *d = calloc(1, sizeof *d);
  if (d == NULL) return;
  napi_value resource, name;
  d->addon = a;
  napi_create_object(a->env, &resource);
  napi_create_string_utf8(a->env, "trapezoid.MediaSocketClose", NAPI_AUTO_LENGTH, &name);
  napi_async_init(a->env, resource, name, &d->async_context);
  napi_create_reference(a->env, done, 1, &d->done);
  /* A handle that is closed at once: its close callback runs on the next loop turn. */
  uv_idle_init(a->loop, &d->idle);
  d->idle.data = d;
  uv_close((uv_handle_t *)&d->idle, on_deferred_closed);
  a->pending_handles++;
}

/* ---- environment teardown (worker exit, process exit) -------------------------------- */

void addon_teardown(addon_t *a, void (*all_closed)(addon_t *a)) {
  a->tearing_down = 1;
  a->on_all_closed = all_closed;
  for (uint32_t i = 0; i < a->slot_count; i++) {
    sock_t *s = a->slots[i];
    if (s != NULL) sock_close(a, s, NULL);
  }
  if (a->pending_handles == 0) all_closed(a);
}
