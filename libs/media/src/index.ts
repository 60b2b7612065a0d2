// Public surface of @trapezoid/media.
export { emptyLegStats } from './leg.js';
export type { LegState, LegStats, MediaLeg, PacketSink } from './leg.js';
export { WebRtcLeg } from './webrtc/webrtc-leg.js';
export type {
  WebRtcLegOptions, WebRtcLegState, WebRtcLegMarks, WebRtcLocalParameters, WebRtcRemoteParameters, DtlsSetup,
} from './webrtc/parameters.js';
export { getCertificate, generateCertificate, useCertificate } from './webrtc/certificate.js';
export type { DtlsCertificate } from './webrtc/certificate.js';
export { generateIceCredentials, IceLiteAgent, CheckResult } from './webrtc/ice-lite.js';
// The browser's side of ICE (controlling, aggressive nomination): load client and tests.
export { IceControllingAgent } from './webrtc/ice-controlling.js';
export type { IceControllingOptions } from './webrtc/ice-controlling.js';
// The legs' UDP socket (native addon or dgram), for tools that speak media themselves.
export { bindMediaSocket } from './net/media-socket.js';
export type { MediaSocket } from './net/media-socket.js';
export type { IceCredentials, SelectedPair } from './webrtc/ice-lite.js';
export type { RemoteFingerprint } from './webrtc/dtls-verify.js';
export { createDtlsSession, dtlsImplementation, prepareDtls } from './webrtc/dtls.js';
export type { DtlsImplementation, DtlsResult, DtlsRole, DtlsSession, DtlsSessionOptions } from './webrtc/dtls.js';
// SRTP (RFC 3711, RFC 7714), DTLS-SRTP keys (RFC 5764), SDES (RFC 4568).
export { SrtpContext } from './srtp/context.js';
export type { SrtpContextState, SrtpStreamState } from './srtp/context.js';
export { SRTP_PROFILE_IDS, SRTP_MAX_OVERHEAD, srtpProfileFromId, isSrtpProfile, srtpMasterSaltLength, srtpRtpOverhead, srtpRtcpOverhead } from './srtp/profile.js';
export type { SrtpProfile, SrtpKeys } from './srtp/profile.js';
export { srtpKeysFromDtls, dtlsSrtpKeyingMaterialLength, DTLS_SRTP_EXPORTER_LABEL } from './srtp/dtls-keys.js';
export { parseSdesCrypto, makeSdesCrypto, generateSrtpKeys } from './srtp/sdes.js';
export type { SdesCrypto } from './srtp/sdes.js';
// RTP/RTCP helpers, RTP and SDES legs, bridge, port allocation.
export * as rtpHeader from './rtp/header.js';
export { RtpReceiveStats } from './rtp/stats.js';
export { writeRtcpReport, readRtcpCompound } from './rtp/rtcp.js';
export { RtpLeg } from './rtp/rtp-leg.js';
export type { RtpLegOptions, RtpLegState, PlainRtpLegState, TransportAddress } from './rtp/rtp-leg.js';
export { SdesLeg } from './rtp/sdes-leg.js';
export type { SdesLegOptions, SdesLegState } from './rtp/sdes-leg.js';
export { Bridge } from './bridge/bridge.js';
export type { BridgeOptions, BridgeState, BridgeSide } from './bridge/bridge.js';
export type { DirectionState } from './bridge/rewrite.js';
export { PortAllocator } from './ports/allocator.js';
export type { PortRange } from './ports/allocator.js';
export { MediaEngine, EngineError } from './engine/engine.js';
export type { MediaEngineOptions, BridgesLost } from './engine/engine.js';
export { BRIDGE_COUNTERS_WIDTH, BRIDGE_STATE_VERSION, LEG_STATS_FIELDS, MediaStateError, decodeBridgeState } from './engine/protocol.js';
export { counterAt, legStatsAt } from './engine/counters.js';
export { MAX_SEND_JUMP, advanceSendState, sendJump } from './engine/takeover-jump.js';
export type { SendJump, SendJumpOptions } from './engine/takeover-jump.js';
export type {
  BridgeCore, BridgeCounters, CountersTable, BridgeDescription, BridgeOptionsSpec, BridgeSpec, BridgeState as EngineBridgeState, BridgeStats, BridgeUpdate,
  CertificatePem, IceTimeoutDetail, LegChange, LegDescription, LegEvent, LegEventName, LegSignalEvent, LegWatchEvent, MediaTimeoutDetail, MediaWatch, LegReplacement, LegSpec, RtpLegDescription, RtpLegSpec,
  RtpRemoteChange, SdesLegSpec, WebRtcLegDescription, WebRtcLegSpec, WebRtcRemoteChange, SrtpProfileName, WorkerUsage,
  TransportAddress as EngineTransportAddress,
} from './engine/protocol.js';
// The native fast path (libs/media/native): why this build runs without it (null = it runs).
export { nativeUnavailableReason } from './native/binding.js';
// Which forwarding and DTLS implementation this process runs, for the start-up log.
export { mediaPaths } from './paths.js';
export type { MediaPaths } from './paths.js';
