// The leg's UDP socket. Addresses here are always IP literals.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

export function bind(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Addresses here are always IP literals: an identity lookup makes send() synchronous
    // (dgram otherwise defers every send through dns.lookup to the next tick).
    const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', lookup: identityLookup });
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function identityLookup(host: string, family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  callback(null, host, family === 6 || isIPv6(host) ? 6 : 4);
}
