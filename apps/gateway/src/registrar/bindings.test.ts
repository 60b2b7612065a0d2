import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BindingStore, RegistrationError } from './bindings.js';

const src = { protocol: 'ws', address: '127.0.0.1', port: 50000 };

test('bindings expire, refresh and can be removed with expires=0', () => {
  let now = 1_000_000;
  const store = new BindingStore(() => now);
  store.apply({ aor: 'sip:a@x', callId: 'c1', cseq: 1, source: src, flowId: 'ws#1' }, [{ contact: 'sip:u@h.invalid;transport=ws', expires: 60 }]);
  assert.equal(store.lookup('sip:a@x').length, 1);
  now += 61_000;
  assert.equal(store.lookup('sip:a@x').length, 0);
  store.apply({ aor: 'sip:a@x', callId: 'c1', cseq: 2, source: src }, [{ contact: 'sip:u@h.invalid', expires: 60 }]);
  store.apply({ aor: 'sip:a@x', callId: 'c1', cseq: 3, source: src }, [{ contact: 'sip:u@h.invalid', expires: 0 }]);
  assert.equal(store.lookup('sip:a@x').length, 0);
  assert.equal(store.size, 0);
});

test('a reordered REGISTER (same Call-ID, lower CSeq) is refused with 500', () => {
  const store = new BindingStore();
  store.apply({ aor: 'sip:a@x', callId: 'c1', cseq: 5, source: src }, [{ contact: 'sip:u@h', expires: 60 }]);
  assert.throws(
    () => store.apply({ aor: 'sip:a@x', callId: 'c1', cseq: 4, source: src }, [{ contact: 'sip:u@h', expires: 60 }]),
    (e: unknown) => e instanceof RegistrationError && e.status === 500,
  );
});

test('RFC 5626: same instance and reg-id replace the binding, a new flow id is kept', () => {
  const store = new BindingStore();
  const inst = 'urn:uuid:00000000-0000-1000-8000-000A95A0E128';
  store.apply({ aor: 'sip:a@x', callId: 'c1', cseq: 1, source: src, flowId: 'ws#1' }, [{ contact: 'sip:u@one.invalid', expires: 60, instanceId: inst, regId: 1 }]);
  store.apply({ aor: 'sip:a@x', callId: 'c2', cseq: 1, source: src, flowId: 'ws#2' }, [{ contact: 'sip:u@two.invalid', expires: 60, instanceId: inst, regId: 1 }]);
  const list = store.lookup('sip:a@x');
  assert.equal(list.length, 1);
  assert.equal(list[0]!.contact, 'sip:u@two.invalid');
  assert.equal(list[0]!.flowId, 'ws#2');
});

test('closing a flow removes exactly the bindings registered over it', () => {
  const store = new BindingStore();
  store.apply({ aor: 'sip:a@x', callId: 'c1', cseq: 1, source: src, flowId: 'ws#1' }, [{ contact: 'sip:tab1@h.invalid', expires: 60 }]);
  store.apply({ aor: 'sip:a@x', callId: 'c2', cseq: 1, source: src, flowId: 'ws#2' }, [{ contact: 'sip:tab2@h.invalid', expires: 60 }]);
  const removed = store.removeFlow('ws#1');
  assert.deepEqual(removed.map((b) => b.contact), ['sip:tab1@h.invalid']);
  assert.deepEqual(store.lookup('sip:a@x').map((b) => b.contact), ['sip:tab2@h.invalid']);
});

test('bindings are plain data (survive a JSON round trip)', () => {
  const store = new BindingStore();
  const [b] = store.apply({ aor: 'sip:a@x', callId: 'c1', cseq: 1, source: src, flowId: 'ws#1' }, [{ contact: 'sip:u@h', expires: 60, regId: 1, instanceId: 'urn:uuid:1' }]);
  assert.deepEqual(JSON.parse(JSON.stringify(b)), b);
});

test('contacts per AOR are capped: one more is refused 403 and nothing changes; refreshes and removals pass', () => {
  const store = new BindingStore();
  const add = (n: number, cseq = 1) => store.apply({ aor: 'sip:a@x', callId: `c${n}`, cseq, source: src }, [{ contact: `sip:u${n}@h`, expires: 60 }], 2);
  add(1);
  add(2);
  assert.throws(() => add(3), (e: unknown) => e instanceof RegistrationError && e.status === 403 && e.reason === 'Too many registered contacts');
  assert.deepEqual(store.lookup('sip:a@x').map((b) => b.contact), ['sip:u1@h', 'sip:u2@h']);
  assert.throws(
    () => store.apply({ aor: 'sip:a@x', callId: 'c9', cseq: 1, source: src }, [{ contact: 'sip:u1@h', expires: 60 }, { contact: 'sip:u9@h', expires: 60 }], 2),
    RegistrationError, 'a REGISTER refreshing one and adding one is refused whole',
  );
  assert.equal(add(1, 2).length, 2, 'a refresh passes at the cap');
  store.apply({ aor: 'sip:a@x', callId: 'c2', cseq: 2, source: src }, [{ contact: 'sip:u2@h', expires: 0 }], 2);
  assert.equal(add(3).length, 2, 'room again after a removal');
});
