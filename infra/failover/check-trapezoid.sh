#!/bin/sh
# keepalived health check: the local gateway answers its liveness probe on the admin
# listener. A node whose gateway is down gives its address up; the other node's gateway
# binds it and takes the calls over (docs/failover.md).
exec curl -fsS --max-time 1 http://127.0.0.1:8089/healthz >/dev/null
