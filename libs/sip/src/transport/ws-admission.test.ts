// The transport's side of WebSocket admission: a WsVerdict's status and reason reach
// the client as the HTTP answer and the application as 'wsRefused'; release() runs
// once per admitted connection whatever ends it; a connection that does not
// authenticate in time is closed with 1008 while WebSocket pongs do not count; the
// application can close a flow by policy (1008) and read what admission attached.

import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import type * as http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { TransportLayer } from './layer.js';
import type { WsRefusal, WsVerdict } from './types.js';

async function refusal(url: string, headers?: Record<string, string>): Promise<http.IncomingMessage> {
  const ws = new WebSocket(url, 'sip', { headers });
  ws.on('error', () => undefined);
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
  res.resume();
  ws.terminate();
  return res;
}

describe('WebSocket admission hooks of the transport layer', { timeout: 15_000 }, () => {
  const layer = new TransportLayer({ keepaliveIntervalMs: 50 });
  const refusals: WsRefusal[] = [];
  let released = 0;
  let admitted = 0;
  let url = '';
  before(async () => {
    layer.on('wsRefused', (r: WsRefusal) => refusals.push(r));
    const lp = await layer.listen({
      protocol: 'ws', address: '127.0.0.1', port: 0, wsAuthTimeoutMs: 300,
      wsAdmit: (req): WsVerdict | Promise<WsVerdict> => {
        const who = req.headers['x-who'];
        if (who === 'refused') return { admit: false, status: 429, reason: 'Too many connections from this address' };
        const verdict: WsVerdict = {
          admit: true, context: { who }, authenticated: who === 'proven',
          release: () => { released++; },
        };
        admitted++;
        // Asynchronous admission (a shared store) is allowed too.
        return who === 'slow' ? new Promise((r) => setTimeout(() => r(verdict), 20)) : verdict;
      },
    });
    url = `ws://127.0.0.1:${lp.port}`;
  });
  after(() => layer.close());

  it('a refused upgrade gets the verdict\'s status and reason, and is reported', async () => {
    const res = await refusal(url, { 'x-who': 'refused' });
    assert.equal(res.statusCode, 429);
    assert.equal(res.statusMessage, 'Too many connections from this address');
    const r = refusals.at(-1)!;
    assert.deepEqual({ ...r, remotePort: 0 }, {
      protocol: 'ws', remoteAddress: '127.0.0.1', remotePort: 0, status: 429, reason: 'Too many connections from this address',
    });
    assert.equal(r.remotePort > 0, true);
  });

  it('an unauthenticated connection is closed 1008 after the deadline although it answers every ping', async () => {
    const before = refusals.length;
    const ws = new WebSocket(url, 'sip', { headers: { 'x-who': 'idle' } });
    let pongs = 0;
    ws.on('ping', () => { pongs++; });
    await once(ws, 'open');
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    assert.equal(code, 1008);
    assert.equal(reason.toString(), 'Not authenticated in time');
    assert.ok(pongs >= 2, `it answered ${pongs} pings`);
    const r = refusals.slice(before).find((x) => x.code === 1008)!;
    assert.equal(r.reason, 'Not authenticated in time');
    assert.match(r.flowId ?? '', /^ws:127\.0\.0\.1:\d+#\d+$/);
  });

  it('markAuthenticated() lifts the deadline; a connection proven at the upgrade has none; both keep their context', async () => {
    const late = new WebSocket(url, 'sip', { headers: { 'x-who': 'slow' } });
    const proven = new WebSocket(url, 'sip', { headers: { 'x-who': 'proven' } });
    try {
      await Promise.all([once(late, 'open'), once(proven, 'open')]);
      // The layer has the flows once the server side adopted them.
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(layer.connectionCount('ws'), 2);
      const flows = [...(layer as unknown as { flows: { values(): Iterable<{ id: string; context: unknown }> } }).flows.values()];
      const lateFlow = flows.find((f) => (f.context as { who: string }).who === 'slow')!;
      assert.deepEqual(layer.flowContext(lateFlow.id), { who: 'slow' });
      layer.markAuthenticated(lateFlow.id);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(late.readyState, WebSocket.OPEN);
      assert.equal(proven.readyState, WebSocket.OPEN);
      // Closing by policy: 1008 with the reason, reported.
      const closed = once(late, 'close');
      layer.closeFlow(lateFlow.id, 1008, 'From user does not match the credentials');
      const [code, reason] = (await closed) as [number, Buffer];
      assert.deepEqual([code, reason.toString()], [1008, 'From user does not match the credentials']);
      assert.equal(refusals.at(-1)!.reason, 'From user does not match the credentials');
    } finally {
      late.terminate();
      proven.terminate();
    }
  });

  it('release() ran once for every admitted connection', async () => {
    for (let i = 0; i < 50 && (released < admitted || layer.connectionCount('ws') > 0); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(admitted, 3);
    assert.equal(released, admitted);
    assert.equal(layer.connectionCount('ws'), 0);
  });
});
