/* SRTP packet transforms and index bookkeeping, a port of libs/media/src/srtp/{replay,
 * context,transform-cm,transform-gcm}.ts that must stay bit-identical to it: the route's
 * stream words are the SrtpStream fields JS exports and restores. */
#include "srtp.h"

#include <string.h>
#include <openssl/crypto.h>

#include "jsnum.h"
#include "rtp.h"
#include "state.h"

#define CM_TAG 10
#define GCM_TAG 16
/* AesCmKeystream's limit (MAX_BLOCKS): longer payloads fail there, so they fail here. */
#define CM_MAX_BLOCKS 96
#define REPLAY_WINDOW 64

/* ---- SrtpStream (replay.ts) on state words ------------------------------------------ */

static int64_t ss_highest(const double *ss) {
  return ss[SS_STARTED] != 0 ? js_i64(ss[SS_ROC]) * 65536 + js_i64(ss[SS_SEQ]) : -1;
}

/* §3.3.1 and Appendix A: the 48-bit index for `seq`, -1 if its ROC would be negative. */
static int64_t ss_estimate_index(const double *ss, uint32_t seq) {
  int64_t roc = js_i64(ss[SS_ROC]);
  if (ss[SS_STARTED] == 0) return roc * 65536 + seq;
  int64_t sl = js_i64(ss[SS_SEQ]);
  int64_t v = roc;
  if (sl < 32768) {
    if ((int64_t)seq - sl > 32768) v = roc - 1;
  } else if (sl - 32768 > (int64_t)seq) {
    v = roc + 1;
  }
  if (v < 0) return -1;
  return v * 65536 + seq;
}

/* replay.ts forwardIndex(): `seq` read as 2^15 or more ahead of the highest index. */
static int64_t ss_forward_index(const double *ss, uint32_t seq) {
  int64_t roc = js_i64(ss[SS_ROC]);
  int64_t highest = roc * 65536 + js_i64(ss[SS_SEQ]);
  int64_t index = roc * 65536 + seq;
  return index - highest >= 32768 ? index : index + 65536;
}

static void ss_set_highest(double *ss, int64_t index) {
  ss[SS_ROC] = (double)(index / 65536);
  ss[SS_SEQ] = (double)(index % 65536);
}

/* §3.3.2: new and not older than the window. */
static int ss_check_replay(const double *ss, int64_t index) {
  if (ss[SS_STARTED] == 0) return 1;
  int64_t delta = index - ss_highest(ss);
  if (delta > 0) return 1;
  int64_t k = -delta;
  if (k >= REPLAY_WINDOW) return 0;
  uint32_t lo = js_u32(ss[SS_WIN_LOW]), hi = js_u32(ss[SS_WIN_HIGH]);
  return k < 32 ? (lo & (1u << k)) == 0 : (hi & (1u << (k - 32))) == 0;
}

/* Records an authenticated index (§3.3.2: only after authentication). */
static void ss_accept(double *ss, int64_t index) {
  uint32_t lo, hi;
  if (ss[SS_STARTED] == 0) {
    ss[SS_STARTED] = 1;
    ss_set_highest(ss, index);
    lo = 1;
    hi = 0;
  } else {
    lo = js_u32(ss[SS_WIN_LOW]);
    hi = js_u32(ss[SS_WIN_HIGH]);
    int64_t delta = index - ss_highest(ss);
    if (delta > 0) {
      if (delta >= 64) {
        hi = 0;
        lo = 0;
      } else if (delta >= 32) {
        hi = lo << (delta - 32);
        lo = 0;
      } else {
        hi = (hi << delta) | (lo >> (32 - delta));
        lo = lo << delta;
      }
      lo |= 1;
      ss_set_highest(ss, index);
    } else {
      int64_t k = -delta;
      if (k < 32) lo |= 1u << k;
      else if (k < 64) hi |= 1u << (k - 32);
    }
  }
  ss[SS_WIN_LOW] = (double)(int32_t)lo;
  ss[SS_WIN_HIGH] = (double)(int32_t)hi;
}

