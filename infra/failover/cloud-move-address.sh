#!/bin/sh
# keepalived notify_master for clouds, where VRRP cannot move an address: ask the
# provider to move the service address to this instance. The gateway binds it as soon
# as it is here (it retries its takeover until the bind succeeds). Usage: cloud-move-address.sh ADDRESS
set -eu
ADDRESS="$1"
PROVIDER="${TRAPEZOID_CLOUD:-aws}"
case "$PROVIDER" in
  aws)
    # The instance's primary interface takes ADDRESS as a secondary private IP, taken
    # from whichever interface had it (--allow-reassignment).
    TOKEN=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
    MAC=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/mac)
    ENI=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" "http://169.254.169.254/latest/meta-data/network/interfaces/macs/$MAC/interface-id")
    aws ec2 assign-private-ip-addresses --network-interface-id "$ENI" --private-ip-addresses "$ADDRESS" --allow-reassignment
    ;;
  gcp)
    # An alias IP range of one address on this VM's nic0.
    NAME=$(curl -fsS -H 'Metadata-Flavor: Google' http://metadata.google.internal/computeMetadata/v1/instance/name)
    ZONE=$(curl -fsS -H 'Metadata-Flavor: Google' http://metadata.google.internal/computeMetadata/v1/instance/zone | sed 's#.*/##')
    gcloud compute instances network-interfaces update "$NAME" --zone "$ZONE" --aliases "$ADDRESS/32"
    ;;
  *)
    echo "cloud-move-address: unknown TRAPEZOID_CLOUD $PROVIDER" >&2
    exit 2
    ;;
esac
# The OS needs the address on the interface too (the cloud only routes it here).
ip addr add "$ADDRESS/32" dev eth0 2>/dev/null || true
