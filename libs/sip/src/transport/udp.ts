// UDP listening points (RFC 3261 §18): one datagram socket each, which also sends
// every request and response that leaves over UDP from that address (RFC 3581 §4:
// responses must leave from where the request arrived, or NATs drop them).

import * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { TransportInfo } from '../message/index.js';
import { addressFamily, normalizeAddress } from './address.js';
import { TransportError, type ListeningPoint } from './types.js';

export class UdpPoint {
  readonly point: ListeningPoint;
  readonly family: 4 | 6;
  /** An IPv6 wildcard socket that also carries IPv4 (IPv4-mapped addresses). */
  readonly dualStack: boolean;

  constructor(
    private readonly socket: dgram.Socket,
    address: string,
    port: number,
    private readonly onDatagram: (data: Buffer, info: TransportInfo) => void,
  ) {
    this.family = addressFamily(address);
    this.dualStack = address === '::';
    this.point = { protocol: 'udp', address, port };
    socket.on('message', (data, rinfo) => {
      this.onDatagram(data, {
        protocol: 'udp',
        localAddress: address,
        localPort: port,
        remoteAddress: normalizeAddress(rinfo.address),
        remotePort: rinfo.port,
      });
    });
    // ICMP errors and the like are per-destination, never the layer's failure.
    socket.on('error', () => undefined);
  }

  async send(data: Buffer, address: string, port: number): Promise<TransportInfo> {
    let to = address;
    if (isIP(to) === 0) {
      try {
        to = (await lookup(to, { family: this.dualStack ? 0 : this.family })).address;
      } catch (err) {
        throw new TransportError(`cannot resolve ${address}`, { cause: err });
      }
    }
    if (this.dualStack && isIP(to) === 4) to = '::ffff:' + to;
    await new Promise<void>((resolve, reject) => {
      this.socket.send(data, port, to, (err) => {
        if (err) reject(new TransportError(`udp send to ${address}:${port} failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
    return {
      protocol: 'udp',
      localAddress: this.point.address,
      localPort: this.point.port,
      remoteAddress: normalizeAddress(to),
      remotePort: port,
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}

export function openUdp(
  address: string,
  port: number,
  onDatagram: (data: Buffer, info: TransportInfo) => void,
): Promise<UdpPoint> {
  // A burst of INVITEs overflows the default ~208 KiB receive buffer long before the
  // CPU is busy (seen at 3,000 calls/s with sipp): ask for 4 MiB; the kernel caps it
  // at net.core.rmem_max.
  const socket = dgram.createSocket({ type: addressFamily(address) === 6 ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close();
      reject(new TransportError(`udp listen on ${address}:${port} failed: ${err.message}`, { cause: err }));
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(new UdpPoint(socket, address, socket.address().port, onDatagram));
    });
  });
}
