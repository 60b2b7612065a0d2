// A real peer: SIPp sends OPTIONS over UDP and TCP to a TransportLayer, which
// answers 200 through sendResponse. SIPp exits 0 only if the 200 arrived with the
// top Via stamped with received and rport (the scenario checks both).

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SipMessage, SipRequest } from '../message/index.js';
import { TransportLayer } from './layer.js';
import { responseTo } from './testing.js';

const scenario = fileURLToPath(new URL('../../testdata/sipp/options-uac.xml', import.meta.url));

describe('SIPp as the client', { timeout: 30_000 }, () => {
  const workdir = mkdtempSync(join(tmpdir(), 'trapezoid-sipp-'));
  const children = new Set<ChildProcess>();
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(workdir, { recursive: true, force: true });
  });

  function runSipp(args: string[]): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('sipp', args, { cwd: workdir, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let output = '';
      child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
      child.on('error', reject);
      child.on('exit', (code) => {
        children.delete(child);
        resolve({ code, output });
      });
    });
  }

  for (const protocol of ['udp', 'tcp'] as const) {
    it(`answers SIPp's OPTIONS over ${protocol.toUpperCase()} and SIPp exits 0`, async () => {
      const gw = new TransportLayer();
      try {
        const { port } = await gw.listen({ protocol, address: '127.0.0.1', port: 0 });
        const seen: SipRequest[] = [];
        gw.on('message', (m: SipMessage) => {
          if (!m.isRequest) return;
          seen.push(m);
          gw.sendResponse(responseTo(m, 200), m).catch(() => undefined);
        });
        const { code, output } = await runSipp([
          `127.0.0.1:${port}`, '-sf', scenario, '-s', 'gw', '-m', '1',
          '-t', protocol === 'udp' ? 'u1' : 't1', '-i', '127.0.0.1',
          '-timeout', '10s', '-timeout_error', '-nostdin', '-trace_err',
        ]);
        assert.equal(code, 0, `sipp failed:\n${output.slice(-2000)}`);
        assert.ok(seen.length >= 1);
        assert.equal(seen[0]!.method, 'OPTIONS');
        assert.equal(seen[0]!.transport?.protocol, protocol);
        if (protocol === 'tcp') assert.ok(seen[0]!.transport?.flowId);
      } finally {
        await gw.close();
      }
    });
  }
});
