// Minimal bencode (BitTorrent BEP 3) codec, enough for rtpengine's ng control
// protocol: dictionaries, lists, integers and byte strings (decoded as UTF-8).

export function encode(v) {
  const parts = [];
  enc(v, parts);
  return Buffer.concat(parts);
}

function enc(v, out) {
  if (typeof v === 'number') {
    out.push(Buffer.from(`i${Math.trunc(v)}e`));
  } else if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
    out.push(Buffer.from(`${b.length}:`), b);
  } else if (Array.isArray(v)) {
    out.push(Buffer.from('l'));
    for (const x of v) enc(x, out);
    out.push(Buffer.from('e'));
  } else if (v && typeof v === 'object') {
    out.push(Buffer.from('d'));
    // Keys are sorted as raw byte strings (BEP 3).
    for (const k of Object.keys(v).sort()) {
      if (v[k] === undefined) continue;
      enc(k, out);
      enc(v[k], out);
    }
    out.push(Buffer.from('e'));
  } else {
    throw new TypeError(`cannot bencode ${typeof v}`);
  }
}

export function decode(buf) {
  const [v, end] = dec(buf, 0);
  if (end !== buf.length) throw new Error(`trailing bytes after bencoded value at ${end}`);
  return v;
}

function dec(b, i) {
  const c = b[i];
  if (c === 0x69) { // i<int>e
    const e = b.indexOf(0x65, i);
    return [Number(b.toString('latin1', i + 1, e)), e + 1];
  }
  if (c === 0x6c) { // l ... e
    const list = [];
    i++;
    while (b[i] !== 0x65) {
      const [v, n] = dec(b, i);
      list.push(v);
      i = n;
    }
    return [list, i + 1];
  }
  if (c === 0x64) { // d ... e
    const dict = {};
    i++;
    while (b[i] !== 0x65) {
      const [k, n] = dec(b, i);
      const [v, m] = dec(b, n);
      dict[k] = v;
      i = m;
    }
    return [dict, i + 1];
  }
  if (c >= 0x30 && c <= 0x39) { // <len>:<bytes>
    const colon = b.indexOf(0x3a, i);
    const len = Number(b.toString('latin1', i, colon));
    const start = colon + 1;
    return [b.toString('utf8', start, start + len), start + len];
  }
  throw new Error(`bad bencode byte 0x${c?.toString(16)} at ${i}`);
}
