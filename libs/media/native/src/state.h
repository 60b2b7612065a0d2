/* Indexes of the route state block, a Float64Array shared with JS
 * (libs/media/src/native/binding.ts RS). Keep the two in step. */
#ifndef TRAPEZOID_STATE_H
#define TRAPEZOID_STATE_H

enum {
  RS_EXPECT_SSRC = 0,
  RS_CLOCK_OFFSET_MS = 1,
  /* SrtpStream (receive) of EXPECT_SSRC; the send stream uses the same layout. */
  RS_IN_ROC = 2, RS_IN_SEQ = 3, RS_IN_STARTED = 4, RS_IN_WIN_LOW = 5, RS_IN_WIN_HIGH = 6,
  /* RtpReceiveStats */
  RS_RX_SSRC = 7, RS_RX_BASE_SEQ = 8, RS_RX_MAX_SEQ = 9, RS_RX_CYCLES = 10, RS_RX_BAD_SEQ = 11,
  RS_RX_RECEIVED = 12, RS_RX_EXPECTED_PRIOR = 13, RS_RX_RECEIVED_PRIOR = 14, RS_RX_LOST_BEFORE = 15,
  RS_RX_LAST_TRANSIT = 16, RS_RX_HAVE_TRANSIT = 17, RS_RX_JITTER = 18, RS_RX_CLOCK_RATE = 19,
  /* HeaderRewriter */
  RS_RW_SSRC = 20, RS_RW_SEQ_OFFSET = 21, RS_RW_TS_OFFSET = 22, RS_RW_IN_SSRC = 23, RS_RW_LAST_SEQ = 24,
  RS_RW_LAST_TS = 25, RS_RW_LAST_AT = 26, RS_RW_PACKETS = 27, RS_RW_OCTETS = 28, RS_RW_RESYNC = 29,
  RS_RW_CLOCK_RATE = 30,
  /* SrtpStream (send) of RW_SSRC */
  RS_OUT_ROC = 31, RS_OUT_SEQ = 32, RS_OUT_STARTED = 33, RS_OUT_WIN_LOW = 34, RS_OUT_WIN_HIGH = 35,
  /* counters: native adds, JS reads and zeroes */
  RS_IN_PACKETS = 36, RS_IN_BYTES = 37, RS_IN_LAST_AT = 38, RS_IN_DROPPED = 39, RS_OUT_PACKETS = 40,
  RS_OUT_BYTES = 41, RS_PUNTED = 42, RS_SEND_ERRORS = 43,
  /* HeaderRewriter.inSeq */
  RS_RW_IN_SEQ = 44,
  RS_SIZE = 48
};

/* Offsets inside an SrtpStream group (IN_ROC.. / OUT_ROC..). */
enum { SS_ROC = 0, SS_SEQ = 1, SS_STARTED = 2, SS_WIN_LOW = 3, SS_WIN_HIGH = 4 };

#endif
