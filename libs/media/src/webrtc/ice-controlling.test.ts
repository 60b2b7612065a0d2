// The controlling agent (what the load client plays) against our lite agent, in memory:
// its first answered check nominates the pair on both sides; a lost check is resent;
// a response under the wrong password or from the wrong address is not taken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IceControllingAgent } from './ice-controlling.js';
import { CheckResult, IceLiteAgent, generateIceCredentials } from './ice-lite.js';

const GATEWAY = { address: '127.0.0.1', port: 15900 };
const BROWSER = { address: '127.0.0.1', port: 15902 };

function pairUp(opts: { drop?: number; pwd?: string; from?: { address: string; port: number } } = {}) {
  const liteCreds = generateIceCredentials();
  const browserCreds = generateIceCredentials();
  const lite = new IceLiteAgent(liteCreds, { remoteUfrag: browserCreds.ufrag });
  let sent = 0;
  const results: number[] = [];
  const agent: IceControllingAgent = new IceControllingAgent({
    local: browserCreds,
    remote: { ufrag: liteCreds.ufrag, pwd: opts.pwd ?? liteCreds.pwd },
    candidates: [GATEWAY],
    send: (req, address, port) => {
      assert.deepEqual({ address, port }, GATEWAY);
      if (sent++ < (opts.drop ?? 0)) return;
      results.push(lite.handle(req, req.length, BROWSER.address, BROWSER.port));
      const res = lite.response;
      const from = opts.from ?? GATEWAY;
      if (res) setImmediate(() => agent.handleResponse(Buffer.from(res), res.length, from.address, from.port));
    },
    retransmitMs: 20,
  });
  return { agent, lite, results, sent: () => sent };
}

function until(ok: () => boolean, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (ok()) resolve(true);
      else if (Date.now() - t0 > ms) resolve(false);
      else setTimeout(tick, 5);
    };
    tick();
  });
}

test('the first answered check nominates the pair on both sides (aggressive nomination)', async () => {
  const { agent, lite, results } = pairUp();
  agent.start();
  assert.ok(await until(() => agent.selected !== null, 1000));
  assert.deepEqual(agent.selected, GATEWAY);
  assert.deepEqual(lite.selected, BROWSER);
  assert.equal(results[0], CheckResult.Nominated);
  agent.close();
});

test('lost checks are resent until one is answered', async () => {
  const { agent, sent } = pairUp({ drop: 2 });
  agent.start();
  assert.ok(await until(() => agent.selected !== null, 1000));
  assert.ok(sent() >= 3);
  agent.close();
});

test('a response under another password, or from another address, is not taken', async () => {
  const wrong = pairUp({ pwd: 'not-the-gateway-password' });
  wrong.agent.start();
  assert.ok(!(await until(() => wrong.agent.selected !== null, 200)));
  assert.ok(wrong.results.every((r) => r === CheckResult.Rejected), 'the lite agent refuses the checks too');
  wrong.agent.close();
  const moved = pairUp({ from: { address: '127.0.0.1', port: 15904 } });
  moved.agent.start();
  assert.ok(!(await until(() => moved.agent.selected !== null, 200)));
  moved.agent.close();
});
