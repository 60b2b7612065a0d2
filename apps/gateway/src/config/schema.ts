// The gateway's configuration: one YAML document validated by this schema. Every
// key has a default and an empty file is a valid configuration: loopback listeners,
// no demo page, no echo route, no users (issue 8: safe defaults). The embedded demo
// (no file at all) adds those three on top (load.ts, EMBEDDED_DEMO).

import { z } from 'zod';
import { cidr, pattern, securitySchema, sipSchema, trunkLimits, userLimits } from './security-schema.js';
import { readFileSync } from 'node:fs';
import { jwksKeys } from '@trapezoid/auth';
import { parseCodecPolicy, SdpError } from '@trapezoid/sdp';

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);

const tlsFiles = z.strictObject({
  cert: z.string().min(1).describe('Path to a PEM certificate chain.'),
  key: z.string().min(1).describe('Path to a PEM private key.'),
  ca: z.string().min(1).optional()
    .describe('Path to PEM trust anchors for peer certificates; a tls listener with it asks peers for a certificate (trunks[].source.tlsNames).'),
});

const listener = z.strictObject({
  protocol: z.enum(['udp', 'tcp', 'tls', 'ws', 'wss']).describe('SIP transport of this listening point (ws/wss: SIP over WebSocket, RFC 7118).'),
  address: host.default('127.0.0.1').describe('Bind address.'),
  port: port.describe('Bind port; 0 = any free port.'),
  advertise: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/, 'host or host:port ([v6] in brackets)').optional()
    .describe('Host or host:port written in Via sent-by and Contact for this listener when it differs from the bind address (NAT, 0.0.0.0); the port defaults to the bound one.'),
  tls: tlsFiles.optional().describe('Certificate and key; required for tls and wss.'),
  origins: z.array(z.string()).default([])
    .describe('ws/wss: allowed Origin values (scheme://host[:port]) of WebSocket upgrades; `*` = any; empty = no Origin (non-browser clients) or a page under the name the client connected to.'),
  hosts: z.array(z.string().min(1)).default([])
    .describe('ws/wss: Host names the upgrade may ask for (421 otherwise); empty = any, except that a loopback-bound listener serves loopback names only (DNS rebinding).'),
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

/** A JWK Set file, loaded by the same code the verifier uses so a bad key fails at startup. */
const jwksFile = z.string().min(1).superRefine((path, ctx) => {
  try {
    if (jwksKeys(JSON.parse(readFileSync(path, 'utf8'))).length === 0) ctx.addIssue({ code: 'custom', message: `${path}: no signature key` });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
  }
});

/** A port or an inclusive range "5060-5069". */
const portRange = z.union([port, z.string().regex(/^\d{1,5}-\d{1,5}$/, 'a port or a range "low-high"')]).superRefine((p, ctx) => {
  if (typeof p === 'number') return;
  const [lo, hi] = p.split('-').map(Number) as [number, number];
  if (lo > hi || hi > 65535) ctx.addIssue({ code: 'custom', message: `${p}: low-high with low <= high <= 65535` });
});

/**
 * How requests from a trunk are recognised (issue 8 item 7). A request matching none
 * of a trunk's rules is a client's, which authenticates like a browser.
 */
const trunkSource = z.strictObject({
  addresses: z.array(cidr).min(1).optional()
    .describe('Source addresses or CIDR blocks of the trunk\'s requests; default the trunk\'s address (if an IP literal).'),
  ports: z.array(portRange).min(1).optional()
    .describe('UDP source ports (or "low-high" ranges); default the trunk\'s port. Not checked over TCP/TLS, whose source ports are ephemeral.'),
  transports: z.array(z.enum(['udp', 'tcp', 'tls'])).min(1).optional()
    .describe('Transports the trunk\'s requests arrive on; default the trunk\'s transport.'),
  tlsNames: z.array(z.string().min(1)).min(1).optional()
    .describe('Over TLS: names one of which the peer certificate (verified against the listener\'s tls.ca) must carry in subjectAltName DNS or CN.'),
});

/** A media interface: where a side's media sockets bind and what its SDP names. */
const mediaInterface = z.strictObject({
  address: host.describe('Bind address of this side\'s media sockets.'),
  advertise: z.string().min(1).optional().describe('Address written into this side\'s SDP when it differs from the bind address (NAT).'),
});

const trunk = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -').describe('Name used by routes, logs, metrics and CDRs.'),
  address: host.describe('Address of the trunk, or a host name located by RFC 3263 (NAPTR/SRV/A, see `dns`); requests from it are recognised as this trunk.'),
  port: port.optional().describe('SIP port of the trunk; default 5060 (5061 for tls), or from DNS SRV when address is a host name.'),
  transport: z.enum(['udp', 'tcp', 'tls']).optional().describe('SIP transport toward the trunk; default udp, or from DNS NAPTR/SRV when address is a host name.'),
  domain: z.string().optional().describe('Domain for the Request-URI and To; defaults to address.'),
  credentials: z.strictObject({
    username: z.string().min(1).describe('Digest user name.'),
    password: z.string().describe('Digest password.'),
  }).optional().describe("Answers the trunk's 401/407 challenges."),
  codecs: codecs.default(['PCMU', 'PCMA', 'telephone-event/8000']).describe('Codecs offered to the trunk, in this order (name[/clock[/channels]]).'),
  answerTimeout: z.number().positive().default(60).describe('Seconds to wait for a final answer before giving up (the browser gets 480).'),
  source: trunkSource.optional().describe('How requests from this trunk are recognised; default its address, port and transport.'),
  ...trunkLimits,
  inviteTimeout: z.number().positive().default(32)
    .describe('Seconds without any response to an INVITE before the trunk counts as unreachable (408) and the next trunk of the route is tried.'),
  register: z.strictObject({
    user: z.string().min(1).optional().describe('User part of the registered AOR; default credentials.username.'),
    expires: z.number().int().min(1).default(600).describe('Expires asked for (seconds); the binding is refreshed at 80% of what the trunk grants.'),
    retryMin: z.number().positive().default(5).describe('Seconds before the first retry after a failed REGISTER; doubles per failure.'),
    retryMax: z.number().positive().default(300).describe('Longest wait between retries (seconds).'),
  }).optional().describe('Register the gateway with the trunk (REGISTER with digest, RFC 3261 §10), as carriers ask of a PBX. A trunk given by name is tried target by target (RFC 3263); the binding is removed at shutdown (Expires: 0).'),
  ping: z.strictObject({
    interval: z.number().positive().default(30).describe('Seconds between OPTIONS pings.'),
    timeout: z.number().positive().default(5).describe('Seconds a ping may take before it counts as failed.'),
    downAfter: z.number().int().min(1).default(3).describe('Failed pings in a row that mark the trunk down (routing skips it).'),
    upAfter: z.number().int().min(1).default(1).describe('Answered pings in a row that mark a down trunk up again.'),
  }).optional().describe('OPTIONS pings: a trunk that stops answering (or answers 503) is skipped by routing until it answers again. A trunk given by name is down only when none of its RFC 3263 targets answers.'),
  dtmf: z.enum(['rfc4733', 'info']).default('rfc4733')
    .describe('How a DTMF digit the browser sends as SIP INFO (JsSIP\'s default) reaches this trunk: as an RFC 4733 telephone-event in the media, or as the same INFO. Without a negotiated telephone-event (a trunk that knows in-band tones only) the INFO is relayed: the gateway does not transcode, so it cannot make in-band tones. RFC 4733 events from the browser always pass as they are.'),
  refer: z.enum(['refuse']).default('refuse')
    .describe('What a REFER from this trunk gets: refused 403 naming the trunk (transfers are asked by browser agents; the gateway carries them out itself).'),
  legacyHold: z.boolean().default(false)
    .describe('When the browser holds, also write c=0.0.0.0 toward this trunk (RFC 2543 hold, for equipment older than RFC 3264). Holds from the trunk are understood either way.'),
  mediaNetworks: z.array(cidr).default([])
    .describe('Addresses or CIDR blocks the trunk\'s RTP may come from besides the address in its SDP (a carrier whose media hosts differ from what its SDP says). A source anywhere else is never learned (RTP bleed).'),
}).refine((t) => t.source?.tlsNames === undefined || (t.source.transports ?? [t.transport ?? 'udp']).includes('tls'), {
  message: 'tlsNames need tls among the trunk\'s source transports', path: ['source', 'tlsNames'],
});

