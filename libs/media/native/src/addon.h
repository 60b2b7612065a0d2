/* Shared types of the native media fast path. One addon_t per JS thread (napi instance
 * data): its sockets, its receive buffers and its libuv loop. No globals are mutable. */
#ifndef TRAPEZOID_ADDON_H
#define TRAPEZOID_ADDON_H

#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <node_api.h>
#include <uv.h>

#include "srtp.h"

#define RECV_BATCH 32
#define RECV_SIZE 2048
/* Room after a received packet for an SRTP tag (the largest is GCM's 16 octets). */
#define RECV_SLACK 32
/* Socket ids: generation * 2^20 + slot, so a stale id never finds a reused slot. */
#define SLOT_BITS 20
#define MAX_SLOTS (1u << SLOT_BITS)
/* Plain RTP larger than this is not protected (the JS legs' 1500-byte scratch). */
#define MAX_PROTECT_LEN 1500

typedef struct addon_s addon_t;
typedef struct sock_s sock_t;

/* A transport address in the socket's family, compared per packet. */
typedef struct {
  struct sockaddr_storage sa;
  socklen_t len;
} endpoint_t;

typedef struct {
  sock_t *out;
  endpoint_t dest;
  endpoint_t src;
  srtp_keys_t in_keys;
  srtp_keys_t out_keys;
  double *state;          /* Float64Array data, RS_SIZE words (state.h) */
  int16_t *pt_map;        /* Int16Array data, 128 entries */
  napi_ref state_ref;     /* keep both arrays alive while the route exists */
  napi_ref pt_map_ref;
} route_t;

struct sock_s {
  uv_poll_t poll;         /* poll.data = this */
  addon_t *addon;
  int fd;
  int family;
  uint32_t slot;
  int closing;
  route_t *route;         /* RTP fast path for packets arriving here, or NULL */
  napi_ref on_message;
  napi_async_context async_context;
  napi_ref done;          /* close() callback, called from the poll handle's close callback */
};

struct addon_s {
  napi_env env;
  uv_loop_t *loop;
  sock_t **slots;
  uint32_t *generations;
  uint32_t slot_count;    /* slots in use or freed (high-water mark) */
  uint32_t slot_cap;
  uint32_t *free_slots;
  uint32_t free_count;
  int tearing_down;
  uint32_t pending_handles; /* uv handles closing; teardown waits for them */
  napi_async_cleanup_hook_handle cleanup;
  void (*on_all_closed)(addon_t *a);
  /* recvmmsg scratch, made once per thread */
  struct mmsghdr msgs[RECV_BATCH];
  struct iovec iovs[RECV_BATCH];
  struct sockaddr_storage names[RECV_BATCH];
  uint8_t *bufs;          /* RECV_BATCH * (RECV_SIZE + RECV_SLACK) */
};

/* socket.c */
int sock_open(addon_t *a, const struct sockaddr_storage *sa, socklen_t len, napi_value on_message, double *id_out, int *err);
sock_t *sock_lookup(addon_t *a, double id);
double sock_id(const addon_t *a, const sock_t *s);
/* Starts closing; `done` (may be NULL) is called once the handle is closed. */
void sock_close(addon_t *a, sock_t *s, napi_value done);
/* Calls `done` on a later loop turn (close of an unknown or already closed id). */
void defer_done(addon_t *a, napi_value done);
void addon_teardown(addon_t *a, void (*all_closed)(addon_t *a));
int parse_endpoint(const char *address, uint32_t port, int family, endpoint_t *ep);

/* route_config.c: setRoute(inId, route) */
napi_value js_set_route(napi_env env, napi_callback_info info);

/* dtls.c: DTLS-SRTP handshakes (binding.ts documents the API) */
napi_value js_dtls_context(napi_env env, napi_callback_info info);
napi_value js_dtls_create(napi_env env, napi_callback_info info);
napi_value js_dtls_peer(napi_env env, napi_callback_info info);
napi_value js_dtls_start(napi_env env, napi_callback_info info);
napi_value js_dtls_feed(napi_env env, napi_callback_info info);
napi_value js_dtls_timeout(napi_env env, napi_callback_info info);
napi_value js_dtls_timer(napi_env env, napi_callback_info info);
napi_value js_dtls_error(napi_env env, napi_callback_info info);
napi_value js_dtls_export(napi_env env, napi_callback_info info);
napi_value js_dtls_peer_certificate(napi_env env, napi_callback_info info);
napi_value js_dtls_close(napi_env env, napi_callback_info info);
/* certificate.c */
napi_value js_dtls_certificate(napi_env env, napi_callback_info info);

/* route.c */
/* 1 = handled (forwarded or dropped, counted), 0 = hand the packet to JS. */
int route_forward(route_t *r, uint8_t *buf, int len, const struct sockaddr_storage *from);
void route_free(napi_env env, route_t *r);
/* Frees routes that send out of `s` or arrive on it. */
void routes_drop_socket(addon_t *a, sock_t *s);

#endif
