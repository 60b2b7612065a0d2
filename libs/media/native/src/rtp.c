/* RTP header length (RFC 3550 §5.1, §5.3.1), reception statistics (Appendix A.1 sequence
 * tracking, A.8 interarrival jitter) and the bridge's header rewrite: ports of
 * libs/media/src/rtp/{header,stats}.ts and bridge/rewrite.ts on the shared state block.
 * The arithmetic is done in doubles in JS's order so the results are bit-identical. */
#include "rtp.h"

#include <math.h>

#include "jsnum.h"
#include "state.h"

#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

int rtp_header_length(const uint8_t *buf, int len) {
  if (len < 12 || (buf[0] & 0xc0) != 0x80) return -1;
  int hdr = 12 + (buf[0] & 0x0f) * 4;
  if (buf[0] & 0x10) {
    if (hdr + 4 > len) return -1;
    hdr += 4 + (((int)buf[hdr + 2] << 8) | buf[hdr + 3]) * 4;
  }
  return hdr <= len ? hdr : -1;
}

/* ---- RtpReceiveStats ------------------------------------------------------------------ */

static double lost_of_source(const double *st) {
  return st[RS_RX_CYCLES] + st[RS_RX_MAX_SEQ] - st[RS_RX_BASE_SEQ] + 1 - st[RS_RX_RECEIVED];
}

static void init_seq(double *st, uint32_t seq) {
  st[RS_RX_BASE_SEQ] = seq;
  st[RS_RX_MAX_SEQ] = seq;
  st[RS_RX_CYCLES] = 0;
  st[RS_RX_BAD_SEQ] = -1;
  st[RS_RX_RECEIVED] = 0;
  st[RS_RX_EXPECTED_PRIOR] = 0;
  st[RS_RX_RECEIVED_PRIOR] = 0;
}

void rtp_stats_update(double *st, const uint8_t *buf, double now) {
  uint32_t ssrc = rd_be32(buf + 8);
  uint32_t seq = ((uint32_t)buf[2] << 8) | buf[3];
  if ((double)ssrc != st[RS_RX_SSRC]) {
    if (st[RS_RX_SSRC] != -1) st[RS_RX_LOST_BEFORE] += lost_of_source(st);
    st[RS_RX_SSRC] = ssrc;
    init_seq(st, seq);
    st[RS_RX_HAVE_TRANSIT] = 0;
  } else {
    uint32_t udelta = ((uint32_t)seq - js_u32(st[RS_RX_MAX_SEQ])) & 0xffff;
    if (udelta < MAX_DROPOUT) {
      if ((double)seq < st[RS_RX_MAX_SEQ]) st[RS_RX_CYCLES] += 65536;
      st[RS_RX_MAX_SEQ] = seq;
    } else if (udelta <= 65536 - MAX_MISORDER) {
      /* A large jump: accepted only if the next packet follows on (A.1: source restarted). */
      if ((double)seq == st[RS_RX_BAD_SEQ]) {
        st[RS_RX_LOST_BEFORE] += lost_of_source(st);
        init_seq(st, seq);
      } else {
        st[RS_RX_BAD_SEQ] = (seq + 1) & 0xffff;
        return;
      }
    }
    /* else a duplicate or reordered packet: counted as received below. */
  }
  st[RS_RX_RECEIVED] += 1;
  double ts = (double)rd_be32(buf + 4);
  double arrival = (now * st[RS_RX_CLOCK_RATE]) / 1000;
  double transit = arrival - ts;
  if (st[RS_RX_HAVE_TRANSIT] != 0) {
    double d = transit - st[RS_RX_LAST_TRANSIT];
    /* The RTP timestamp wraps at 2^32; fold the difference back into range. */
    if (d > 2147483648.0) d -= 4294967296.0;
    else if (d < -2147483648.0) d += 4294967296.0;
    if (d < 0) d = -d;
    st[RS_RX_JITTER] += (d - st[RS_RX_JITTER]) / 16;
  }
  st[RS_RX_LAST_TRANSIT] = transit;
  st[RS_RX_HAVE_TRANSIT] = 1;
}