/* Sender side: the index of an outgoing packet, advancing ROC on wrap. */
static int64_t ss_next_send_index(double *ss, uint32_t seq) {
  int64_t index = ss_estimate_index(ss, seq);
  if (index < 0) return js_i64(ss[SS_ROC]) * 65536 + seq;
  if (ss[SS_STARTED] == 0 || index > ss_highest(ss)) {
    ss[SS_STARTED] = 1;
    ss_set_highest(ss, index);
  }
  return index;
}

/* ---- keys ---------------------------------------------------------------------------- */

int srtp_keys_init(srtp_keys_t *k, int profile, int encrypt, const uint8_t *key, size_t key_len,
                   const uint8_t *salt, size_t salt_len, const uint8_t *auth, size_t auth_len, const char **why) {
  memset(k, 0, sizeof *k);
  k->profile = profile;
  if (profile == SRTP_PLAIN) return 0;
  if (key_len != 16) { *why = "SRTP session key must be 16 bytes"; return -1; }
  if (profile == SRTP_AES_CM_HMAC_SHA1_80) {
    if (salt_len < 14) { *why = "AES-CM session salt must be 14 bytes"; return -1; }
    if (auth_len == 0 || auth_len > 64) { *why = "HMAC-SHA1 session key must be 1..64 bytes (20)"; return -1; }
    memcpy(k->salt, salt, 14);
    uint8_t pad[64];
    memset(pad, 0x36, sizeof pad);
    for (size_t i = 0; i < auth_len; i++) pad[i] ^= auth[i];
    SHA1_Init(&k->inner);
    SHA1_Update(&k->inner, pad, 64);
    memset(pad, 0x5c, sizeof pad);
    for (size_t i = 0; i < auth_len; i++) pad[i] ^= auth[i];
    SHA1_Init(&k->outer);
    SHA1_Update(&k->outer, pad, 64);
    OPENSSL_cleanse(pad, sizeof pad);
  } else if (profile == SRTP_AEAD_AES_128_GCM) {
    if (salt_len < 12) { *why = "GCM session salt must be at least 12 bytes"; return -1; }
    memcpy(k->salt, salt, 12);
  } else {
    *why = "unknown SRTP profile";
    return -1;
  }
  k->cipher = EVP_CIPHER_CTX_new();
  if (k->cipher == NULL) { *why = "EVP_CIPHER_CTX_new failed"; return -1; }
  int ok = profile == SRTP_AES_CM_HMAC_SHA1_80
    ? EVP_EncryptInit_ex(k->cipher, EVP_aes_128_ecb(), NULL, key, NULL) == 1 && EVP_CIPHER_CTX_set_padding(k->cipher, 0) == 1
    : EVP_CipherInit_ex(k->cipher, EVP_aes_128_gcm(), NULL, key, NULL, encrypt ? 1 : 0);
  if (ok != 1) {
    EVP_CIPHER_CTX_free(k->cipher);
    k->cipher = NULL;
    *why = "cipher init failed";
    return -1;
  }
  return 0;
}

void srtp_keys_free(srtp_keys_t *k) {
  if (k->cipher != NULL) EVP_CIPHER_CTX_free(k->cipher);
  OPENSSL_cleanse(k, sizeof *k);
}

/* ---- AES_CM_128_HMAC_SHA1_80 (RFC 3711 §4.1.1, §4.2.1) ------------------------------- */

/* XORs the keystream of (ssrc, roc, seq) into buf[0..n). Keystream block j is
 * AES(k_e, IV + j) with IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16); the low
 * 16 bits of IV are zero, so j never carries out of them. The counter blocks go through
 * one ECB context keyed at setRoute: re-initialising a CTR context per packet costs more
 * in OpenSSL 3 (parameter lookups) than the AES itself. */
