#!/usr/bin/env bash
# Installs the real peers the test suite runs against, if they are missing.
# Idempotent: does nothing when every tool is already present.
set -euo pipefail
need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The failover drills' capture (tshark) and the Redis TLS test's certificate (openssl).
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The namespaces drill reads a node's /health from inside its namespace (curl) and builds it (ip).
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# RFC 3263 tests: a real DNS server on loopback (the binary only, no system service).
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
# Interop peers: Kamailio as an edge proxy, baresip as a trunk-side phone.
command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ] || need+=(kamailio)
command -v baresip >/dev/null 2>&1 || need+=(baresip)
# The SIP scanner met in the wild (svwar, svcrack): the gateway must tell it nothing.
command -v svwar >/dev/null 2>&1 || need+=(sipvicious)
# The native media fast path (libs/media/native) is built by node-gyp: make, g++, python3.
command -v make >/dev/null 2>&1 || need+=(make)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-test-deps: missing ${need[*]} and not root; install them with apt-get" >&2; exit 1
  fi
else SUDO=""; fi
echo "install-test-deps: installing ${need[*]} from Debian" >&2
$SUDO apt-get update -qq
# Packages such as kamailio start a system service on install (one listening on :5060
# would collide with the tests): forbid service starts for the install, as images do.
policy_added=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d && policy_added=1
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
if [ -n "$policy_added" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
