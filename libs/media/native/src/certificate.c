/* The DTLS certificate a process shows browsers (RFC 8827 §6.5): self-signed ECDSA P-256
 * with SHA-256, identified only by its fingerprint in the SDP. Made here, on the node
 * binary's OpenSSL, so a worker on the native path never loads werift (whose import alone
 * is about a second of start-up per thread) just to make one. */
#include <stdint.h>
#include <stdlib.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "addon.h"

#define VALIDITY_DAYS 365

static napi_value pem_string(napi_env env, BIO *bio) {
  char *data = NULL;
  long len = BIO_get_mem_data(bio, &data);
  napi_value v;
  if (len <= 0 || napi_create_string_utf8(env, data, (size_t)len, &v) != napi_ok) return NULL;
  return v;
}

/* dtlsCertificate(): { certPem, keyPem } of a fresh certificate; throws naming the step that failed. */
napi_value js_dtls_certificate(napi_env env, napi_callback_info info) {
  (void)info;
  const char *fault = NULL;
  EVP_PKEY *key = NULL;
  X509 *x = NULL;
  BIO *cert_bio = NULL, *key_bio = NULL;
  napi_value result = NULL, cert_v, key_v;
  uint64_t serial = 0;
  ERR_clear_error();
  if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) fault = "EC P-256 key generation failed";
  else if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1) fault = "X509_new failed";
  else if (RAND_bytes((unsigned char *)&serial, sizeof serial) != 1 ||
           ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1) != 1) fault = "no serial number";
  else {
    X509_NAME *name = X509_get_subject_name(x);
    /* Browsers do the same (CN "WebRTC"): the name means nothing, the fingerprint does. */
    if (X509_gmtime_adj(X509_getm_notBefore(x), -86400L) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400L * VALIDITY_DAYS) == NULL ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"trapezoid", -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1 || X509_sign(x, key, EVP_sha256()) <= 0) {
      fault = "certificate signing failed";
    }
  }
  if (fault == NULL) {
    cert_bio = BIO_new(BIO_s_mem());
    key_bio = BIO_new(BIO_s_mem());
    if (cert_bio == NULL || key_bio == NULL || PEM_write_bio_X509(cert_bio, x) != 1 ||
        PEM_write_bio_PrivateKey(key_bio, key, NULL, NULL, 0, NULL, NULL) != 1) fault = "PEM encoding failed";
  }
  if (fault == NULL && (cert_v = pem_string(env, cert_bio)) != NULL && (key_v = pem_string(env, key_bio)) != NULL &&
      napi_create_object(env, &result) == napi_ok) {
    napi_set_named_property(env, result, "certPem", cert_v);
    napi_set_named_property(env, result, "keyPem", key_v);
  } else if (fault == NULL) {
    fault = "out of memory";
  }
  BIO_free(cert_bio);
  BIO_free(key_bio);
  X509_free(x);
  EVP_PKEY_free(key);
  ERR_clear_error();
  if (fault != NULL) {
    napi_throw_error(env, NULL, fault);
    return NULL;
  }
  return result;
}
