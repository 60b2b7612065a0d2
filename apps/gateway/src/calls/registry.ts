// The live calls of one gateway: made here (new, or adopted from a dead node), counted,
// and forgotten when they end; observers (metrics, call records, the admin API) hear
// about all of them through typed events.

import { EventEmitter } from 'node:events';
import type { Logger } from '../logging.js';
import { Call, type CallRecord, type CallState } from './call.js';

/**
 * What observers (metrics, call records, the media monitor, the admin API) hear about
 * all calls, without reaching into call flows: 'started' once the call exists, 'state'
 * on each move (proceeding, early, answered), 'ended' once it is released (record
 * complete: end status, reason, who hung up, media closed). One call's own events are
 * CallEvents.
 */
export interface CallRegistryEvents {
  started: [call: Call];
  state: [call: Call, state: Exclude<CallState, 'ended'>];
  ended: [call: Call];
  /** Taken over from a dead node and carried on here ('started' was another node's). */
  adopted: [call: Call];
  /** Let go because another node owns it now (no 'ended' here: the new owner ends it). */
  handedOver: [call: Call];
}

/** Owns the live calls; tests and /health read its counters. */
export class CallRegistry extends EventEmitter<CallRegistryEvents> {
  private readonly calls = new Map<string, Call>();
  /** Calls ever started and ended, for tests and metrics. */
  started = 0;
  completed = 0;

  constructor(private readonly log: Logger) {
    super();
  }

  create(init: Pick<CallRecord, 'direction' | 'aCallId' | 'from' | 'to'>): Call {
    const call = this.make(init);
    this.started++;
    call.log.info('call started', { event: 'call-started', from: init.from, to: init.to });
    this.emit('started', call);
    return call;
  }

  /** A call another node started, carried on here (takeover): same id, not counted as started. */
  adopt(init: Pick<CallRecord, 'id' | 'direction' | 'aCallId' | 'from' | 'to'>): Call {
    const call = this.make(init);
    call.log.info('call taken over', { event: 'call-taken-over', from: init.from, to: init.to });
    this.emit('adopted', call);
    return call;
  }

  private make(init: Pick<CallRecord, 'direction' | 'aCallId' | 'from' | 'to'> & { id?: string }): Call {
    const call = new Call(init, this.log, (c) => {
      this.calls.delete(c.id);
      if (c.handedOver) {
        this.emit('handedOver', c);
        return;
      }
      this.completed++;
      this.emit('ended', c);
    });
    call.on('state', ({ to }) => {
      if (to !== 'ended') this.emit('state', call, to);
    });
    this.calls.set(call.id, call);
    return call;
  }

  get live(): number {
    return this.calls.size;
  }

  list(): Call[] {
    return [...this.calls.values()];
  }

  get(id: string): Call | undefined {
    return this.calls.get(id);
  }

  /** Ends every call (shutdown). */
  async endAll(reason: string): Promise<void> {
    await Promise.allSettled(this.list().map((c) => c.end(503, reason, 'gateway', 'shutdown')));
  }
}
