// Transfer (RFC 3515) over the loopback network with a real media worker: a trunk's
// caller answered by an agent is blind-transferred by the agent's REFER to a second
// trunk, which takes the agent's place in the same bridge; progress reaches the agent as
// sipfrag NOTIFYs (RFC 3420); a failed transfer leaves the call as it was; a trunk's
// REFER is refused 403.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Dialog, IncomingRequest } from '@trapezoid/sip';
import { B, B2, BROWSER_ANSWER, BROWSER_OFFER, assertReleased, bench, nextRequest, sleep, trunkSdp, type Bench } from './test-support.js';

const PORTS = { min: 11600, max: 11699 };
const CT = 'application/sdp';

interface Inbound { trunk: Dialog; agent: Dialog; atAgent: IncomingRequest[]; atTrunk: IncomingRequest[] }

/** Trunk (a) -> agent (b), answered; REFERs dial the second trunk at B2. An INVITE to 3000 (the agent calling out) goes to B2. */
async function inbound(t: Bench): Promise<Inbound> {
  t.route = (req) => (req.message.uri.includes('3000') ? {
    profiles: { a: 'webrtc', b: 'rtp' }, policy: { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] },
    send: t.invite([{ uri: 'sip:3000@127.0.0.1:5090', destination: B2 }]), timeoutSeconds: 5, timeoutEvent: 'call-timeout',
  } : {
    profiles: { a: 'rtp', b: 'webrtc' }, policy: { codecs: ['PCMU', 'PCMA', 'telephone-event/8000'] },
    send: t.invite([{ uri: 'sip:agent@127.0.0.1:5080', destination: B }]), timeoutSeconds: 5, timeoutEvent: 'ring-timeout',
    transfer: {
      calls: t.calls, trunkRefer: 'refuse',
      // 4xxx numbers are browser agents (at B2, answering WebRTC), the others trunks (at B2 too).
      target: (number) => Promise.resolve({
        kind: number.startsWith('4') ? 'agent' : 'trunk',
        release: () => undefined,
        dial: (offer, referrer) => t.gw.request('INVITE', `sip:${number}@127.0.0.1:5090`, {
          from: '<sip:caller@gw.test>', to: `<sip:${number}@127.0.0.1>`, destination: B2, body: offer, contentType: CT, headers: { 'Referred-By': `<${referrer}>` },
        }),
      }),
    },
  });
  const invited = nextRequest(t.b, 'INVITE');
  const out = t.a.request('INVITE', 'sip:2000@127.0.0.1:5060', { body: trunkSdp(11700, { codecs: '0 8 101' }), contentType: CT });
  const inc = await invited;
  const agentDialog = inc.answer({ body: BROWSER_ANSWER, contentType: CT });
  assert.equal((await out.final).status, 200);
  const agent = await agentDialog;
  const atAgent: IncomingRequest[] = [];
  agent.on('request', (r: IncomingRequest) => { atAgent.push(r); r.reply(200); });
  const atTrunk: IncomingRequest[] = [];
  out.dialog!.on('request', (r: IncomingRequest) => {
    atTrunk.push(r);
    r.reply(200, r.method === 'INVITE' ? { body: trunkSdp(11700, { version: 2, direction: 'recvonly', codecs: '0 8 101' }), contentType: CT } : undefined);
  });
  for (let i = 0; i < 100 && t.started.at(-1)!.state !== 'answered'; i++) await sleep(5);
  return { trunk: out.dialog!, agent, atAgent, atTrunk };
}

const sipfrag = (r: IncomingRequest): string => `${r.message.body.toString().trim()} | ${r.message.headers.get('subscription-state') ?? ''}`;

