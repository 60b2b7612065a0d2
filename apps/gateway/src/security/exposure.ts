// Safe defaults (issue 8 item 9): what the gateway exposes beyond SIP to the trunks
// and clients it was configured for. The demo softphone page and its credentials, and
// the built-in echo endpoint (which answers anyone's INVITE and reflects RTP), belong to
// the loopback demo: a configuration that turns them on where others can reach them
// is told so at start-up, and the demo password never leaves a loopback listener.

import { isIP } from 'node:net';
import type { GatewayConfig } from '../config/index.js';

/** 127.0.0.0/8, ::1 and their IPv4-mapped form: reachable from this host only. */
export function isLoopback(address: string): boolean {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1' || a === 'localhost';
}

/** Listening addresses (SIP, HTTP) that are not loopback-only. */
export function publicBinds(config: GatewayConfig): string[] {
  const binds = [
    ...config.listeners.map((l) => `${l.protocol} ${l.address}:${l.port}`),
    ...(config.http.port >= 0 ? [`http ${config.http.address}:${config.http.port}`] : []),
  ];
  const addresses = [...config.listeners.map((l) => l.address), ...(config.http.port >= 0 ? [config.http.address] : [])];
  return binds.filter((_b, i) => !isLoopback(addresses[i]!));
}

/**
 * The demo page may hand out the first user's password (so the page registers without
 * typing) only when its HTTP listener is loopback-only: anyone who can load the page
 * could otherwise read a real user's credentials from /config.json.
 */
export function mayServeDemoPassword(config: GatewayConfig): boolean {
  return config.http.demo && isLoopback(config.http.address);
}

/** Start-up warnings about what this configuration exposes (logged once each). */
export function exposureWarnings(config: GatewayConfig): Array<{ message: string; meta: Record<string, unknown> }> {
  const out: Array<{ message: string; meta: Record<string, unknown> }> = [];
  const open = publicBinds(config);
  if (config.http.demo && open.length > 0) {
    out.push({
      message: 'the demo softphone is on and the gateway listens beyond loopback: turn http.demo off outside a local demo',
      meta: { event: 'demo-exposed', listeners: open },
    });
  }
  if (echoRouted(config) && open.length > 0) {
    out.push({
      message: 'a route reaches the built-in echo endpoint while the gateway listens beyond loopback',
      meta: { event: 'echo-exposed', listeners: open },
    });
  }
  if (config.auth.required && config.users.length === 0) {
    out.push({ message: 'auth.required and no users: every client request will be refused', meta: { event: 'no-users' } });
  }
  return out;
}

/** Whether any route sends calls to the built-in echo endpoint. */
export function echoRouted(config: GatewayConfig): boolean {
  return config.routes.some((r) => r.internal === 'echo');
}
