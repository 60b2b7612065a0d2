// The UDP socket a media leg owns. Two implementations behind one shape: the native
// addon's socket (libs/media/native), which can also forward RTP on its own once a bridge
// installs a route (bridge/fast-route.ts), and node:dgram, the TypeScript fallback when
// the addon is not built or TRAPEZOID_MEDIA__NATIVE=false. Addresses are always IP literals.
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { loadNativeBinding, type NativeBinding } from '../native/binding.js';

export type DatagramHandler = (msg: Buffer, address: string, port: number) => void;

export interface MediaSocket {
  /** The addon's socket id (> 0) when native, 0 for dgram: only native sockets take routes. */
  readonly nativeId: number;
  readonly localPort: number;
  /** Receives every datagram (the native fast path's leftovers); until set, datagrams are dropped. */
  onMessage: DatagramHandler | null;
  send(buf: Buffer, offset: number, length: number, port: number, address: string): void;
  /**
   * Restricts the socket to one peer where the implementation gains from it (dgram: a
   * connected send skips the address lookup); false if it does not connect.
   */
  connect(port: number, address: string): boolean;
  disconnect(): void;
  /** Sends to the connected peer (only after connect() returned true). */
  sendConnected(buf: Buffer, offset: number, length: number): void;
  close(): Promise<void>;
}

export interface BindOptions {
  /** Use the native socket if the addon is loaded (default true). */
  native?: boolean;
}

/** Binds address:port (0 = any). Errors carry the errno code (EADDRINUSE for PortAllocator.bindNext). */
export async function bindMediaSocket(address: string, port: number, opts: BindOptions = {}): Promise<MediaSocket> {
  const native = opts.native === false ? null : loadNativeBinding();
  if (native !== null) return new NativeMediaSocket(native, address, port);
  return DgramMediaSocket.bind(address, port);
}

class NativeMediaSocket implements MediaSocket {
  readonly nativeId: number;
  readonly localPort: number;
  onMessage: DatagramHandler | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly binding: NativeBinding, address: string, port: number) {
    // open() throws synchronously with .code set; bindMediaSocket's caller sees a rejection.
    this.nativeId = binding.open(address, port, (msg, from, fromPort) => this.onMessage?.(msg, from, fromPort));
    this.localPort = binding.localPort(this.nativeId);
  }

  send(buf: Buffer, offset: number, length: number, port: number, address: string): void {
    this.binding.send(this.nativeId, buf, offset, length, address, port);
  }

  // The native fast path filters by source itself; a connected fd would hide new sources from JS.
  connect(): boolean {
    return false;
  }

  disconnect(): void { /* never connected */ }

  sendConnected(): void {
    throw new Error('native media sockets are never connected');
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => this.binding.close(this.nativeId, resolve));
    return this.closing;
  }
}

// The last address checked: an unconnected socket looks up its peer on every send, and
// isIP() is a regular expression per packet.
let lastLiteral = '';
let lastFamily = 0;

/** Resolves IP literals synchronously: dgram's default dns.lookup defers every send to the next tick. */
function literalLookup(address: string, _family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  if (address !== lastLiteral) {
    const family = isIP(address);
    if (family === 0) {
      callback(new Error(`media addresses must be IP literals: ${address}`), address, 4);
      return;
    }
    lastLiteral = address;
    lastFamily = family;
  }
  callback(null, address, lastFamily);
}

class DgramMediaSocket implements MediaSocket {
  readonly nativeId = 0;
  onMessage: DatagramHandler | null = null;
  private closing: Promise<void> | null = null;

  private constructor(private readonly socket: Socket, readonly localPort: number) {}

  static bind(address: string, port: number): Promise<MediaSocket> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4', lookup: literalLookup as never });
      const onError = (err: Error): void => {
        s.close();
        reject(err);
      };
      s.once('error', onError);
      s.bind({ address, port, exclusive: true }, () => {
        s.off('error', onError);
        const socket = new DgramMediaSocket(s, s.address().port);
        s.on('message', (msg, rinfo) => socket.onMessage?.(msg, rinfo.address, rinfo.port));
        // ICMP errors on a UDP socket: the peer is gone or not there yet; keep going.
        s.on('error', () => undefined);
        resolve(socket);
      });
    });
  }

  send(buf: Buffer, offset: number, length: number, port: number, address: string): void {
    this.socket.send(buf, offset, length, port, address);
  }

  connect(port: number, address: string): boolean {
    // literalLookup is synchronous, so the connect completes inside this call.
    try {
      this.socket.connect(port, address);
      return true;
    } catch {
      return false;
    }
  }

  disconnect(): void {
    try { this.socket.disconnect(); } catch { /* not connected */ }
  }

  sendConnected(buf: Buffer, offset: number, length: number): void {
    this.socket.send(buf, offset, length);
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.closing;
  }
}
