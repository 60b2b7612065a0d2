/* RTP header parsing, reception statistics (RFC 3550 A.1, A.8) and the bridge's header
 * rewrite, on the shared route state block. */
#ifndef TRAPEZOID_RTP_H
#define TRAPEZOID_RTP_H

#include <stdint.h>

/* rtpHeaderLength(): header incl. CSRCs and extension (§5.3.1), or -1. */
int rtp_header_length(const uint8_t *buf, int len);

/* RtpReceiveStats.update(buf, now) with now in performance.now() ms. */
void rtp_stats_update(double *st, const uint8_t *buf, double now);

/* HeaderRewriter.rewrite(buf, len, hdr, now): 0 = drop (unmapped payload type). */
int rtp_rewrite(double *st, const int16_t *pt_map, uint8_t *buf, int len, int hdr, double now);

#endif
