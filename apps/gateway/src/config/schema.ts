// The gateway's configuration: one YAML document validated by this schema. Every
// key has a default that makes the embedded demo work on loopback, so an empty file
// (or none) is a valid configuration.

import { z } from 'zod';
import { parseCodecPolicy, SdpError } from '@trapezoid/sdp';

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);

const tlsFiles = z.strictObject({
  cert: z.string().min(1).describe('path to a PEM certificate chain'),
  key: z.string().min(1).describe('path to a PEM private key'),
  ca: z.string().min(1).optional(),
});

const listener = z.strictObject({
  protocol: z.enum(['udp', 'tcp', 'tls', 'ws', 'wss']),
  address: host.default('127.0.0.1'),
  port,
  /** Host:port written in Via/Record-Route/Contact when it differs from the bind address (NAT). */
  advertise: z.string().optional(),
  tls: tlsFiles.optional(),
  /** Allowed Origin values for WebSocket upgrades; empty = any. */
  origins: z.array(z.string()).default([]),
}).refine((l) => !(l.protocol === 'tls' || l.protocol === 'wss') || l.tls !== undefined, {
  message: 'tls and wss listeners need tls.cert and tls.key',
  path: ['tls'],
});

/** A trunk's codec policy, checked by libs/sdp itself (one grammar) so a typo fails at startup. */
const codecs = z.array(z.string()).min(1).superRefine((list, ctx) => {
  try {
    parseCodecPolicy({ codecs: list });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof SdpError ? err.reason : String(err) });
  }
});

const trunk = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -'),
  address: host,
  port: port.default(5060),
  transport: z.enum(['udp', 'tcp', 'tls']).default('udp'),
  /** Domain for the Request-URI and To; defaults to address. */
  domain: z.string().optional(),
  credentials: z.strictObject({ username: z.string().min(1), password: z.string() }).optional(),
  codecs: codecs.default(['PCMU', 'PCMA', 'telephone-event/8000']),
  /** Seconds to wait for a final answer before giving up with 408. */
  answerTimeout: z.number().positive().default(60),
});

const route = z.strictObject({
  /** Regular expression matched against the dialled user part (browser -> trunk). */
  match: z.string().refine((s) => { try { new RegExp(s); return true; } catch { return false; } }, 'a valid regular expression'),
  /** Replacement for the dialled number; `$1` etc. refer to match groups. */
  rewrite: z.string().optional(),
  trunk: z.string().optional(),
  /** Internal destination instead of a trunk: `echo` answers inside the gateway. */
  internal: z.enum(['echo']).optional(),
}).refine((r) => (r.trunk === undefined) !== (r.internal === undefined), { message: 'a route needs exactly one of trunk or internal' });

const inbound = z.strictObject({
  /** Regular expression matched against the called user part of an INVITE from a trunk. */
  match: z.string(),
  /** Agent AOR (e.g. sip:agent1@trapezoid.invalid) whose registered contacts are rung in parallel. */
  aor: z.string().regex(/^sips?:/, 'a sip: or sips: URI'),
  ringTimeout: z.number().positive().default(30),
});

const user = z.strictObject({ username: z.string().min(1), password: z.string() });

export const configSchema = z.strictObject({
  domain: z.string().default('trapezoid.invalid'),
  listeners: z.array(listener).min(1).default([
    { protocol: 'ws', address: '127.0.0.1', port: 8088, origins: [] },
    { protocol: 'udp', address: '127.0.0.1', port: 5060, origins: [] },
  ]),
  http: z.strictObject({ address: host.default('127.0.0.1'), port: port.default(8080), demo: z.boolean().default(true) }).prefault({}),
  media: z.strictObject({
    address: host.default('127.0.0.1'),
    /** Address written into SDP when it differs from the bind address (NAT, floating IP). */
    publicAddress: z.string().optional(),
    portMin: port.default(20000),
    portMax: port.default(29999),
    workers: z.number().int().min(0).default(0).describe('media worker threads; 0 = one per core'),
    /** Forward settled RTP in the native addon (libs/media/native) when it is built; false = TypeScript path only. */
    native: z.boolean().default(true),
  }).prefault({}).refine((m) => m.portMin < m.portMax, { message: 'portMin must be below portMax', path: ['portMin'] }),
  trunks: z.array(trunk).default([]),
  routes: z.array(route).default([{ match: '^echo$', internal: 'echo' }]),
  inbound: z.array(inbound).default([]),
  auth: z.strictObject({
    realm: z.string().default('trapezoid'),
    /** Require digest auth of WebSocket clients (REGISTER and INVITE). */
    required: z.boolean().default(true),
    /**
     * Digest algorithms challenged, most preferred first (RFC 8760). MD5 alone by
     * default: JsSIP and SIP.js know only MD5 and JsSIP reads the last challenge.
     */
    algorithms: z.array(z.enum(['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess'])).min(1).default(['MD5']),
  }).prefault({}),
  users: z.array(user).default([{ username: 'demo', password: 'demo' }]),
  logging: z.strictObject({
    level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  }).prefault({}),
}).superRefine((c, ctx) => {
  const names = new Set(c.trunks.map((t) => t.name));
  c.routes.forEach((r, i) => {
    if (r.trunk !== undefined && !names.has(r.trunk)) {
      ctx.addIssue({ code: 'custom', path: ['routes', i, 'trunk'], message: `no trunk named "${r.trunk}" (trunks: ${[...names].join(', ') || 'none'})` });
    }
  });
});

export type GatewayConfig = z.infer<typeof configSchema>;
export type TrunkConfig = GatewayConfig['trunks'][number];
export type ListenerConfig = GatewayConfig['listeners'][number];
export type RouteConfig = GatewayConfig['routes'][number];
