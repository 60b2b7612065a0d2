// What the trunk tests (issue 9: trunks like carriers) share: a gateway whose trunks
// and routes a test writes itself (several trunks, pings, registration, DNS), and a
// browser caller made of JsSIP in Node with werift (no Chromium needed to see what a
// trunk does with the INVITE). The gateway side is harness.ts's.

import { Gateway, configSchema, createLogger } from '@trapezoid/gateway';
import type { RTCPeerConnection } from 'werift';
import { loadJsSIP, nextEvent } from '../sip/jssip-node.js';
import { ADMIN_TOKEN, AGENT, AGENT_NUMBER, CALLER, DOMAIN, EventLog, assertReleasedAndStop, type TestGateway } from './harness.js';

const JsSIP = loadJsSIP();
export type JsSipUA = InstanceType<typeof JsSIP.UA>;
export type JsSipSession = ReturnType<JsSipUA['call']>;

export interface TrunkGatewayOptions {
  trunks: Array<Record<string, unknown>>;
  routes?: Array<Record<string, unknown>>;
  ports: { min: number; max: number };
  /** Extra top-level config (dns, listeners ...). */
  extra?: Record<string, unknown>;
}

/** A gateway on loopback with the test's trunks; its log in `gw.events`. */
export async function startTrunkGateway(o: TrunkGatewayOptions): Promise<TestGateway> {
  const config = configSchema.parse({
    domain: DOMAIN,
    listeners: [
      { protocol: 'ws', address: '127.0.0.1', port: 0 },
      { protocol: 'udp', address: '127.0.0.1', port: 0 },
    ],
    http: { address: '127.0.0.1', port: 0, demo: false },
    admin: { address: '127.0.0.1', port: 0, token: ADMIN_TOKEN },
    media: { address: '127.0.0.1', portMin: o.ports.min, portMax: o.ports.max, workers: 1 },
    trunks: o.trunks,
    routes: o.routes ?? [{ match: '^\\d+$', trunk: o.trunks[0]!.name }],
    inbound: [{ match: `^${AGENT_NUMBER}$`, aor: `sip:${AGENT.username}@${DOMAIN}`, ringTimeout: 10 }],
    users: [CALLER, AGENT],
    logging: { level: 'info' },
    ...o.extra,
  });
  const events = new EventLog();
  const log = createLogger('info');
  log.clear();
  log.add(events);
  const gw = await Gateway.start(config, { log });
  return Object.assign(gw, { events, trunkPort: Number(o.trunks[0]?.port ?? 0) });
}

/** A registered JsSIP UA over the gateway's WebSocket. */
export async function registerUser(gw: Gateway, user: { username: string; password: string }): Promise<JsSipUA> {
  const ws = gw.listeningPoints().find((p) => p.protocol === 'ws')!;
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(`ws://127.0.0.1:${ws.port}`)],
    uri: `sip:${user.username}@${DOMAIN}`, password: user.password, register: true,
  });
  const registered = nextEvent(ua, 'registered', 'registrationFailed');
  ua.start();
  await registered;
  return ua;
}

export async function stopUser(ua: JsSipUA | null): Promise<void> {
  if (!ua || !ua.isConnected()) return;
  const gone = nextEvent(ua, 'disconnected');
  ua.stop();
  await gone.catch(() => undefined);
}

/** Calls `number`; resolves with the session and what became of it (confirmed, or failed with a status). */
export async function callNumber(ua: JsSipUA, number: string): Promise<{ session: JsSipSession; outcome: { confirmed: boolean; status?: number; progress: number[] } }> {
  const progress: number[] = [];
  const session = ua.call(`sip:${number}@${DOMAIN}`, {
    mediaConstraints: { audio: false, video: false },
    eventHandlers: {
      peerconnection: (e) => { (e.peerconnection as unknown as RTCPeerConnection).addTransceiver('audio', { direction: 'sendrecv' }); },
      progress: (e: { response?: { status_code?: number } }) => { if (e.response?.status_code) progress.push(e.response.status_code); },
    },
  });
  const outcome = await new Promise<{ confirmed: boolean; status?: number; progress: number[] }>((resolve) => {
    session.once('confirmed', () => resolve({ confirmed: true, progress }));
    session.once('failed', (e: { message?: { status_code?: number } }) => resolve({ confirmed: false, ...(e.message?.status_code ? { status: e.message.status_code } : {}), progress }));
  });
  return { session, outcome };
}

/** Hangs up a confirmed session and waits for JsSIP to say it ended. */
export async function hangUp(session: JsSipSession): Promise<void> {
  const ended = nextEvent(session, 'ended', 'failed');
  session.terminate();
  await ended;
}

export { JsSIP };

/**
 * One test's peers and its end: the gateway, the JsSIP UA and every process the test
 * started (SIPp, Kamailio, baresip, dnsmasq) are stopped after the body, and when the
 * body passed the gateway must first have released every call and port.
 */
export class TestRig {
  gw: TestGateway | null = null;
  ua: JsSipUA | null = null;
  private readonly owned: Array<{ stop(): Promise<void> }> = [];

  /** Starts the test's gateway (checked and stopped at the end). */
  async gateway(o: TrunkGatewayOptions): Promise<TestGateway> {
    const gw = await startTrunkGateway(o);
    this.gw = gw;
    return gw;
  }

  /** Registers the test's JsSIP UA (stopped at the end). */
  async register(gw: Gateway, user: { username: string; password: string }): Promise<JsSipUA> {
    const ua = await registerUser(gw, user);
    this.ua = ua;
    return ua;
  }

  /** Hands a started peer to the rig: it is stopped at the end of the test. */
  own<T extends { stop(): Promise<void> }>(peer: T): T {
    this.owned.push(peer);
    return peer;
  }

  async run(body: () => Promise<void>): Promise<void> {
    let passed = false;
    try {
      await body();
      passed = true;
    } finally {
      await this.tearDown(passed);
    }
  }

  /** `check` false (the test failed, or after()) only stops, so the first failure is the one reported. */
  async tearDown(check = false): Promise<void> {
    await stopUser(this.ua);
    this.ua = null;
    const g = this.gw;
    this.gw = null;
    try {
      if (g) await assertReleasedAndStop(g, check);
    } finally {
      for (const p of this.owned.splice(0)) await p.stop();
    }
  }
}
