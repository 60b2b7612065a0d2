// The far side of the bridge in the browser test: a plain RTP/AVP endpoint on loopback
// that echoes every RTP packet back, with its SSRC changed so Chrome sees a stream of
// its own (the one the answer's a=ssrc announced) rather than a looped copy of its own.
import { createSocket, type Socket } from 'node:dgram';

export interface RtpEcho {
  port: number;
  echoed: number;
  /** SSRC to send back with (when the browser could not have told it to us); else ours ^ ECHO_SSRC_XOR. */
  ssrc: number | null;
  close(): Promise<void>;
}

export const ECHO_SSRC_XOR = 0x5a5a5a5a;

export async function startRtpEcho(): Promise<RtpEcho> {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const echo: RtpEcho = {
    port: socket.address().port,
    echoed: 0,
    ssrc: null,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, rinfo) => {
    // RTP only (RFC 5761 §4: RTCP types 192-223 are not echoed).
    if (msg.length < 12 || (msg[0]! & 0xc0) !== 0x80 || (msg[1]! >= 192 && msg[1]! <= 223)) return;
    msg.writeUInt32BE(echo.ssrc ?? (msg.readUInt32BE(8) ^ ECHO_SSRC_XOR) >>> 0, 8);
    socket.send(msg, rinfo.port, rinfo.address);
    echo.echoed++;
  });
  return echo;
}