const route = z.strictObject({
  match: pattern
    .describe('Regular expression matched against the dialled user part (browser -> trunk); first match wins.'),
  rewrite: z.string().optional().describe('Replacement for the dialled number; `$1` etc. refer to match groups.'),
  trunk: z.string().optional().describe('Name of the trunk to call.'),
  trunks: z.array(z.string()).min(1).optional()
    .describe('Several trunks tried in order: the next one after a 503, a 408 or no response, while nothing has been relayed to the caller yet.'),
  internal: z.enum(['echo']).optional().describe('Internal destination instead of a trunk: `echo` answers inside the gateway.'),
}).refine((r) => [r.trunk, r.trunks, r.internal].filter((x) => x !== undefined).length === 1, { message: 'a route needs exactly one of trunk, trunks or internal' });

const inbound = z.strictObject({
  match: z.string().describe('Regular expression matched against the called user part of an INVITE from a trunk.'),
  aor: z.string().regex(/^sips?:/, 'a sip: or sips: URI').describe('Agent AOR (e.g. sip:agent1@trapezoid.invalid) whose registered contacts are rung in parallel.'),
  ringTimeout: z.number().positive().default(30).describe('Seconds the agents may ring before the trunk gets 480.'),
});

const admin = z.strictObject({
  enabled: z.boolean().default(true).describe('Run the admin listener (probes, metrics, API, /admin page).'),
  address: host.default('127.0.0.1').describe('Bind address of the admin listener; keep it off the public network.'),
  port: port.default(8089).describe('Port of the admin listener; 0 = any free port.'),
  token: z.string().min(16, 'at least 16 characters').optional()
    .describe('Bearer token for every admin route but /healthz and /readyz; unset (and no tokenFile): a random token is generated at start and printed once.'),
  tokenFile: z.string().min(1).optional().describe('File holding the admin token (a Kubernetes or systemd secret); read at start.'),
}).prefault({}).refine((a) => a.token === undefined || a.tokenFile === undefined, { message: 'set token or tokenFile, not both', path: ['tokenFile'] });

