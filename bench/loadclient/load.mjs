// The load client's schedule: many browsers (browser.mjs) over their own WebSockets,
// calls placed at a steady rate (or held up to a number at once), each held a random
// 1-2 s (or until told), G.711 sent at 50 packets/s while up. One ticker sends every
// call's packet in its own 20 ms phase, so packets are spread over time as from many
// browsers. What each call saw is returned: INVITE (authenticated) -> 200, 200 -> first
// SRTP back, packets sent/received, RFC 3550 loss and jitter, and why it failed if it did.
import { Browser } from './browser.mjs';

const PACKET_MS = 20;

export class LoadClient {
  /**
   * opts: server {address, port} (WebSocket), domain, user, password, number (dialled),
   * browsers (how many WebSockets), mediaAddress, mediaPorts {min, max}, sendMedia (default
   * true), profiles (SRTP profiles offered, default peer.mjs PROFILES).
   */
  constructor(opts) {
    this.opts = { sendMedia: true, ...opts };
    this.browsers = [];
    this.free = [];
    this.calls = [];
    this.active = new Set();
    this.buckets = Array.from({ length: PACKET_MS }, () => new Set());
    this.nextPort = opts.mediaPorts.min;
    this.callIndex = 0;
    this.ticker = null;
    this.lastTick = 0;
  }

  /** Opens every browser's WebSocket (an OPTIONS each: its answer, whatever it is, shows the connection is up). */
  async connect() {
    const o = this.opts;
    for (let i = 0; i < o.browsers; i++) this.browsers.push(new Browser(i, o));
    const batch = 50;
    for (let i = 0; i < this.browsers.length; i += batch) {
      await Promise.all(this.browsers.slice(i, i + batch).map((b) => b.ua.request('OPTIONS', `sip:${o.domain}`, {
        destination: b.destination, from: `<sip:${o.user}@${o.domain}>`,
      }).final));
    }
    this.free = [...this.browsers];
    this.lastTick = Math.floor(performance.now());
    this.ticker = setInterval(() => this.tick(), 1);
  }

  /** Sends the packets due since the last tick: each call in its own 20 ms phase. */
  tick() {
    const now = Math.floor(performance.now());
    // After a stall, send at most one period's worth (a browser would not catch up either).
    const from = Math.max(this.lastTick + 1, now - PACKET_MS + 1);
    for (let ms = from; ms <= now; ms++) {
      for (const rec of this.buckets[ms % PACKET_MS]) rec.media.sendPacket();
    }
    this.lastTick = now;
  }

  mediaPort() {
    const { min, max } = this.opts.mediaPorts;
    const p = this.nextPort;
    this.nextPort = p + 2 > max ? min : p + 2;
    return p;
  }

  /**
   * Places one call on a free browser; resolves with its record once it is up. `holdMs`:
   * hang up that long after the 200 (null: keep it until hangUpAll()).
   */
  async place(holdMs) {
    const browser = this.free.pop();
    if (!browser) {
      const rec = { failure: 'no free browser (client)', status: 0, t: {} };
      this.calls.push(rec);
      return rec;
    }
    const index = this.callIndex++;
    let rec;
    try {
      rec = await browser.call(index, this.opts.number ?? '1000', this.mediaPort());
    } catch (err) {
      rec = { index, failure: `call failed: ${err.message}`, status: 0, t: {} };
      this.free.push(browser);
      this.calls.push(rec);
      return rec;
    }
    this.calls.push(rec);
    if (rec.failure !== null || rec.status !== 200) {
      if (rec.dialog) await browser.hangUp(rec);
      this.free.push(browser);
      return rec;
    }
    rec.browserRef = browser;
    if (this.opts.sendMedia) this.buckets[Math.floor(performance.now()) % PACKET_MS].add(rec);
    this.active.add(rec);
    if (holdMs !== null) rec.holdTimer = setTimeout(() => void this.hangUp(rec), holdMs);
    return rec;
  }

