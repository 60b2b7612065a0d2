// Which peers a draining node may leave its calls to (ClusterNode.handOff). A node's
// lease outlives it by up to one TTL: a peer that crashed a moment ago is still listed
// alive, and calls left to it would be lost without a BYE. So a peer counts only if it
// renewed within the last two renew intervals (one missed renewal tolerated): its lease
// has more than TTL − 2 × renew left. Every node of a cluster runs the same lease
// settings, so this node's own stand for the peer's.

import type { ListedNode } from '@trapezoid/cluster';

export interface LeaseTiming {
  ttlMs: number;
  renewMs: number;
}

/** The other nodes, alive and renewing, that a drain may leave its calls to. */
export function handOffPeers(nodes: readonly ListedNode[], self: string, lease: LeaseTiming): ListedNode[] {
  const minLeft = lease.ttlMs - 2 * lease.renewMs;
  return nodes.filter((n) => n.owner !== self && n.alive && n.leaseMs > minLeft);
}