const webhook = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).describe('HTTP(S) URL each call record is POSTed to as JSON.'),
  headers: z.record(z.string(), z.string()).default({}).describe('Extra request headers (e.g. Authorization for the receiver).'),
  timeoutMs: z.number().int().positive().default(5000).describe('A delivery not answered in this time is a failure (and retried).'),
  maxQueue: z.number().int().positive().default(10_000).describe('Records waiting for delivery; when full, the oldest is dropped (and counted).'),
  maxAttempts: z.number().int().positive().default(5).describe('Deliveries tried per record before it is given up.'),
  backoffMs: z.number().int().positive().default(1000).describe('Wait before the first retry; doubles each retry (with jitter).'),
  maxBackoffMs: z.number().int().positive().default(60_000).describe('Longest wait between retries.'),
});

const user = z.strictObject({
  username: z.string().min(1).describe('Digest user name (the user part of the AOR).'),
  password: z.string().describe('Digest password.'),
  ...userLimits,
});

const seconds = z.number().positive();

/** Replication and takeover (issue 10); without `redis` the node keeps its state in memory. */
const cluster = z.strictObject({
  node: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . and -').optional()
    .describe('This node\'s name in logs and the store; default the host name. Each start adds its own incarnation.'),
  serviceAddress: host.optional()
    .describe('The address this node\'s calls live on (its SIP listeners and media): what a survivor binds to carry them on (a floating address moved by VRRP or a cloud API). Default media.address.'),
  redis: z.strictObject({
    url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').describe('Redis server (rediss:// for TLS).'),
    username: z.string().optional().describe('ACL user name.'),
    password: z.string().optional().describe('Password (records hold SRTP keys: set one).'),
    tls: z.strictObject({
      ca: z.string().min(1).optional().describe('Path to PEM trust anchors for the Redis server certificate.'),
      cert: z.string().min(1).optional().describe('Path to a PEM client certificate.'),
      key: z.string().min(1).optional().describe('Path to its PEM private key.'),
    }).optional().describe('TLS to Redis (implied by rediss://).'),
    prefix: z.string().default('trapezoid:').describe('Key prefix, so several clusters can share one Redis.'),
    connectTimeout: seconds.default(5).describe('Seconds to wait for Redis at start before giving up.'),
    commandTimeout: seconds.default(1).describe('Seconds one Redis command may take before it counts as failed.'),
  }).optional().describe('Join a cluster through this Redis; absent: one node, state in memory.'),
  lease: z.strictObject({
    ttl: seconds.default(3).describe('Seconds a node\'s lease lives without renewal: how soon a dead node\'s calls are taken over.'),
    renew: seconds.default(1).describe('Seconds between lease renewals (and between checks for dead nodes).'),
  }).prefault({}).describe('Node liveness.').refine((l) => l.renew < l.ttl, { message: 'renew must be shorter than ttl', path: ['renew'] }),
  checkpointInterval: seconds.default(5).describe('Seconds between checkpoints of each answered call\'s send counters (never per packet).'),
  endedTtl: seconds.default(3600).describe('Seconds an ended call\'s record stays in the store.'),
  takeover: z.boolean().default(true).describe('Take over the calls of a dead node whose service address this node can bind.'),
  browserReconnectWait: seconds.default(10).describe('Seconds a request toward a browser whose WebSocket died waits for it to reconnect and re-register.'),
  certificate: z.strictObject({
    cert: z.string().min(1).describe('Path to the PEM DTLS certificate.'),
    key: z.string().min(1).describe('Path to its PEM private key.'),
  }).optional().describe('The cluster\'s DTLS certificate (every node the same, so a call\'s fingerprint holds on any node); absent: generated once and kept in the store.'),
}).prefault({}).describe('Replication of call state and takeover of a dead node\'s calls.');

export const configSchema = z.strictObject({
  domain: z.string().default('trapezoid.invalid').describe('SIP domain of browser users (the host part of their AOR).'),
  listeners: z.array(listener).min(1).default([
    { protocol: 'ws', address: '127.0.0.1', port: 8088, origins: [], hosts: [] },
    { protocol: 'udp', address: '127.0.0.1', port: 5060, origins: [], hosts: [] },
  ]).describe('SIP listening points.'),
  http: z.strictObject({
    address: host.default('127.0.0.1').describe('Bind address of the public HTTP listener (demo page, /health).'),
    port: port.default(8080).describe('Port of the public HTTP listener; 0 = any free port.'),
    demo: z.boolean().default(false).describe('Serve the demo softphone at `/` (on in the embedded demo only; a warning when listeners are not loopback).'),
  }).prefault({}).describe('Public HTTP listener.'),
  media: z.strictObject({
    address: host.default('127.0.0.1').describe('Bind address of media sockets.'),
    publicAddress: z.string().optional().describe('Address written into SDP when it differs from the bind address (NAT, floating IP).'),
    interfaces: z.strictObject({
      browser: mediaInterface.optional().describe('Interface of the WebRTC legs (the public side the browsers reach).'),
      trunk: mediaInterface.optional().describe('Interface of the RTP legs (the private side toward trunks).'),
    }).optional().describe('Separate media interfaces per side, like rtpengine\'s (each side defaults to address and publicAddress).'),
    portMin: port.default(20000).describe('Lowest media port (inclusive).'),
    portMax: port.default(29999).describe('Highest media port (inclusive).'),
    workers: z.number().int().min(0).default(0).describe('Media worker threads; 0 = one per core.'),
    native: z.boolean().default(true).describe('Forward settled RTP in the native addon (libs/media/native) when it is built; false = TypeScript path only (and werift DTLS).'),
    nativeDtls: z.boolean().default(true).describe('DTLS handshakes on OpenSSL in the native addon when media.native holds and it is built; false = werift (TypeScript).'),
  }).prefault({}).describe('Media anchoring: where RTP/SRTP ports are bound.').refine((m) => m.portMin < m.portMax, { message: 'portMin must be below portMax', path: ['portMin'] }),
  trunks: z.array(trunk).default([]).describe('SIP trunks and PBXs.'),
  dns: z.strictObject({
    servers: z.array(z.string().min(1)).default([])
      .describe('DNS servers for RFC 3263 lookups of trunk host names ("address" or "address:port"); empty = the system\'s.'),
  }).prefault({}).describe('Name resolution of trunks given by host name.'),
  routes: z.array(route).default([]).describe('Browser -> trunk routing, first match wins (the embedded demo routes `echo`; the echo endpoint listens only when a route uses it).'),
  inbound: z.array(inbound).default([]).describe('Trunk -> browser agents: which agents a trunk\'s INVITE rings.'),
  auth: z.strictObject({
    realm: z.string().default('trapezoid').describe('Digest realm.'),
    required: z.boolean().default(true).describe('Require digest auth of WebSocket clients (REGISTER and INVITE).'),
    // MD5 alone by default: JsSIP and SIP.js know only MD5 and JsSIP reads the last challenge.
    algorithms: z.array(z.enum(['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess'])).min(1).default(['MD5'])
      .describe('Digest algorithms challenged, most preferred first (RFC 8760); JsSIP and SIP.js answer MD5 only.'),
    nonceTtl: z.number().int().min(5).max(3600).default(30)
      .describe('Seconds a digest nonce is valid; older ones get a stale=true challenge, which clients answer at once.'),
    nonceSecret: z.string().min(32).optional()
      .describe('HMAC key of digest nonces (32+ characters), shared by the nodes of a cluster; random per start when absent.'),
    nonceTableSize: z.number().int().min(100).default(10_000)
      .describe('Used nonces remembered to refuse replays (nc tracking); when full, the oldest are refused as stale.'),
    ban: z.strictObject({
      failures: z.number().int().min(1).default(5).describe('Failed authentications from one address for one user name that start a ban.'),
      window: z.number().positive().default(60).describe('Seconds in which those failures are counted.'),
      duration: z.number().positive().default(300).describe('Seconds a ban lasts; banned attempts get the usual challenge, unchecked.'),
      tableSize: z.number().int().min(100).default(10_000).describe('(address, user) pairs remembered, counting and banned each.'),
    }).prefault({}).describe('Authentication failures banned per (source address, user).'),
    ephemeral: z.strictObject({
      secrets: z.array(z.string().min(16)).min(1)
        .describe('Secrets shared with the web service that issues credentials (16+ characters), newest first; any of them is accepted, so one can be rotated without a cut.'),
      algorithm: z.enum(['sha1', 'sha256']).default('sha1').describe('HMAC of the password: base64(HMAC(secret, user name)); sha1 as the TURN REST draft and auth_ephemeral.'),
      format: z.enum(['expiry:user', 'user:expiry']).default('expiry:user')
        .describe('User name layout: `<expiry>:<user>` (the draft, auth_ephemeral username_format 1) or the older `<user>:<expiry>`; expiry in UNIX seconds.'),
    }).optional().describe('Ephemeral credentials (Kamailio auth_ephemeral, TURN REST API): as digest credentials, or as username/password in the WebSocket URL.'),
    jwt: z.strictObject({
      secrets: z.array(z.string().min(32)).default([]).describe('HS256 secrets shared with the token issuer (32+ characters).'),
      jwks: jwksFile.optional().describe('Path to a JWK Set file (RFC 7517): RSA keys verify RS256, P-256 EC keys ES256, oct keys HS256; `kid` selects the key.'),
      algorithms: z.array(z.enum(['HS256', 'RS256', 'ES256'])).min(1).optional()
        .describe('Accepted `alg` values; default every algorithm a configured key serves. `none` never is.'),
      issuer: z.array(z.string().min(1)).min(1).optional().describe('Accepted `iss` values; any when absent.'),
      audience: z.array(z.string().min(1)).min(1).optional().describe('The token\'s `aud` must name one of these; not checked when absent.'),
      userClaim: z.string().min(1).default('sub').describe('Claim naming the SIP user: `alice`, `alice@domain` or `sip:alice@domain`.'),
      dialClaim: z.string().min(1).default('dial').describe('Claim listing what the user may dial: regular expressions on the dialled number (read by the toll-fraud guards).'),
      leeway: z.number().min(0).max(300).default(30).describe('Seconds of clock skew tolerated on `exp` and `nbf`.'),
    }).refine((j) => j.secrets.length > 0 || j.jwks !== undefined, { message: 'a JWT check needs secrets or jwks' }).optional()
      .describe('JSON Web Tokens (HS256, RS256, ES256) at the WebSocket upgrade: `?token=` or `?access_token=` in the URL, or `Authorization: Bearer`; `exp` is required.'),
  }).prefault({}).describe('Authentication of browser clients.'),
  users: z.array(user).default([]).describe('Static digest users (the embedded demo has demo/demo).'),
  admin: admin.describe('Admin HTTP listener: /healthz, /readyz, /metrics, the API under /api/v1 and the /admin page.'),
  monitor: z.strictObject({
    intervalMs: z.number().int().min(50).default(1000).describe('How often every call\'s media counters are sampled (metrics, one-way-audio detector, admin API).'),
    oneWayAudioSeconds: z.number().positive().default(5)
      .describe('An answered call, not on hold, whose media stops (or never starts) in a direction for this long is flagged as one-way audio.'),
  }).prefault({}).describe('Per-call media health.'),
  cdr: z.strictObject({
    file: z.string().min(1).optional().describe('JSON-lines file a record of each call is appended to (reopened on SIGHUP).'),
    webhook: webhook.optional().describe('HTTP endpoint each call record is POSTed to; never delays a call.'),
  }).prefault({}).describe('Call detail records: one per call.'),
  hep: z.strictObject({
    address: z.string().min(1).describe('Homer collector (HEPv3 over UDP) address.'),
    port: port.default(9060).describe('Homer collector port.'),
    agentId: z.number().int().min(0).max(0xffffffff).default(2001).describe('Capture agent id sent with every packet.'),
    password: z.string().optional().describe('Capture password (HEP auth key chunk), if the collector wants one.'),
  }).optional().describe('SIP capture to Homer: every message in and out, both legs, secrets redacted; off when absent.'),
  calls: z.strictObject({
    sessionExpires: z.number().int().min(1).default(1800)
      .describe('Session-Expires (RFC 4028) asked of the parties the gateway calls and offered to callers that support timers but ask none (seconds). Each leg negotiates its own interval and refresher; an expired session ends with BYE on both legs.'),
    dtmfToBrowser: z.enum(['info', 'rfc4733']).default('info')
      .describe('How a DTMF digit a trunk sends as SIP INFO reaches the browser: relayed as INFO (the browser\'s SIP library reports it; no browser API reports received RFC 4733), or as an RFC 4733 telephone-event in the media.'),
    minSessionExpires: z.number().int().min(1).default(90)
      .describe('Min-SE: an INVITE asking a Session-Expires below it is refused 422 (RFC 4028 §5, whose floor is 90).'),
  }).prefault({}).describe('Mid-call behaviour common to every call.'),
  shutdown: z.strictObject({
    drainSeconds: z.number().min(0).default(30)
      .describe('On SIGTERM (or a drain), how long live calls may go on before what is left is ended; match it to Kubernetes\' terminationGracePeriodSeconds minus a margin.'),
    handOff: z.boolean().default(true)
      .describe('In a cluster (cluster.redis) with another node alive (its lease renewed within the last two cluster.lease.renew intervals), leave the calls still live at the drain deadline to that node (it takes them over as after a crash, at once) instead of ending them with BYE. Off, or with no live peer, they are ended.'),
  }).prefault({}).describe('Graceful shutdown.'),
  websocket: z.strictObject({
    maxConnections: z.number().int().min(1).default(10_000).describe('Open WebSocket connections allowed in total (503 beyond).'),
    maxPerAddress: z.number().int().min(1).default(32).describe('Open WebSocket connections allowed from one address (429 beyond), exempt addresses aside.'),
    exempt: z.array(cidr).default([]).describe('Addresses or CIDR blocks not held to maxPerAddress: a call centre\'s agents behind one NAT address.'),
    authTimeout: z.number().positive().default(15)
      .describe('Seconds a connection may stay open without authenticating (a request that passed authentication, or credentials at the upgrade); then it is closed with 1008. Pings do not count.'),
    pingInterval: z.number().positive().default(30)
      .describe('Seconds between WebSocket pings; a connection that misses a pong is dropped.'),
  }).prefault({}).describe('Admission of SIP WebSocket connections before any SIP is read (each listener adds its origins and hosts).'),
  security: securitySchema,
  sip: sipSchema,
  lifetime: z.strictObject({
    flowGrace: z.number().min(0).default(30)
      .describe('Seconds an answered call waits for a browser whose WebSocket closed to reconnect and register again (same AOR and +sip.instance) before both legs get a BYE; 0 ends it at once. JsSIP and SIP.js retry after 2, 4, 8, 16 s.'),
    mediaTimeout: z.number().min(0).default(60)
      .describe('Seconds without RTP or RTCP received on either leg of an answered call before it is ended (rtpengine\'s timeout, same default); 0 = never.'),
    holdTimeout: z.number().min(0).default(3600)
      .describe('The same while the call is on hold (an SDP direction other than sendrecv on either leg; rtpengine\'s silent-timeout, same default); 0 = never.'),
    iceTimeout: z.number().min(0).default(20)
      .describe('Seconds after the answer by which the browser must have completed ICE and DTLS, or the call is ended (a client that never does ICE would hold the trunk leg forever); 0 = never.'),
  }).prefault({}).describe('When a call whose parties are gone is ended (issue 8): each end sends BYE on the legs still up with a Reason header and logs one call-ended line naming the cause.'),
  logging: z.strictObject({
    level: z.enum(['error', 'warn', 'info', 'debug']).default('info').describe('Lowest level written (JSON lines on stderr).'),
  }).prefault({}).describe('Logs.'),
  cluster,
}).superRefine((c, ctx) => {
  for (const issue of crossReferenceIssues(c)) ctx.addIssue({ code: 'custom', ...issue });
});

/**
 * Checks between sections (a route naming a trunk that does not exist). Written for raw
 * input too: the loader runs it when other errors stopped the schema's own run, so a
 * file's every error is reported at once.
 */
export function crossReferenceIssues(c: unknown): { path: (string | number)[]; message: string }[] {
  const o = (c ?? {}) as { trunks?: unknown; routes?: unknown };
  const trunks = Array.isArray(o.trunks) ? o.trunks : [];
  const names = new Set(trunks.map((t) => (t as { name?: unknown } | null)?.name).filter((n): n is string => typeof n === 'string'));
  const out: { path: (string | number)[]; message: string }[] = [];
  const missing = (name: string): string => `no trunk named "${name}" (trunks: ${[...names].join(', ') || 'none'})`;
  (Array.isArray(o.routes) ? o.routes : []).forEach((r, i) => {
    const route = (r ?? {}) as { trunk?: unknown; trunks?: unknown };
    if (typeof route.trunk === 'string' && !names.has(route.trunk)) out.push({ path: ['routes', i, 'trunk'], message: missing(route.trunk) });
    (Array.isArray(route.trunks) ? route.trunks : []).forEach((name: unknown, j) => {
      if (typeof name === 'string' && !names.has(name)) out.push({ path: ['routes', i, 'trunks', j], message: missing(name) });
    });
  });
  return out;
}

export type GatewayConfig = z.infer<typeof configSchema>;
export type TrunkConfig = GatewayConfig['trunks'][number];
export type ListenerConfig = GatewayConfig['listeners'][number];
export type RouteConfig = GatewayConfig['routes'][number];
export type ClusterConfig = GatewayConfig['cluster'];