  async hangUp(rec) {
    if (!this.active.delete(rec)) return;
    clearTimeout(rec.holdTimer);
    for (const b of this.buckets) b.delete(rec);
    const m = rec.media;
    rec.t.bye = performance.now();
    if (m.failure) rec.failure ??= m.failure;
    else if (this.opts.sendMedia && m.marks.firstRtpInAt === 0) rec.failure ??= 'no SRTP received while the call was up';
    await rec.browserRef.hangUp(rec);
    this.free.push(rec.browserRef);
  }

  async hangUpAll() {
    await Promise.all([...this.active].map((r) => this.hangUp(r)));
  }

  /** Places calls at `rate` per second for `seconds`, each held a random [min, max] ms; waits for all to end. */
  async runRate(rate, seconds, hold = [1000, 2000]) {
    const first = this.calls.length;
    const t0 = performance.now();
    const total = Math.round(rate * seconds);
    const placed = [];
    await new Promise((resolve) => {
      let n = 0;
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
        while (n < due) {
          n++;
          placed.push(this.place(hold[0] + Math.random() * (hold[1] - hold[0])));
        }
        if (n >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    });
    await Promise.all(placed);
    // Every call hangs up on its own timer; wait for the last BYE.
    while (this.active.size > 0) await new Promise((r) => setTimeout(r, 50));
    return this.calls.slice(first);
  }

  /** Places `count` calls at `rate` per second and keeps them up (until hangUpSome/hangUpAll). */
  async hold(count, rate) {
    const placed = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const at = t0 + (i * 1000) / rate;
      const wait = at - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      placed.push(this.place(null));
    }
    return Promise.all(placed);
  }

  /** Hangs up calls until `keep` are left (the latest placed first). */
  async hangUpSome(keep) {
    const extra = [...this.active].slice(keep);
    await Promise.all(extra.map((r) => this.hangUp(r)));
  }

  /** Per-call received and lost counts of the calls up now (a window's loss is the difference of two). */
  receptionSnapshot() {
    const snap = new Map();
    for (const r of this.active) snap.set(r, { received: r.media.received, lost: r.media.receptionFigures().lost });
    return snap;
  }

  async close() {
    clearInterval(this.ticker);
    await this.hangUpAll();
    await Promise.all(this.browsers.map((b) => b.close()));
  }
}

function quantile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

/** What a batch of call records adds up to. */
export function summarize(records) {
  const ok = records.filter((r) => r.failure === null && r.status === 200);
  const failures = {};
  for (const r of records) if (r.failure !== null || r.status !== 200) failures[r.failure ?? `status ${r.status}`] = (failures[r.failure ?? `status ${r.status}`] ?? 0) + 1;
  const sorted = (xs) => xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const setup = sorted(records.filter((r) => r.status === 200 && r.t.invite > 0).map((r) => r.t.ok - r.t.invite));
  const firstSrtp = sorted(ok.filter((r) => r.media.marks.firstRtpInAt > 0).map((r) => r.media.marks.firstRtpInAt - r.t.ok));
  let sent = 0;
  let received = 0;
  let lost = 0;
  const jitter = [];
  for (const r of ok) {
    sent += r.media.sent;
    received += r.media.received;
    const f = r.media.receptionFigures();
    lost += f.lost;
    jitter.push(f.jitterMs);
  }
  const j = sorted(jitter);
  return {
    attempted: records.length, completed: ok.length, failed: records.length - ok.length, failures,
    inviteTo200Ms: { median: quantile(setup, 0.5), p99: quantile(setup, 0.99), n: setup.length },
    firstSrtpAfter200Ms: { median: quantile(firstSrtp, 0.5), p99: quantile(firstSrtp, 0.99), n: firstSrtp.length },
    packets: { sent, received, lost, lossPct: received + lost > 0 ? (100 * lost) / (received + lost) : 0 },
    jitterMs: { median: quantile(j, 0.5), p99: quantile(j, 0.99) },
  };
}