static int cm_xor(srtp_keys_t *k, uint8_t *buf, int n, uint32_t ssrc, uint32_t roc, uint32_t seq) {
  if (n <= 0) return 0;
  int blocks = (n + 15) >> 4;
  if (blocks > CM_MAX_BLOCKS) return -1;
  uint8_t ctr[CM_MAX_BLOCKS * 16], ks[CM_MAX_BLOCKS * 16];
  uint8_t iv[16];
  memcpy(iv, k->salt, 14);
  iv[14] = 0;
  iv[15] = 0;
  iv[4] ^= (uint8_t)(ssrc >> 24); iv[5] ^= (uint8_t)(ssrc >> 16); iv[6] ^= (uint8_t)(ssrc >> 8); iv[7] ^= (uint8_t)ssrc;
  iv[8] ^= (uint8_t)(roc >> 24); iv[9] ^= (uint8_t)(roc >> 16); iv[10] ^= (uint8_t)(roc >> 8); iv[11] ^= (uint8_t)roc;
  iv[12] ^= (uint8_t)(seq >> 8); iv[13] ^= (uint8_t)seq;
  for (int j = 0; j < blocks; j++) {
    uint8_t *c = ctr + j * 16;
    memcpy(c, iv, 14);
    c[14] = (uint8_t)(j >> 8);
    c[15] = (uint8_t)j;
  }
  int out = 0;
  if (EVP_EncryptUpdate(k->cipher, ks, &out, ctr, blocks * 16) != 1 || out != blocks * 16) return -1;
  for (int i = 0; i < n; i++) buf[i] ^= ks[i];
  return 0;
}

/* HMAC-SHA1 over buf[0..len) || ROC (§4.2: the authenticated portion plus the ROC). */
static void cm_mac(const srtp_keys_t *k, const uint8_t *buf, int len, uint32_t roc, uint8_t mac[20]) {
  SHA_CTX c = k->inner;
  uint8_t r[4];
  wr_be32(r, roc);
  SHA1_Update(&c, buf, (size_t)len);
  SHA1_Update(&c, r, 4);
  SHA1_Final(mac, &c);
  c = k->outer;
  SHA1_Update(&c, mac, 20);
  SHA1_Final(mac, &c);
}

/* ---- AEAD_AES_128_GCM (RFC 7714 §8) --------------------------------------------------- */

/* IV = salt XOR (0x0000 || SSRC || ROC || SEQ), §8.1. */
static void gcm_iv(const srtp_keys_t *k, uint8_t iv[12], uint32_t ssrc, uint32_t roc, uint32_t seq) {
  const uint8_t *s = k->salt;
  iv[0] = s[0]; iv[1] = s[1];
  iv[2] = s[2] ^ (uint8_t)(ssrc >> 24); iv[3] = s[3] ^ (uint8_t)(ssrc >> 16);
  iv[4] = s[4] ^ (uint8_t)(ssrc >> 8); iv[5] = s[5] ^ (uint8_t)ssrc;
  iv[6] = s[6] ^ (uint8_t)(roc >> 24); iv[7] = s[7] ^ (uint8_t)(roc >> 16);
  iv[8] = s[8] ^ (uint8_t)(roc >> 8); iv[9] = s[9] ^ (uint8_t)roc;
  iv[10] = s[10] ^ (uint8_t)(seq >> 8); iv[11] = s[11] ^ (uint8_t)seq;
}

/* AAD = the RTP header (§8.2); ciphertext in place; tag after it. */
static int gcm_seal(srtp_keys_t *k, uint8_t *buf, int hdr, int len, uint32_t ssrc, uint32_t roc, uint32_t seq) {
  uint8_t iv[12];
  int out = 0;
  gcm_iv(k, iv, ssrc, roc, seq);
  EVP_CIPHER_CTX *c = k->cipher;
  if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1) return -1;
  if (EVP_EncryptUpdate(c, NULL, &out, buf, hdr) != 1) return -1;
  if (len > hdr && EVP_EncryptUpdate(c, buf + hdr, &out, buf + hdr, len - hdr) != 1) return -1;
  if (EVP_EncryptFinal_ex(c, buf + len, &out) != 1) return -1;
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG, buf + len) != 1) return -1;
  return 0;
}

/* Decrypts buf[hdr..plain) in place and checks the tag at buf[plain..plain+16). A failed
 * check leaves garbage in the payload: the caller drops the packet. */
static int gcm_open(srtp_keys_t *k, uint8_t *buf, int hdr, int plain, uint32_t ssrc, uint32_t roc, uint32_t seq) {
  uint8_t iv[12], tail[16];
  int out = 0;
  gcm_iv(k, iv, ssrc, roc, seq);
  EVP_CIPHER_CTX *c = k->cipher;
  if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1) return -1;
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG, buf + plain) != 1) return -1;
  if (EVP_DecryptUpdate(c, NULL, &out, buf, hdr) != 1) return -1;
  if (plain > hdr && EVP_DecryptUpdate(c, buf + hdr, &out, buf + hdr, plain - hdr) != 1) return -1;
  return EVP_DecryptFinal_ex(c, tail, &out) == 1 ? 0 : -1;
}

