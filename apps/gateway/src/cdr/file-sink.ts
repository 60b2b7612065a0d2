// Call records as JSON lines appended to a file: one line per call, written through a
// stream so a slow disk never holds up a call. reopen() (SIGHUP) starts writing to a
// fresh file at the same path after logrotate has moved the old one away.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from '../logging.js';

export class CdrFileSink {
  private stream: WriteStream;

  constructor(private readonly path: string, private readonly log: Logger, private readonly onResult: (ok: boolean) => void) {
    this.stream = this.open();
  }

  private open(): WriteStream {
    const s = createWriteStream(this.path, { flags: 'a', mode: 0o640 });
    s.on('error', (err) => this.log.error('call record file failed', { event: 'cdr-file-error', path: this.path, error: String(err) }));
    return s;
  }

  write(line: string, callId: string): void {
    this.stream.write(`${line}\n`, (err) => {
      if (err) this.log.warn('call record not written', { event: 'cdr-file-error', callId, error: String(err) });
      this.onResult(!err);
    });
  }

  reopen(): void {
    const old = this.stream;
    this.stream = this.open();
    old.end();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}
