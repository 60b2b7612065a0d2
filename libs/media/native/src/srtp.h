/* SRTP for the fast path (RFC 3711, RFC 7714): one direction's session keys and the
 * per-SSRC index/replay state kept in the shared route state block. */
#ifndef TRAPEZOID_SRTP_H
#define TRAPEZOID_SRTP_H

#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

enum { SRTP_PLAIN = 0, SRTP_AES_CM_HMAC_SHA1_80 = 1, SRTP_AEAD_AES_128_GCM = 2 };

/* Keys of one route direction, made at setRoute: nothing here allocates per packet. */
typedef struct {
  int profile;
  EVP_CIPHER_CTX *cipher; /* AES-128-ECB for the CM keystream, or AES-128-GCM keyed for one way */
  SHA_CTX inner, outer;   /* HMAC-SHA1 pad states after the key block (AES-CM only) */
  uint8_t salt[14];       /* session salt; GCM uses the first 12 octets */
} srtp_keys_t;

/* 0, or -1 with *why set. `encrypt` picks the GCM direction. */
int srtp_keys_init(srtp_keys_t *k, int profile, int encrypt, const uint8_t *key, size_t key_len,
                   const uint8_t *salt, size_t salt_len, const uint8_t *auth, size_t auth_len, const char **why);
void srtp_keys_free(srtp_keys_t *k);

/* SrtpContext.unprotectRtp for the stream whose state words start at `ss` (IN_ROC..):
 * estimate index, replay check, authenticate, decrypt, accept (§3.3). Plain length or -1;
 * on success *hdr is the RTP header length. */
int srtp_unprotect_rtp(srtp_keys_t *k, double *ss, uint8_t *buf, int len, int *hdr);

/* SrtpContext.protectRtp for the stream at `ss` (OUT_ROC..); `hdr` is the RTP header
 * length, `cap` the room in buf. New length or -1. */
int srtp_protect_rtp(srtp_keys_t *k, double *ss, uint8_t *buf, int len, int hdr, int cap);

#endif