/* Undoes a failed gcm_open: decrypting is XORing the CTR keystream, so running the same
 * IV over the garbage again gives back the ciphertext (the packet as it arrived). */
static void gcm_restore(srtp_keys_t *k, uint8_t *buf, int hdr, int plain, uint32_t ssrc, uint32_t roc, uint32_t seq) {
  uint8_t iv[12];
  int out = 0;
  gcm_iv(k, iv, ssrc, roc, seq);
  EVP_CIPHER_CTX *c = k->cipher;
  if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1) return;
  if (plain > hdr) EVP_DecryptUpdate(c, buf + hdr, &out, buf + hdr, plain - hdr);
}

/* Authenticates and decrypts with the rollover counter of `index`: 0, or -1 with the
 * packet left as it arrived. */
static int open_rtp(srtp_keys_t *k, uint8_t *buf, int hdr, int plain, uint32_t ssrc, int64_t index, uint32_t seq) {
  uint32_t roc = (uint32_t)(index >> 16);
  if (k->profile == SRTP_AES_CM_HMAC_SHA1_80) {
    uint8_t mac[20];
    cm_mac(k, buf, plain, roc, mac);
    if (CRYPTO_memcmp(mac, buf + plain, CM_TAG) != 0) return -1;
    return cm_xor(k, buf + hdr, plain - hdr, ssrc, roc, seq) != 0 ? -1 : 0;
  }
  if (gcm_open(k, buf, hdr, plain, ssrc, roc, seq) == 0) return 0;
  gcm_restore(k, buf, hdr, plain, ssrc, roc, seq);
  return -1;
}

/* ---- SrtpContext.protectRtp / unprotectRtp -------------------------------------------- */

int srtp_unprotect_rtp(srtp_keys_t *k, double *ss, uint8_t *buf, int len, int *hdr_out) {
  int tag = k->profile == SRTP_AES_CM_HMAC_SHA1_80 ? CM_TAG : GCM_TAG;
  int plain = len - tag;
  int hdr = rtp_header_length(buf, plain);
  if (hdr < 0) return -1;
  uint32_t ssrc = rd_be32(buf + 8);
  uint32_t seq = ((uint32_t)buf[2] << 8) | buf[3];
  int64_t index = ss_estimate_index(ss, seq);
  int ok = index >= 0 && ss_check_replay(ss, index) && open_rtp(k, buf, hdr, plain, ssrc, index, seq) == 0;
  if (!ok) {
    /* RFC 3711 §3.3.1's estimate takes a jump of 2^15 or more for an old packet of the
     * previous ROC (context.ts): one more try with the next ROC, for failed packets only. */
    if (ss[SS_STARTED] == 0) return -1;
    index = ss_forward_index(ss, seq);
    if (open_rtp(k, buf, hdr, plain, ssrc, index, seq) != 0) return -1;
  }
  ss_accept(ss, index);
  *hdr_out = hdr;
  return plain;
}

int srtp_protect_rtp(srtp_keys_t *k, double *ss, uint8_t *buf, int len, int hdr, int cap) {
  int tag = k->profile == SRTP_AES_CM_HMAC_SHA1_80 ? CM_TAG : GCM_TAG;
  uint32_t ssrc = rd_be32(buf + 8);
  uint32_t seq = ((uint32_t)buf[2] << 8) | buf[3];
  /* As in JS, the send index advances before the transform can refuse the packet. */
  int64_t index = ss_next_send_index(ss, seq);
  uint32_t roc = (uint32_t)(index >> 16);
  if (len + tag > cap) return -1;
  if (k->profile == SRTP_AES_CM_HMAC_SHA1_80) {
    uint8_t mac[20];
    if (cm_xor(k, buf + hdr, len - hdr, ssrc, roc, seq) != 0) return -1;
    cm_mac(k, buf, len, roc, mac);
    memcpy(buf + len, mac, CM_TAG);
  } else {
    if (gcm_seal(k, buf, hdr, len, ssrc, roc, seq) != 0) return -1;
  }
  return len + tag;
}