describe('transfer (loopback SIP, real media worker)', () => {
  let t: Bench;
  before(async () => { t = await bench(PORTS); });
  after(async () => { await t.close(); });

  it('the agent\'s REFER connects the caller to a second trunk in the same bridge; NOTIFYs 100, 180, 200; the agent\'s leg ends', async () => {
    const x = await inbound(t);
    const call = t.started.at(-1)!;
    const target = nextRequest(t.b2, 'INVITE');
    const agentGone = new Promise<void>((resolve) => x.agent.once('terminated', () => resolve()));
    const refer = await x.agent.request('REFER', { headers: { 'Refer-To': '<sip:3000@gw.test>' } }).final;
    assert.equal(refer.status, 202);
    const inv = await target;
    const offer = inv.message.body.toString();
    assert.match(offer, /m=audio \d+ RTP\/AVP 0 101\r\n/, 'the codecs in force with the caller, its numbers');
    assert.match(inv.message.headers.get('referred-by') ?? '', /sip:/, 'Referred-By names the agent (RFC 3892)');
    inv.progress(180);
    await sleep(20);
    inv.answer({ body: trunkSdp(11702, { codecs: '0 101' }), contentType: CT }).catch(() => undefined);
    await agentGone;
    assert.deepEqual(x.atAgent.filter((r) => r.method === 'NOTIFY').map(sipfrag),
      ['SIP/2.0 100 Trying | active;expires=60', 'SIP/2.0 180 Ringing | active;expires=60', 'SIP/2.0 200 OK | terminated;reason=noresource']);
    assert.equal(x.atAgent.find((r) => r.method === 'NOTIFY')!.message.headers.get('event'), 'refer');
    const state = await t.engine.exportState(call.media!.id);
    const leg0 = state.legs[0] as { kind: string; remote: { port: number } };
    assert.deepEqual([leg0.kind, leg0.remote.port], ['rtp', 11702], 'the second trunk has the browser\'s place in the bridge');
    assert.deepEqual((state.bridge as { payloadTypes: number[][] }).payloadTypes, [[0, 0], [101, 101]]);
    assert.equal(call.state, 'answered', 'the caller\'s call goes on');
    assert.equal(x.atTrunk.length, 0, 'the caller was not re-INVITEd');
    // A hold from the new party is answered by the gateway; the caller is not bothered.
    const hold = await inv.createdDialog!.request('INVITE', { body: trunkSdp(11702, { version: 2, direction: 'sendonly', codecs: '0 101' }), contentType: CT }).final;
    assert.equal(hold.status, 200);
    assert.match(hold.body.toString(), /a=recvonly/);
    // The caller hangs up: the second trunk gets the BYE.
    const targetGone = new Promise<void>((resolve) => inv.createdDialog!.once('terminated', () => resolve()));
    await x.trunk.bye();
    await targetGone;
    const end = await t.ended(t.started.length - 1);
    assert.deepEqual([end.status, end.endedBy], [200, 'a']);
    await assertReleased(t);
  });

  it('to another browser agent: a WebRTC offer (actpass, new ICE) from the caller\'s codecs; its answer takes the browser\'s side, in-dialog relay goes on', async () => {
    const x = await inbound(t);
    const call = t.started.at(-1)!;
    const oldIce = (await t.engine.exportState(call.media!.id)).legs[0] as { ice: { ufrag: string } };
    const target = nextRequest(t.b2, 'INVITE');
    const agentGone = new Promise<void>((resolve) => x.agent.once('terminated', () => resolve()));
    assert.equal((await x.agent.request('REFER', { headers: { 'Refer-To': '<sip:4001@gw.test>' } }).final).status, 202);
    const inv = await target;
    const offer = inv.message.body.toString();
    assert.match(offer, /UDP\/TLS\/RTP\/SAVPF 0 8 101/, 'the caller\'s codecs, WebRTC profile');
    assert.match(offer, /a=setup:actpass/);
    const ufrag = /a=ice-ufrag:(\S+)/.exec(offer)![1];
    assert.notEqual(ufrag, oldIce.ice.ufrag, 'a new WebRTC leg with its own ICE credentials');
    const second = inv.answer({ body: BROWSER_ANSWER, contentType: CT });
    await agentGone;
    const agent2 = await second;
    const leg0 = (await t.engine.exportState(call.media!.id)).legs[0] as { kind: string; ice: { ufrag: string }; remote: { ufrag: string } };
    assert.deepEqual([leg0.kind, leg0.ice.ufrag, leg0.remote.ufrag], ['webrtc', ufrag, '4lnq']);
    assert.equal(call.sdp!.bothRtp, false);
    // The new agent holds: relayed to the caller as before.
    const atCaller = new Promise<IncomingRequest>((resolve) => x.trunk.once('request', resolve));
    const hold = agent2.request('INVITE', { body: BROWSER_OFFER.replace('a=sendrecv', 'a=sendonly').replace(' 2 IN IP4', ' 3 IN IP4'), contentType: CT });
    const re = await atCaller;
    assert.match(re.message.body.toString(), /a=sendonly/);
    assert.equal((await hold.final).status, 200);
    const gone = new Promise<void>((resolve) => agent2.once('terminated', () => resolve()));
    await x.trunk.bye();
    await gone;
    await assertReleased(t);
  });

  it('the target refuses (486): NOTIFY 486, the caller stays with the agent, the prepared leg is released', async () => {
    const x = await inbound(t);
    const call = t.started.at(-1)!;
    const portsBefore = t.engine.portsInUse;
    const target = nextRequest(t.b2, 'INVITE');
    assert.equal((await x.agent.request('REFER', { headers: { 'Refer-To': 'sip:3001@gw.test' } }).final).status, 202);
    (await target).reply(486);
    for (let i = 0; i < 100 && !x.atAgent.some((r) => /486/.test(r.message.body.toString())); i++) await sleep(10);
    assert.deepEqual(x.atAgent.filter((r) => r.method === 'NOTIFY').map(sipfrag), ['SIP/2.0 100 Trying | active;expires=60', 'SIP/2.0 486 Busy Here | terminated;reason=noresource']);
    assert.equal(call.state, 'answered');
    assert.equal(x.agent.terminated, false, 'the agent keeps the caller');
    for (let i = 0; i < 50 && t.engine.portsInUse !== portsBefore; i++) await sleep(10);
    assert.equal(t.engine.portsInUse, portsBefore, 'the prepared leg\'s ports are back');
    await x.agent.bye();
    await assertReleased(t);
  });

  it('attended transfer: Refer-To with Replaces naming the agent\'s second call joins the two trunks on the first call\'s bridge; both agent legs end', async () => {
    const x = await inbound(t);
    const first = t.started.at(-1)!;
    // The agent calls the second trunk (its consultation call).
    const atTarget = nextRequest(t.b2, 'INVITE');
    const consult = t.b.request('INVITE', 'sip:3000@127.0.0.1:5060', { body: BROWSER_OFFER, contentType: CT });
    const targetInvite = await atTarget;
    const targetDialog = targetInvite.answer({ body: trunkSdp(11703, { codecs: '0 101' }), contentType: CT });
    assert.equal((await consult.final).status, 200);
    const second = t.started.at(-1)!;
    for (let i = 0; i < 100 && second.state !== 'answered'; i++) await sleep(5);
    const target = await targetDialog;
    const reinvites: IncomingRequest[] = [];
    target.on('request', (r: IncomingRequest) => {
      reinvites.push(r);
      if (r.method === 'INVITE') r.reply(200, { body: trunkSdp(11704, { version: 2, codecs: '0 101' }), contentType: CT });
      else r.reply(200);
    });
    const d = consult.dialog!.state;
    const replaces = encodeURIComponent(`${d.callId};to-tag=${d.remoteTag};from-tag=${d.localTag}`);
    const consultGone = new Promise<void>((resolve) => consult.dialog!.once('terminated', () => resolve()));
    const agentGone = new Promise<void>((resolve) => x.agent.once('terminated', () => resolve()));
    const refer = await x.agent.request('REFER', { headers: { 'Refer-To': `<sip:3000@gw.test?Replaces=${replaces}>` } }).final;
    assert.equal(refer.status, 202);
    await Promise.all([consultGone, agentGone]);
    assert.equal(reinvites[0]?.method, 'INVITE', 'the target was re-INVITEd onto the first call');
    assert.match(reinvites[0]!.message.body.toString(), /m=audio \d+ RTP\/AVP 0 101\r\n/);
    assert.deepEqual(x.atAgent.filter((r) => r.method === 'NOTIFY').map(sipfrag), ['SIP/2.0 100 Trying | active;expires=60', 'SIP/2.0 200 OK | terminated;reason=noresource']);
    assert.equal((await t.ended(t.started.indexOf(second))).cause, 'transferred', 'the consultation call ended');
    assert.equal(first.state, 'answered');
    const leg0 = (await t.engine.exportState(first.media!.id)).legs[0] as { kind: string; remote: { port: number } };
    assert.deepEqual([leg0.kind, leg0.remote.port], ['rtp', 11704], 'the target\'s media on the first call\'s bridge');
    assert.equal(target.terminated, false, 'the target stays, now with the caller');
    const targetGone = new Promise<void>((resolve) => target.once('terminated', () => resolve()));
    await x.trunk.bye();
    await targetGone;
    await assertReleased(t);
  });

  it('a REFER from the trunk is refused 403, naming why; one without Refer-To is 400', async () => {
    const x = await inbound(t);
    const r = await x.trunk.request('REFER', { headers: { 'Refer-To': '<sip:3000@gw.test>' } }).final;
    assert.equal(r.status, 403);
    assert.match(r.reason, /Transfer not allowed from trunk/);
    assert.equal((await x.agent.request('REFER').final).status, 400);
    await x.agent.bye();
    await assertReleased(t);
  });
});
