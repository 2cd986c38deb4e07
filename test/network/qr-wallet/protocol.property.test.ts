/**
 * The signed wire format: canonical string and RSA2 signatures. Any bizContent survives
 * sign → JSON on the wire → verify; any change to one field (or to the signature) fails it.
 * Replay a failure with the seed fast-check prints.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair, type RsaKeyPair } from '../../../src/network/qr-wallet/keys.js';
import {
  canonicalJson,
  canonicalString,
  QrWalletError,
  signParams,
  verifyParams,
} from '../../../src/network/qr-wallet/protocol.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const text = fc.string({ unit: 'binary', maxLength: 12 });
const leaf: fc.Arbitrary<Json> = fc.oneof(
  text,
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  fc.boolean(),
  fc.constant(null),
);
const { json } = fc.letrec<{ json: Json }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(text, tie('json'), { maxKeys: 4 }),
  ),
}));
const bizContent = fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), json, { maxKeys: 6 });
const envelope = fc.record({
  method: fc.constantFrom('trade.pay', 'trade.refund', 'trade.refund.query'),
  appId: fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/),
  merchantId: fc.stringMatching(/^[0-9]{15}$/),
  timestamp: fc
    .date({ min: new Date('2020-01-01'), max: new Date('2040-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  nonce: fc.stringMatching(/^[A-Za-z0-9_-]{8,32}$/),
  bizContent,
  signType: fc.constant('RSA2'),
});

/** Reorder every object's keys (what a different JSON encoder may do). */
function shuffleKeys(v: Json, seed: number): Json {
  if (Array.isArray(v)) return v.map((x, i) => shuffleKeys(x, seed + i));
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    const rotated = keys
      .slice(seed % Math.max(1, keys.length))
      .concat(keys.slice(0, seed % Math.max(1, keys.length)));
    return Object.fromEntries(rotated.reverse().map((k) => [k, shuffleKeys(v[k] as Json, seed + 1)]));
  }
  return v;
}

describe('QR wallet canonical string and RSA2 signature', () => {
  let keys: RsaKeyPair;
  let otherKeys: RsaKeyPair;
  beforeAll(() => {
    keys = generateRsaKeyPair();
    otherKeys = generateRsaKeyPair();
  });

  it('sorts keys at every level, so the canonical JSON does not depend on key order', () => {
    fc.assert(
      fc.property(json, fc.nat(100), (v, seed) => {
        expect(canonicalJson(shuffleKeys(v, seed))).toBe(canonicalJson(v));
        expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it('writes the documented string: sorted key=value pairs, sign left out, bizContent as canonical JSON', () => {
    expect(
      canonicalString({
        sign: 'x',
        nonce: 'n1',
        bizContent: { refundAmount: 1050, outRequestNo: 'R1', extra: { b: 1, a: [true, null] } },
        appId: 'app',
      }),
    ).toBe(
      'appId=app&bizContent={"extra":{"a":[true,null],"b":1},"outRequestNo":"R1","refundAmount":1050}&nonce=n1',
    );
  });

  it('refuses to sign floats (amounts are integer fen)', () => {
    expect(() => canonicalJson({ refundAmount: 10.5 })).toThrow(QrWalletError);
    expect(() => canonicalJson({ refundAmount: Number.NaN })).toThrow(QrWalletError);
  });

  it('verifies any signed request after a JSON round trip on the wire', () => {
    fc.assert(
      fc.property(envelope, (params) => {
        const signed = { ...params, sign: signParams(params, keys.privateKey) };
        const received = JSON.parse(JSON.stringify(signed)) as Record<string, unknown>;
        expect(verifyParams(received, keys.publicKey)).toBe(true);
        expect(verifyParams(received, otherKeys.publicKey)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('fails verification when any single field is changed', () => {
    const tamper = fc.oneof(
      fc.record({
        kind: fc.constant('envelope' as const),
        field: fc.constantFrom('method', 'appId', 'merchantId', 'timestamp', 'nonce', 'signType'),
        value: fc.string({ maxLength: 20 }),
      }),
      fc.record({
        kind: fc.constant('biz-set' as const),
        key: fc.string({ minLength: 1, maxLength: 10 }),
        value: json,
      }),
      fc.record({ kind: fc.constant('biz-delete' as const), pick: fc.nat() }),
      fc.record({
        kind: fc.constant('sign' as const),
        at: fc.nat(),
        char: fc.constantFrom('A', 'b', '+', '/', '=', ' ', '\n'),
      }),
    );
    fc.assert(
      fc.property(envelope, tamper, (params, t) => {
        const signed: Record<string, unknown> = { ...params, sign: signParams(params, keys.privateKey) };
        const changed: Record<string, unknown> = { ...signed, bizContent: { ...params.bizContent } };
        const biz = changed.bizContent as Record<string, Json>;
        if (t.kind === 'envelope') changed[t.field] = t.value;
        if (t.kind === 'biz-set') biz[t.key] = t.value;
        if (t.kind === 'biz-delete') {
          const keysOf = Object.keys(biz);
          fc.pre(keysOf.length > 0);
          delete biz[keysOf[t.pick % keysOf.length] as string];
        }
        if (t.kind === 'sign') {
          const s = signed.sign as string;
          const i = t.at % s.length;
          changed.sign = s.slice(0, i) + t.char + s.slice(i + 1);
          fc.pre(changed.sign !== s);
        } else {
          fc.pre(canonicalString(changed) !== canonicalString(signed));
        }
        expect(verifyParams(changed, keys.publicKey)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a signature with anything appended, even what a lenient base64 decoder would skip', () => {
    const params = { method: 'trade.refund', appId: 'a', bizContent: { refundAmount: 1 }, signType: 'RSA2' };
    const sign = signParams(params, keys.privateKey);
    expect(verifyParams({ ...params, sign }, keys.publicKey)).toBe(true);
    for (const junk of ['!', ' ', '\n', '==', '.']) {
      expect(verifyParams({ ...params, sign: `${sign}${junk}` }, keys.publicKey)).toBe(false);
    }
  });
});
