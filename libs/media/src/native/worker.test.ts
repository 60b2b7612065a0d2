// The addon is context-aware: each worker thread loads its own instance, with its own
// socket table served by its own libuv loop, as MediaEngine workers need. Ports 16860-16879.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { bindDgram, closeDgram } from './test-support.js';

const script = new URL('./route-worker.js', import.meta.url);

interface Result {
  inId: number;
  outPackets: number;
  inPackets: number;
  dropped: number;
}

function run(workerData: object): { worker: Worker; result: Promise<Result | null>; exit: Promise<number> } {
  const worker = new Worker(script, { workerData });
  let result: Result | null = null;
  worker.on('message', (m: Result) => { result = m; });
  const exit = new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
  const done = exit.then(() => result);
  done.catch(() => undefined); // a test that expects the worker to fail awaits `exit` instead
  return { worker, result: done, exit };
}

test('two workers each forward through their own sockets and route, then exit by themselves', { timeout: 20000 }, async () => {
  const a = run({ base: 16860, packets: 200 });
  const b = run({ base: 16865, packets: 200 });
  try {
    const [ra, rb] = await Promise.all([a.result, b.result]);
    assert.equal(await a.exit, 0);
    assert.equal(await b.exit, 0);
    for (const r of [ra, rb]) {
      assert.ok(r);
      assert.equal(r.inPackets, 200);
      assert.equal(r.outPackets, 200);
      assert.equal(r.dropped, 0);
    }
    // Same first id in both: each thread has its own socket table.
    assert.equal(ra?.inId, rb?.inId);
  } finally {
    await a.worker.terminate();
    await b.worker.terminate();
  }
});

test('an exception thrown by onMessage reaches the thread as an uncaught exception', { timeout: 10000 }, async () => {
  const w = run({ base: 16870, packets: 0, throwInHandler: true });
  try {
    await assert.rejects(w.exit, /thrown by onMessage/);
  } finally {
    await w.worker.terminate();
  }
});

test('terminating a worker with open sockets and a route closes them (ports free again)', { timeout: 10000 }, async () => {
  const w = new Worker(script, { workerData: { base: 16875, packets: 0, holdOpen: true } });
  try {
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  } finally {
    assert.equal(await w.terminate(), 1);
  }
  for (const port of [16875, 16876]) await closeDgram(await bindDgram('udp4', '127.0.0.1', port));
});
