// Call end paths. The two legs here are scripted stand-ins for libs/sip Dialogs
// (an EventEmitter with `terminated` and `bye()`): the race they reproduce (a leg that
// ends before the call links it) cannot be timed reliably with real peers. The real
// peers' end paths are covered by test/src/gateway/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Dialog } from '@trapezoid/sip';
import { createLogger } from '../logging.js';
import { CallRegistry, CallStateError, type CallEnd } from './call.js';

class ScriptedDialog extends EventEmitter {
  terminated = false;
  byes = 0;
  readonly state = { callId: 'x' };
  toState(): Record<string, unknown> {
    return { callId: 'x' };
  }
  bye(): Promise<void> {
    this.byes++;
    this.hangUp('local BYE');
    return Promise.resolve();
  }
  /** What libs/sip does when a BYE is sent or received: terminated, synchronously. */
  hangUp(reason: string): void {
    if (this.terminated) return;
    this.terminated = true;
    this.emit('terminated', reason);
  }
}

const silent = createLogger('error', true);
const asDialog = (d: ScriptedDialog): Dialog => d as unknown as Dialog;

test('a leg that ended before the call linked it ends the call and hangs up the other leg', async () => {
  const calls = new CallRegistry(silent);
  const call = calls.create({ direction: 'outbound', aCallId: 'a', from: 'u', to: 'n' });
  const a = new ScriptedDialog();
  const b = new ScriptedDialog();
  a.hangUp('remote BYE'); // the browser's BYE was read in the same turn as its ACK
  call.linkDialogs(asDialog(a), asDialog(b));
  await call.end(0, 'not reached'); // returns the end already under way
  assert.equal(call.record.endStatus, 200);
  assert.equal(b.byes, 1, 'the trunk leg was hung up');
  assert.equal(a.byes, 0, 'no BYE back to the side that ended');
  assert.equal(calls.live, 0);
});

test('a BYE on one leg is relayed to the other, and the call ends exactly once', async () => {
  const calls = new CallRegistry(silent);
  const call = calls.create({ direction: 'inbound', aCallId: 'a', from: 'u', to: 'n' });
  const a = new ScriptedDialog();
  const b = new ScriptedDialog();
  call.linkDialogs(asDialog(a), asDialog(b));
  b.hangUp('remote BYE');
  // Hanging up A inside end() fires A's 'terminated', which calls end() again.
  await call.end(503, 'again');
  assert.equal(a.byes, 1);
  assert.equal(b.byes, 0);
  assert.equal(call.record.endReason, 'B leg ended: remote BYE');
  assert.equal(calls.started, 1);
  assert.equal(calls.completed, 1, 'ended once, counted once');
  assert.equal(calls.live, 0);
});

test('cleanups registered with onEnd run once, also when registered after the end', async () => {
  const calls = new CallRegistry(silent);
  const call = calls.create({ direction: 'outbound', aCallId: 'a', from: 'u', to: 'n' });
  let runs = 0;
  call.onEnd(() => runs++);
  await Promise.all([call.end(487, 'canceled'), call.end(200, 'bye')]);
  assert.equal(runs, 1);
  call.onEnd(() => runs++);
  assert.equal(runs, 2);
  assert.equal(call.record.endStatus, 487);
});

test('state moves only along the table; an invalid move throws and changes nothing', async () => {
  const calls = new CallRegistry(silent);
  const call = calls.create({ direction: 'outbound', aCallId: 'a', from: 'u', to: 'n' });
  const seen: string[] = [];
  call.on('state', (c) => seen.push(`${c.from}>${c.to}`));
  assert.throws(() => call.transition('answered'), CallStateError, 'routing cannot jump to answered');
  assert.equal(call.state, 'routing');
  call.transition('proceeding');
  call.transition('early');
  assert.throws(() => call.transition('early'), CallStateError, 'no move to the same state');
  assert.throws(() => call.transition('proceeding'), CallStateError, 'no way back');
  let answered = 0;
  call.on('answered', () => answered++);
  call.transition('answered');
  const ended = new Promise<CallEnd>((resolve) => call.on('ended', resolve));
  await call.end(200, 'bye', 'b');
  const end = await ended;
  assert.deepEqual([end.status, end.endedBy, end.cause], [200, 'b', 'hangup']);
  assert.throws(() => call.transition('answered'), CallStateError, 'ended is terminal');
  assert.deepEqual(seen, ['routing>proceeding', 'proceeding>early', 'early>answered', 'answered>ended']);
  assert.equal(answered, 1);
});

test('a dialog set on a call that already ended is hung up at once', async () => {
  const calls = new CallRegistry(silent);
  const call = calls.create({ direction: 'inbound', aCallId: 'a', from: 'u', to: 'n' });
  await call.end(487, 'canceled', 'a');
  const late = new ScriptedDialog();
  call.setDialog('b', asDialog(late));
  assert.equal(late.byes, 1);
  assert.equal(call.bDialog, null);
});

test('the snapshot is plain data: it survives JSON and carries both dialogs', () => {
  const calls = new CallRegistry(silent);
  const call = calls.create({ direction: 'outbound', aCallId: 'a', from: 'u', to: 'n' });
  const updates: string[] = [];
  call.on('updated', (w) => updates.push(w));
  call.linkDialogs(asDialog(new ScriptedDialog()), asDialog(new ScriptedDialog()));
  const snap = call.snapshot();
  assert.deepEqual(JSON.parse(JSON.stringify(snap)), snap);
  assert.equal(snap.version, 1);
  assert.deepEqual(snap.legs.a.dialog, { callId: 'x' });
  assert.deepEqual(updates, ['a-dialog', 'b-dialog']);
});
