// One SRTP cryptographic context direction (RFC 3711 §3.2): one master key, and per SSRC
// the rollover counter, highest sequence number and replay windows. protect* and
// unprotect* work in place and never throw on bad packets: a failure is -1.
import { rtcpSenderSsrc, rtpHeaderLength, rtpSequence, rtpSsrc } from '../rtp/header.js';
import { deriveSessionKeySet, type SessionKeySet, type SessionKeySource } from './kdf.js';
import { SRTP_MASTER_KEY_LENGTH, isSrtpProfile, srtpMasterSaltLength, type SrtpKeys, type SrtpProfile } from './profile.js';
import { SrtpStream } from './replay.js';
import { AesCmTransform } from './transform-cm.js';
import { AesGcmTransform } from './transform-gcm.js';
import type { SrtpTransform } from './transform.js';

/** SSRCs remembered per context; a flood of forged SSRCs cannot grow it (state is made only after authentication). */
const MAX_STREAMS = 32;

export interface SrtpStreamState {
  ssrc: number;
  roc: number;
  seq: number;
  started: boolean;
  window: [number, number];
  rtcpSendIndex: number;
  rtcpHighest: number;
  rtcpWindow: [number, number];
}

export interface SrtpContextState {
  profile: SrtpProfile;
  /** hex */
  masterKey: string;
  /** hex */
  masterSalt: string;
  streams: SrtpStreamState[];
}

export function makeSrtpTransform(profile: SrtpProfile, keys: SessionKeySource): SrtpTransform {
  return profile === 'AEAD_AES_128_GCM' ? new AesGcmTransform(keys) : new AesCmTransform(keys);
}

export class SrtpContext implements SessionKeySource {
  readonly rtpOverhead: number;
  readonly rtcpOverhead: number;
  private readonly transform: SrtpTransform;
  private readonly streams = new Map<number, SrtpStream>();
  private last: SrtpStream | null = null;
  /**
   * Master key || master salt, 30 bytes (28 with GCM) in one small buffer: the session keys
   * are derived from it when a transform or the native fast path needs them, not kept
   * (six buffers and a copy of the master key and salt per context were ~2 KiB a call).
   */
  private readonly master: Buffer;

  constructor(readonly profile: SrtpProfile, keys: SrtpKeys) {
    if (!isSrtpProfile(profile)) throw new Error(`unsupported SRTP profile ${String(profile)}`);
    const saltLength = srtpMasterSaltLength(profile);
    if (keys.masterKey.length !== SRTP_MASTER_KEY_LENGTH || keys.masterSalt.length !== saltLength) {
      throw new Error(`${profile} needs a ${SRTP_MASTER_KEY_LENGTH}-byte master key and ${saltLength}-byte master salt`);
    }
    const master = (this.master = Buffer.alloc(SRTP_MASTER_KEY_LENGTH + saltLength));
    for (let i = 0; i < SRTP_MASTER_KEY_LENGTH; i++) master[i] = keys.masterKey[i]!;
    for (let i = 0; i < saltLength; i++) master[SRTP_MASTER_KEY_LENGTH + i] = keys.masterSalt[i]!;
    this.transform = makeSrtpTransform(profile, this);
    this.rtpOverhead = this.transform.rtpOverhead;
    this.rtcpOverhead = this.transform.rtcpOverhead;
  }

  /** Encrypts and authenticates RTP in place; `buf` needs rtpOverhead spare bytes after len. Returns the new length or -1. */
  protectRtp(buf: Buffer, len: number): number {
    const hdr = rtpHeaderLength(buf, len);
    if (hdr < 0) return -1;
    const ssrc = rtpSsrc(buf);
    const seq = rtpSequence(buf);
    const s = this.stream(ssrc, true) as SrtpStream;
    const index = s.nextSendIndex(seq);
    return this.transform.protectRtp(buf, hdr, len, ssrc, Math.floor(index / 65536), seq);
  }

  /** Authenticates, replay-checks and decrypts SRTP in place: plain length, or -1. */
  unprotectRtp(buf: Buffer, len: number): number {
    const hdr = rtpHeaderLength(buf, len - this.rtpOverhead);
    if (hdr < 0) return -1;
    const ssrc = rtpSsrc(buf);
    const seq = rtpSequence(buf);
    const s = this.stream(ssrc, false);
    let index = s !== null ? s.estimateIndex(seq) : seq;
    let plain = -1;
    if (index >= 0 && (s === null || s.checkReplay(index))) {
      plain = this.transform.unprotectRtp(buf, hdr, len, ssrc, Math.floor(index / 65536), seq);
    }
    if (plain < 0 && s !== null && s.started) {
      // RFC 3711 §3.3.1 guesses the rollover counter from the last sequence number; a
      // sender that jumped 2^15 or more ahead (a long hold, a restarted sender keeping its
      // SSRC) is taken for an old packet of the previous ROC (too old, or before ROC 0).
      // Authentication tells: one more try with the next ROC, only for packets that
      // failed (a failed check leaves the packet as it was).
      index = s.forwardIndex(seq);
      plain = this.transform.unprotectRtp(buf, hdr, len, ssrc, Math.floor(index / 65536), seq);
    }
    if (plain < 0) return -1;
    (s ?? (this.stream(ssrc, true) as SrtpStream)).accept(index);
    return plain;
  }

