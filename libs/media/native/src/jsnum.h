/* JS number semantics on the doubles of the shared state block: the route state is a
 * Float64Array that JS code (SrtpStream, RtpReceiveStats, HeaderRewriter state) reads and
 * writes, so integers are converted the way JS's ToInt32/ToUint32 would (ECMA-262 §7.1.6/7),
 * never by a C cast of an out-of-range double (undefined behaviour). */
#ifndef TRAPEZOID_JSNUM_H
#define TRAPEZOID_JSNUM_H

#include <stdint.h>

/* Truncated integer value; NaN and huge values give 0 (state words are always small). */
static inline int64_t js_i64(double d) {
  return (d > -9.0e18 && d < 9.0e18) ? (int64_t)d : 0;
}

/* ToUint32: modulo 2^32. */
static inline uint32_t js_u32(double d) {
  return (uint32_t)(uint64_t)js_i64(d);
}

/* ToInt32: the two's complement reading of ToUint32. */
static inline int32_t js_i32(double d) {
  return (int32_t)js_u32(d);
}

static inline uint32_t rd_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void wr_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

#endif