/* ---- HeaderRewriter ------------------------------------------------------------------- */

/* RFC 3550 A.1 bounds (rewrite.ts MAX_DROPOUT, MAX_MISORDER): a jump out of the
 * source's run re-anchors like a new source, so what we send stays continuous. */
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

static int jumped(const double *st, uint32_t seq) {
  if (st[RS_RW_IN_SEQ] < 0) return 0;
  uint32_t delta = (seq - js_u32(st[RS_RW_IN_SEQ])) & 0xffff;
  return delta >= MAX_DROPOUT && delta < 0x10000 - MAX_MISORDER;
}

/* New incoming source (or one that jumped): offsets so its first packet follows the
 * last one sent, the timestamp advanced by the wallclock time that passed (at least
 * one 20 ms frame). */
static void anchor(double *st, uint32_t in_ssrc, uint32_t seq, uint32_t ts, double now) {
  if (st[RS_RW_IN_SSRC] == -1 && st[RS_RW_PACKETS] == 0 && st[RS_RW_RESYNC] == 0) {
    st[RS_RW_SEQ_OFFSET] = 0;
    st[RS_RW_TS_OFFSET] = 0;
  } else {
    uint32_t next_seq = (js_u32(st[RS_RW_LAST_SEQ]) + 1) & 0xffff;
    double elapsed = now - st[RS_RW_LAST_AT];
    if (!(elapsed >= 20)) elapsed = elapsed != elapsed ? elapsed : 20; /* Math.max(20, x), NaN stays NaN */
    /* Math.round: ties toward +inf; elapsed >= 20 so C's round() agrees. */
    double step = round((elapsed * st[RS_RW_CLOCK_RATE]) / 1000);
    uint32_t next_ts = js_u32(st[RS_RW_LAST_TS] + step);
    st[RS_RW_SEQ_OFFSET] = (double)((next_seq - seq) & 0xffff);
    st[RS_RW_TS_OFFSET] = (double)(uint32_t)(next_ts - ts);
  }
  st[RS_RW_IN_SSRC] = in_ssrc;
  st[RS_RW_IN_SEQ] = seq;
  st[RS_RW_RESYNC] = 0;
}

int rtp_rewrite(double *st, const int16_t *pt_map, uint8_t *buf, int len, int hdr, double now) {
  int pt = pt_map[buf[1] & 0x7f];
  if (pt < 0) return 0;
  uint32_t in_ssrc = rd_be32(buf + 8);
  uint32_t seq = ((uint32_t)buf[2] << 8) | buf[3];
  uint32_t ts = rd_be32(buf + 4);
  if ((double)in_ssrc != st[RS_RW_IN_SSRC] || st[RS_RW_RESYNC] != 0 || jumped(st, seq)) anchor(st, in_ssrc, seq, ts, now);
  else if (((seq - js_u32(st[RS_RW_IN_SEQ])) & 0xffff) < 0x8000) st[RS_RW_IN_SEQ] = seq;
  uint32_t out_seq = (seq + js_u32(st[RS_RW_SEQ_OFFSET])) & 0xffff;
  uint32_t out_ts = ts + js_u32(st[RS_RW_TS_OFFSET]);
  buf[1] = (uint8_t)((buf[1] & 0x80) | pt); /* a Uint8Array store in JS: modulo 256 */
  buf[2] = (uint8_t)(out_seq >> 8); buf[3] = (uint8_t)out_seq;
  wr_be32(buf + 4, out_ts);
  wr_be32(buf + 8, js_u32(st[RS_RW_SSRC]));
  /* Only advance "last" forward, so a reordered packet does not pull the anchor back. */
  if (st[RS_RW_PACKETS] == 0 || ((out_seq - js_u32(st[RS_RW_LAST_SEQ])) & 0xffff) < 0x8000) {
    st[RS_RW_LAST_SEQ] = out_seq;
    st[RS_RW_LAST_TS] = out_ts;
    st[RS_RW_LAST_AT] = now;
  }
  st[RS_RW_PACKETS] += 1;
  st[RS_RW_OCTETS] += len - hdr;
  return 1;
}
