#!/usr/bin/env bash
# Installs what `npm run bench:compare` runs beside trapezoid, if it is missing: the anchor
# (Kamailio with its WebSocket modules, rtpengine), SIPp as the trunk, dumpcap for the
# on-the-wire latency. Idempotent; the same service-start guard as install-test-deps.sh.
set -euo pipefail
need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ] || need+=(kamailio)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/websocket.so ] || ls /usr/lib/*/kamailio/modules/websocket.so >/dev/null 2>&1 || need+=(kamailio-websocket-modules)
command -v rtpengine >/dev/null 2>&1 || [ -x /usr/bin/rtpengine ] || need+=(rtpengine-daemon)
command -v dumpcap >/dev/null 2>&1 || need+=(wireshark-common)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-bench-deps: missing ${need[*]} and not root; install them with apt-get" >&2; exit 1
  fi
else SUDO=""; fi
echo "install-bench-deps: installing ${need[*]} from Debian" >&2
$SUDO apt-get update -qq
policy_added=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d && policy_added=1
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
if [ -n "$policy_added" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
