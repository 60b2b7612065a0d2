// The gateway's logger: lines below logging.level are skipped before winston formats
// them (a call's setup logs several at info), without losing what a transport with a
// level of its own asks for, and per-call child loggers keep their fields and redaction.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import TransportStream from 'winston-transport';
import { createLogger } from './logging.js';

const MESSAGE = Symbol.for('message');

class Lines extends TransportStream {
  readonly lines: Record<string, unknown>[] = [];
  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.lines.push(JSON.parse(String(info[MESSAGE])) as Record<string, unknown>);
    next();
  }
}

function loggerWith(level: string, transportLevel?: string): { log: ReturnType<typeof createLogger>; out: Lines } {
  const log = createLogger(level);
  const out = new Lines(transportLevel ? { level: transportLevel } : {});
  log.clear();
  log.add(out);
  return { log, out };
}

describe('gateway logger', () => {
  test('at warn, a call logger writes its warn and error lines and none of its info or debug lines', () => {
    const { log, out } = loggerWith('warn');
    const call = log.child({ callId: 'c1' });
    call.info('call state', { event: 'state', to: 'answered' });
    call.debug('detail');
    call.warn('trunk slow', { event: 'trunk-slow' });
    call.error('media lost', { event: 'media-lost' });
    assert.deepEqual(out.lines.map((l) => [l.level, l.message, l.callId, l.service]), [
      ['warn', 'trunk slow', 'c1', 'trapezoid'],
      ['error', 'media lost', 'c1', 'trapezoid'],
    ]);
  });

  test('a transport with its own level gets the lines it asks for from a logger set higher (as the test harness does)', () => {
    const { log, out } = loggerWith('warn', 'debug');
    const call = log.child({ callId: 'c2' });
    call.info('call state', { event: 'state', to: 'answered' });
    call.debug('detail', { event: 'detail' });
    call.silly('below the transport');
    assert.deepEqual(out.lines.map((l) => [l.level, l.event, l.callId]), [['info', 'state', 'c2'], ['debug', 'detail', 'c2']]);
  });

  test('lines that are written still have their secrets redacted and a timestamp', () => {
    const { log, out } = loggerWith('info');
    log.child({ callId: 'c3' }).info('sent', { uri: 'sip:alice@example.com;token=s3cr3t-t0ken' });
    assert.equal(out.lines.length, 1);
    const line = out.lines[0]!;
    assert.doesNotMatch(JSON.stringify(line), /s3cr3t-t0ken/);
    assert.equal(line.callId, 'c3');
    assert.ok(!Number.isNaN(Date.parse(String(line.timestamp))), `timestamp: ${String(line.timestamp)}`);
  });
});