  /** Encrypts and authenticates RTCP in place (rtcpOverhead spare bytes needed): new length or -1. */
  protectRtcp(buf: Buffer, len: number): number {
    if (len < 8) return -1;
    const ssrc = rtcpSenderSsrc(buf);
    const s = this.stream(ssrc, true) as SrtpStream;
    const index = s.rtcpSendIndex;
    const out = this.transform.protectRtcp(buf, len, ssrc, index);
    if (out > 0) s.rtcpSendIndex = (index + 1) & 0x7fffffff;
    return out;
  }

  /** Authenticates, replay-checks and decrypts SRTCP in place: plain length, or -1. */
  unprotectRtcp(buf: Buffer, len: number): number {
    if (len < 8 + this.rtcpOverhead) return -1;
    const ssrc = rtcpSenderSsrc(buf);
    const at = len - this.transform.rtcpIndexFromEnd;
    const eIndex = ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
    const index = eIndex & 0x7fffffff;
    const s = this.stream(ssrc, false);
    if (s !== null && !s.checkRtcpReplay(index)) return -1;
    const plain = this.transform.unprotectRtcp(buf, len, ssrc, eIndex);
    if (plain < 0) return -1;
    (s ?? (this.stream(ssrc, true) as SrtpStream)).acceptRtcp(index);
    return plain;
  }

  /** Session keys (RFC 3711 §4.3) derived anew from the master key: the transform's SessionKeySource. */
  sessionKeys(rtcp: boolean): SessionKeySet {
    return deriveSessionKeySet(this.master, this.master.length - SRTP_MASTER_KEY_LENGTH, rtcp);
  }

  /** The RTP session keys for the native fast path that takes over RTP (it copies them). */
  get rtpSessionKeys(): { key: Buffer; salt: Buffer; auth: Buffer } {
    const k = this.sessionKeys(false);
    return this.profile === 'AEAD_AES_128_GCM' ? { key: k.key, salt: k.salt, auth: Buffer.alloc(0) } : k;
  }

  /** The per-SSRC state (made if `create`), whose SRTP fields the native fast path borrows. */
  streamState(ssrc: number, create: boolean): SrtpStream | null {
    return this.stream(ssrc >>> 0, create);
  }

  /** Keys, ROCs, highest sequence numbers and windows: JSON-safe, for takeover. */
  exportState(): SrtpContextState {
    const streams: SrtpStreamState[] = [];
    for (const s of this.streams.values()) {
      streams.push({
        ssrc: s.ssrc, roc: s.roc, seq: s.seq, started: s.started, window: [s.windowLow, s.windowHigh],
        rtcpSendIndex: s.rtcpSendIndex, rtcpHighest: s.rtcpHighest, rtcpWindow: [s.rtcpWindowLow, s.rtcpWindowHigh],
      });
    }
    return { profile: this.profile, masterKey: this.master.toString('hex', 0, SRTP_MASTER_KEY_LENGTH), masterSalt: this.master.toString('hex', SRTP_MASTER_KEY_LENGTH), streams };
  }

  static fromState(state: SrtpContextState): SrtpContext {
    const ctx = new SrtpContext(state.profile, {
      masterKey: Buffer.from(state.masterKey, 'hex'),
      masterSalt: Buffer.from(state.masterSalt, 'hex'),
    });
    for (const st of state.streams ?? []) {
      const s = ctx.stream(st.ssrc >>> 0, true) as SrtpStream;
      s.roc = st.roc;
      s.seq = st.seq;
      s.started = st.started;
      s.windowLow = st.window[0] | 0;
      s.windowHigh = st.window[1] | 0;
      s.rtcpSendIndex = st.rtcpSendIndex;
      s.rtcpHighest = st.rtcpHighest;
      s.rtcpWindowLow = st.rtcpWindow[0] | 0;
      s.rtcpWindowHigh = st.rtcpWindow[1] | 0;
    }
    return ctx;
  }

  private stream(ssrc: number, create: boolean): SrtpStream | null {
    const last = this.last;
    if (last !== null && last.ssrc === ssrc) return last;
    let s = this.streams.get(ssrc);
    if (s === undefined) {
      if (!create) return null;
      if (this.streams.size >= MAX_STREAMS) {
        const oldest = this.streams.keys().next().value as number;
        this.streams.delete(oldest);
      }
      s = new SrtpStream(ssrc);
      this.streams.set(ssrc, s);
    }
    this.last = s;
    return s;
  }
}
