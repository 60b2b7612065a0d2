/* setRoute(inId, route): reads a RouteConfig (binding.ts) into a route_t. Keys become
 * cipher contexts and HMAC pad states here, once, so the per-packet path allocates
 * nothing; the state and ptMap arrays are shared with JS and kept alive by references. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "state.h"

static int fail(napi_env env, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "setRoute: %s", what);
  napi_throw_type_error(env, NULL, msg);
  return -1;
}

static int prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return fail(env, name);
  return 0;
}

static int prop_u32(napi_env env, napi_value obj, const char *name, uint32_t max, uint32_t *out) {
  napi_value v;
  double d;
  if (prop(env, obj, name, &v) != 0) return -1;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= max)) return fail(env, name);
  *out = (uint32_t)d;
  return 0;
}

static int prop_endpoint(napi_env env, napi_value obj, const char *addr_name, const char *port_name, int family, endpoint_t *ep) {
  napi_value v;
  char address[64];
  size_t n = 0;
  uint32_t port;
  if (prop(env, obj, addr_name, &v) != 0) return -1;
  if (napi_get_value_string_utf8(env, v, address, sizeof address, &n) != napi_ok || n + 1 >= sizeof address) return fail(env, addr_name);
  if (prop_u32(env, obj, port_name, 65535, &port) != 0) return -1;
  if (parse_endpoint(address, port, family, ep) != 0) return fail(env, addr_name);
  return 0;
}

/* A Uint8Array (Buffer) property's bytes; a missing property is zero-length. */
static int prop_bytes(napi_env env, napi_value obj, const char *name, const uint8_t **data, size_t *len) {
  napi_value v, ab;
  napi_valuetype t;
  napi_typedarray_type type;
  size_t off;
  *data = NULL;
  *len = 0;
  if (prop(env, obj, name, &v) != 0) return -1;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_undefined) return 0;
  /* napi_get_typedarray_info fails on anything but a typed array. */
  if (napi_get_typedarray_info(env, v, &type, len, (void **)data, &ab, &off) != napi_ok || type != napi_uint8_array) {
    return fail(env, name);
  }
  return 0;
}

static int prop_keys(napi_env env, napi_value route, const char *profile_name, const char *keys_name, int encrypt, srtp_keys_t *k) {
  uint32_t profile;
  napi_value keys;
  napi_valuetype t;
  const uint8_t *key = NULL, *salt = NULL, *auth = NULL;
  size_t key_len = 0, salt_len = 0, auth_len = 0;
  const char *why = NULL;
  if (prop_u32(env, route, profile_name, 2, &profile) != 0) return -1;
  if (profile != SRTP_PLAIN) {
    if (prop(env, route, keys_name, &keys) != 0) return -1;
    if (napi_typeof(env, keys, &t) != napi_ok || t != napi_object) return fail(env, keys_name);
    if (prop_bytes(env, keys, "key", &key, &key_len) != 0 || prop_bytes(env, keys, "salt", &salt, &salt_len) != 0 ||
        prop_bytes(env, keys, "auth", &auth, &auth_len) != 0) {
      return -1;
    }
  }
  /* On failure the caller's route_free() frees what was made. */
  if (srtp_keys_init(k, (int)profile, encrypt, key, key_len, salt, salt_len, auth, auth_len, &why) != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s: %s", keys_name, why);
    return fail(env, msg);
  }
  return 0;
}

static int prop_array(napi_env env, napi_value route, const char *name, napi_typedarray_type want, size_t min,
                      void **data, napi_ref *ref) {
  napi_value v, ab;
  napi_typedarray_type type;
  size_t len, off;
  if (prop(env, route, name, &v) != 0) return -1;
  if (napi_get_typedarray_info(env, v, &type, &len, data, &ab, &off) != napi_ok || type != want || len < min) {
    return fail(env, name);
  }
  if (napi_create_reference(env, v, 1, ref) != napi_ok) return fail(env, name);
  return 0;
}

napi_value js_set_route(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok || data == NULL) return NULL;
  addon_t *a = data;
  double in_id = -1, out_id = -1;
  napi_valuetype t;
  if (argc < 2 || napi_get_value_double(env, argv[0], &in_id) != napi_ok ||
      napi_typeof(env, argv[1], &t) != napi_ok || t != napi_object) {
    fail(env, "setRoute(inId, route)");
    return NULL;
  }
  napi_value route = argv[1], v;
  sock_t *in = sock_lookup(a, in_id);
  if (in == NULL) {
    napi_throw_error(env, "EBADF", "setRoute: unknown or closed inId");
    return NULL;
  }
  if (prop(env, route, "outId", &v) != 0 || napi_get_value_double(env, v, &out_id) != napi_ok) {
    fail(env, "outId");
    return NULL;
  }
  sock_t *out = sock_lookup(a, out_id);
  if (out == NULL) {
    napi_throw_error(env, "EBADF", "setRoute: unknown or closed outId");
    return NULL;
  }
  route_t *r = calloc(1, sizeof *r);
  if (r == NULL) {
    napi_throw_error(env, "ENOMEM", "setRoute: out of memory");
    return NULL;
  }
  r->out = out;
  if (prop_endpoint(env, route, "destAddress", "destPort", out->family, &r->dest) != 0 ||
      prop_endpoint(env, route, "srcAddress", "srcPort", in->family, &r->src) != 0 ||
      prop_keys(env, route, "inProfile", "inKeys", 0, &r->in_keys) != 0 ||
      prop_keys(env, route, "outProfile", "outKeys", 1, &r->out_keys) != 0 ||
      prop_array(env, route, "state", napi_float64_array, RS_SIZE, (void **)&r->state, &r->state_ref) != 0 ||
      prop_array(env, route, "ptMap", napi_int16_array, 128, (void **)&r->pt_map, &r->pt_map_ref) != 0) {
    route_free(env, r);
    return NULL;
  }
  route_t *old = in->route;
  in->route = r;
  route_free(env, old);
  return NULL;
}
