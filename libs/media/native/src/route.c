/* The per-packet RTP fast path of one route, in the order of Bridge.forward() and the
 * legs' receive paths (libs/media/src/bridge/bridge.ts, rtp/rtp-leg.ts): SRTP unprotect
 * (RFC 3711 §3.3), reception statistics (RFC 3550 A.1/A.8), header rewrite (§8.2
 * translator), SRTP protect, sendto. Everything it touches was made at setRoute; it
 * allocates nothing, logs nothing and never calls into JS. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addon.h"
#include "jsnum.h"
#include "rtp.h"
#include "state.h"

/* Date.now(): integral ms of CLOCK_REALTIME. */
static double realtime_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return floor((double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6);
}

static int same_source(const endpoint_t *src, const struct sockaddr_storage *from) {
  if (from->ss_family != src->sa.ss_family) return 0;
  if (from->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)from, *b = (const struct sockaddr_in *)&src->sa;
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from, *b = (const struct sockaddr_in6 *)&src->sa;
  return a->sin6_port == b->sin6_port && memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
}

int route_forward(route_t *r, uint8_t *buf, int len, const struct sockaddr_storage *from) {
  double *st = r->state;
  /* What is not this source's RTP goes to JS: RTCP (RFC 5761 §4 demultiplexing), STUN
   * and DTLS (RFC 7983 first-octet ranges), other sources and SSRCs. */
  if (len < 12 || buf[0] < 128 || buf[0] > 191 || (buf[1] >= 192 && buf[1] <= 223)) return 0;
  /* r->out is open: closing a socket drops the routes that send out of it first. */
  if (!same_source(&r->src, from)) return 0;
  if ((double)rd_be32(buf + 8) != st[RS_EXPECT_SSRC]) return 0;

  int wire = len;
  int plain = len;
  int hdr = -1;
  if (r->in_keys.profile != SRTP_PLAIN) {
    plain = srtp_unprotect_rtp(&r->in_keys, st + RS_IN_ROC, buf, len, &hdr);
  } else {
    hdr = rtp_header_length(buf, plain);
  }
  if (plain < 0 || hdr < 0) {
    st[RS_IN_DROPPED] += 1;
    return 1;
  }

  double now_wall = realtime_ms();
  st[RS_IN_PACKETS] += 1;
  st[RS_IN_BYTES] += wire;
  st[RS_IN_LAST_AT] = now_wall;
  rtp_stats_update(st, buf, (double)uv_hrtime() / 1e6 - st[RS_CLOCK_OFFSET_MS]);

  if (!rtp_rewrite(st, r->pt_map, buf, plain, hdr, now_wall)) {
    st[RS_IN_DROPPED] += 1;
    return 1;
  }

  int out_len = plain;
  if (r->out_keys.profile != SRTP_PLAIN) {
    /* The JS bridge drops larger packets before an SRTP leg, uncounted; so does this. */
    if (plain > MAX_PROTECT_LEN) return 1;
    out_len = srtp_protect_rtp(&r->out_keys, st + RS_OUT_ROC, buf, plain, hdr, RECV_SIZE + RECV_SLACK);
    if (out_len < 0) return 1;
  }

  ssize_t sent;
  do {
    sent = sendto(r->out->fd, buf, (size_t)out_len, 0, (const struct sockaddr *)&r->dest.sa, r->dest.len);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    st[RS_SEND_ERRORS] += 1;
  } else {
    st[RS_OUT_PACKETS] += 1;
    st[RS_OUT_BYTES] += (double)sent;
  }
  return 1;
}

void route_free(napi_env env, route_t *r) {
  if (r == NULL) return;
  srtp_keys_free(&r->in_keys);
  srtp_keys_free(&r->out_keys);
  /* During environment teardown the references go with the environment. */
  if (env != NULL) {
    if (r->state_ref != NULL) napi_delete_reference(env, r->state_ref);
    if (r->pt_map_ref != NULL) napi_delete_reference(env, r->pt_map_ref);
  }
  free(r);
}

void routes_drop_socket(addon_t *a, sock_t *s) {
  napi_env env = a->tearing_down ? NULL : a->env;
  /* `s` is still in its slot here (sock_close), so the scan finds its own route too. */
  for (uint32_t i = 0; i < a->slot_count; i++) {
    sock_t *o = a->slots[i];
    if (o == NULL || o->route == NULL) continue;
    if (o == s || o->route->out == s) {
      route_free(env, o->route);
      o->route = NULL;
    }
  }
}
