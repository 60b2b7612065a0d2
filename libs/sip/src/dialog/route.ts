// Where an in-dialog request goes (RFC 3261 §12.2.1.1): with an empty route set or a
// loose-routing first route (lr), the Request-URI is the remote target and the route
// set becomes Route; a strict router (RFC 2543) gets the Request-URI itself, and the
// remote target rides as the last Route.

import { parseNameAddr, parseUri, formatUri, isSipUri } from '../parser/index.js';

export interface RequestTarget {
  requestUri: string;
  routes: string[];
  /** The URI of the next hop (first Route, or the Request-URI when there is none). */
  nextHop: string;
}

function isLoose(route: string): boolean {
  const u = parseUri(parseNameAddr(route).uri);
  return isSipUri(u) && u.params.has('lr');
}

/** §12.2.1.1: parameters not allowed in a Request-URI (§19.1.1 table) are stripped. */
function asRequestUri(uri: string): string {
  const u = parseUri(uri);
  if (!isSipUri(u)) return uri;
  u.params.delete('method');
  u.params.delete('ttl');
  u.params.delete('lr');
  u.headers.clear();
  return formatUri(u);
}

export function requestTarget(remoteTarget: string, routeSet: readonly string[]): RequestTarget {
  if (routeSet.length === 0) return { requestUri: remoteTarget, routes: [], nextHop: remoteTarget };
  const first = routeSet[0]!;
  if (isLoose(first)) return { requestUri: remoteTarget, routes: [...routeSet], nextHop: parseNameAddr(first).uri };
  const firstUri = parseNameAddr(first).uri;
  return {
    requestUri: asRequestUri(firstUri),
    routes: [...routeSet.slice(1), '<' + remoteTarget + '>'],
    nextHop: firstUri,
  };
}
