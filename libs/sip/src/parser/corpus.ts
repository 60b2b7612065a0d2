// Our own message corpus: what RFC 4475 lacks and a WebRTC gateway sees every
// day (IPv6 references, tel and sips URIs, compact forms, multi-value headers,
// RFC 7118 WebSocket Vias, big bodies, a JsSIP/Chromium INVITE). Used by the
// corpus and fuzz tests and by bench/sip-parse.mjs; not part of the public API.

/** Joins header lines with CRLF and appends a body with its true Content-Length. */
function message(lines: string[], body = ''): string {
  const len = Buffer.byteLength(body, 'utf8');
  return lines.join('\r\n') + '\r\nContent-Length: ' + len + '\r\n\r\n' + body;
}

const sdpLines = (...l: string[]): string => l.join('\r\n') + '\r\n';

/** Chromium's offer as JsSIP 3.x sends it (Unified Plan, BUNDLE, DTLS-SRTP, ICE). */
export const CHROMIUM_OFFER = sdpLines(
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS 5b6c0f3e-9d1a-4e2b-8c7d-1f2e3d4c5b6a',
  'm=audio 54712 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
  'c=IN IP4 192.0.2.10',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=candidate:2999745851 1 udp 2122260223 192.0.2.10 54712 typ host generation 0 network-id 1',
  'a=candidate:1259112847 1 tcp 1518280447 192.0.2.10 9 typ host tcptype active generation 0 network-id 1',
  'a=ice-ufrag:k3Lq',
  'a=ice-pwd:Wq8sZr0u3T7n4BbmD1pXy9Ev',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08',
  'a=setup:actpass',
  'a=mid:0',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=sendrecv',
  'a=msid:5b6c0f3e-9d1a-4e2b-8c7d-1f2e3d4c5b6a 0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:13 CN/8000',
  'a=rtpmap:110 telephone-event/48000',
  'a=rtpmap:126 telephone-event/8000',
  'a=ssrc:1820463216 cname:YpQ0cWmXkR4tZ2vN',
  'a=ssrc:1820463216 msid:5b6c0f3e-9d1a-4e2b-8c7d-1f2e3d4c5b6a 0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5',
);

const TRUNK_ANSWER = sdpLines(
  'v=0',
  'o=trunk 1699 1700 IN IP4 203.0.113.7',
  's=session',
  'c=IN IP4 203.0.113.7',
  't=0 0',
  'm=audio 30000 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
);

export const CORPUS: Readonly<Record<string, string>> = {
  'jssip-invite': message([
    'INVITE sip:+14155550100@gateway.example.com SIP/2.0',
    'Via: SIP/2.0/WSS 3k8d2mf9q1ab.invalid;branch=z9hG4bK5371823',
    'Max-Forwards: 69',
    'To: <sip:+14155550100@gateway.example.com>',
    'From: "Agent 7" <sip:agent7@example.com>;tag=3gq0r4bpi4',
    'Call-ID: p3fbd4m0kq6i2r8t1s7u',
    'CSeq: 6853 INVITE',
    'Authorization: Digest algorithm=MD5, username="agent7", realm="example.com", nonce="ZmFrZW5vbmNlMTIz", uri="sip:+14155550100@gateway.example.com", response="0f7a3b5c9d1e2f40a1b2c3d4e5f60718"',
    'Contact: <sip:q8v2n1c4@3k8d2mf9q1ab.invalid;transport=ws;ob>',
    'Content-Type: application/sdp',
    'Session-Expires: 90',
    'Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY',
    'Supported: timer,ice,replaces,outbound',
    'User-Agent: JsSIP 3.13.8',
  ], CHROMIUM_OFFER),

  'ws-register': message([
    // RFC 7118 §8.1, with the Via transport WS and an .invalid host
    'REGISTER sip:proxy.example.com SIP/2.0',
    'Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKasudf;rport',
    'From: sip:alice@example.com;tag=65bnmj.34asd',
    'To: sip:alice@example.com',
    'Call-ID: aiuy7k9njasd',
    'CSeq: 1 REGISTER',
    'Max-Forwards: 70',
    'Supported: path, outbound, gruu',
    'Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>;reg-id=1;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";expires=600',
  ]),

  'ipv6-invite': message([
    'INVITE sip:bob@[2001:db8::10]:5070;transport=udp SIP/2.0',
    'Via: SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKas3-111;rport;received=2001:db8::9:255',
    'Via: SIP/2.0/TCP [2001:db8::1];branch=z9hG4bKpx9',
    'Max-Forwards: 70',
    'From: "Alice" <sip:alice@[2001:db8::9:1]>;tag=iwar',
    'To: <sip:bob@[2001:db8::10]>',
    'Call-ID: SSG9559905523997077@hlau_4100',
    'CSeq: 8 INVITE',
    'Contact: <sip:alice@[2001:db8::9:1]:5060;transport=udp>',
    'Content-Type: application/sdp',
  ], sdpLines('v=0', 'o=alice 2890844526 2890844526 IN IP6 2001:db8::9:1', 's=-', 'c=IN IP6 2001:db8::9:1', 't=0 0', 'm=audio 49217 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000')),

  'tel-invite': message([
    'INVITE tel:+1-201-555-0123;phone-context=+1 SIP/2.0',
    'Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds',
    'Max-Forwards: 70',
    'To: <tel:+12015550123>',
    'From: "Caller" <tel:7042;phone-context=example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.example.com',
    'CSeq: 314159 INVITE',
    'P-Asserted-Identity: <tel:+12015550199>, <sip:+12015550199@example.com;user=phone>',
    'Contact: <sip:alice@pc33.example.com>',
  ]),

  'sips-options': message([
    'OPTIONS sips:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9',
    'Max-Forwards: 70',
    'From: Alice <sips:alice@atlanta.example.com>;tag=9fxced76sl',
    'To: Bob <sips:bob@biloxi.example.com>',
    'Call-ID: 3848276298220188511@atlanta.example.com',
    'CSeq: 2 OPTIONS',
    'Contact: <sips:alice@client.atlanta.example.com>',
    'Accept: application/sdp',
  ]),

  'compact-forms': message([
    'SUBSCRIBE sip:bob@example.com SIP/2.0',
    'v: SIP/2.0/TCP 192.0.2.4:5060;branch=z9hG4bKcmp1',
    'f: <sip:alice@example.com>;tag=abc',
    't: <sip:bob@example.com>',
    'i: compact-1@192.0.2.4',
    'CSeq: 1 SUBSCRIBE',
    'Max-Forwards: 70',
    'm: <sip:alice@192.0.2.4>',
    'o: dialog',
    'u: dialog, presence',
    'k: eventlist',
    's: compact everything',
    'x: 1800;refresher=uac',
    'c: application/dialog-info+xml',
  ]),

  'multi-value': message([
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/UDP proxy2.example.com;branch=z9hG4bK2d4790.1, SIP/2.0/UDP proxy1.example.com;branch=z9hG4bK9a1,SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKnashds7;received=192.0.2.201',
    'Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKlast',
    'From: <sip:bob@biloxi.example.com>;tag=a73kszlfl',
    'To: <sip:bob@biloxi.example.com>;tag=37GkEhwl6',
    'Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com',
    'CSeq: 1 REGISTER',
    'Contact: <sip:bob@192.0.2.4>;expires=3600, "Bob, mobile" <sip:bob@198.51.100.7;transport=tcp>;expires=1800;q=0.5',
    'Contact: sip:bob@203.0.113.9;expires=60',
    'Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
  ]),

  'big-message': message([
    'MESSAGE sip:agent@example.com SIP/2.0',
    'Via: SIP/2.0/TCP 198.51.100.3;branch=z9hG4bKbig1',
    'Max-Forwards: 70',
    'From: <sip:bot@example.com>;tag=big',
    'To: <sip:agent@example.com>',
    'Call-ID: big-body-1',
    'CSeq: 1 MESSAGE',
    'Content-Type: text/plain;charset=utf-8',
  ], 'Grüße aus dem Callcenter. '.repeat(1500)),

  'trunk-200': message([
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-trk-1;rport=5060;received=198.51.100.1',
    'Record-Route: <sip:203.0.113.7;lr;ftag=74fa>',
    'From: <sip:+14155550100@198.51.100.1>;tag=74fa',
    'To: <sip:+14155550100@203.0.113.7>;tag=as2d0fe3',
    'Call-ID: 8d2f6b1a@198.51.100.1',
    'CSeq: 102 INVITE',
    'Server: Asterisk PBX 20.5.0',
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE',
    'Supported: replaces, timer',
    'Session-Expires: 1800;refresher=uac',
    'Contact: <sip:+14155550100@203.0.113.7:5060>',
    'Content-Type: application/sdp',
  ], TRUNK_ANSWER),

  'refer-replaces': message([
    'REFER sip:trunk@203.0.113.7 SIP/2.0',
    'Via: SIP/2.0/WSS 3k8d2mf9q1ab.invalid;branch=z9hG4bK1188',
    'Max-Forwards: 70',
    'From: <sip:agent7@example.com>;tag=3gq0r4bpi4',
    'To: <sip:+14155550100@gateway.example.com>;tag=as2d0fe3',
    'Call-ID: p3fbd4m0kq6i2r8t1s7u',
    'CSeq: 6855 REFER',
    'Refer-To: <sip:supervisor@example.com?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>',
    'Referred-By: <sip:agent7@example.com>',
    'Contact: <sip:q8v2n1c4@3k8d2mf9q1ab.invalid;transport=ws;ob>',
  ]),
};
