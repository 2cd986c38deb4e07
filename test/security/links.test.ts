import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulid } from '../../src/ids.js';
import {
  createRingFileIfMissing,
  FileSecrets,
  FixedSecrets,
  type LoadedSecrets,
  retireFromRingFile,
  rotateRingFile,
  secretsFilePath,
} from '../../src/key-ring.js';
import {
  isTrackingToken,
  type ReturnLinkClaims,
  signReturnLink,
  TRACKING_TOKEN_CHARS,
  trackingHash,
  trackingToken,
  verifyReturnLink,
} from '../../src/links.js';
import { KeyRingError, makeKeyRing, type Secrets } from '../../src/security.js';
import { KeyRotationError, retireKey } from '../../src/service/keys.js';
import { type SecondMerchant, seedSecondMerchant } from '../support/second-merchant.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  testPan,
} from '../support/system.js';

/**
 * Issue 12: the consumer's two links are capabilities. A return link is refused when any part of
 * it was altered, when its key left the ring, and when it is presented as another merchant's; a
 * status link is derived (the same for the same refund and key), unguessable, stored only hashed,
 * and shows the one refund it names — never another merchant's, never a full card number.
 */

const key = (n: number) => Buffer.alloc(32, n);
const ring = (...ids: number[]) =>
  makeKeyRing(
    ids.map((n) => ({ id: `k${n}`, key: key(n) })),
    'token keys',
  );
const secretsOf = (...ids: number[]): Secrets => new FixedSecrets(ring(1), ring(...ids));

const MERCHANT_A = '898100000000001';
const MERCHANT_B = '898100000000002';
const claims = (over: Partial<ReturnLinkClaims> = {}): ReturnLinkClaims => ({
  returnId: `rt_${ulid()}`,
  merchantId: MERCHANT_A,
  expiresAt: 1_900_000_000,
  ...over,
});

/** The token with segment `i` replaced. */
const withPart = (token: string, i: number, value: string) => {
  const parts = token.split('.');
  parts[i] = value;
  return parts.join('.');
};
/** One character swapped for another of the same alphabet, so only the signature can tell. */
const nudge = (s: string, at = 0) => {
  const c = s[at] ?? '';
  const next =
    c === 'A' ? 'B' : c === 'a' ? 'b' : c === '0' ? '1' : c === '1' ? '2' : /[a-z]/.test(c) ? 'a' : 'A';
  return `${s.slice(0, at)}${next}${s.slice(at + 1)}`;
};

describe('return links', () => {
  const secrets = secretsOf(1, 2);

  it('verifies a link it signed, under the current key, naming the return, the merchant and the expiry', () => {
    const c = claims();
    const { token, keyId } = signReturnLink(secrets, c);
    expect(keyId).toBe('k2');
    expect(token.split('.')).toEqual([
      c.returnId.slice(3),
      MERCHANT_A,
      c.expiresAt.toString(36),
      'k2',
      expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    ]);
    expect(verifyReturnLink(secrets, token)).toEqual(c);
  });

  it('refuses a link with any one field altered', () => {
    const c = claims();
    const { token } = signReturnLink(secrets, c);
    const [id = '', , exp = '', , mac = ''] = token.split('.');
    const altered = {
      id: withPart(token, 0, nudge(id, 25)),
      idOfAnotherReturn: withPart(token, 0, ulid()),
      merchant: withPart(token, 1, MERCHANT_B),
      expiryLater: withPart(token, 2, (c.expiresAt + 3_600).toString(36)),
      expiryLeadingZero: withPart(token, 2, `0${exp}`),
      keyIdOfAnotherLiveKey: withPart(token, 3, 'k1'),
      keyIdUnknown: withPart(token, 3, 'k9'),
      mac: withPart(token, 4, nudge(mac, 21)),
      macOfAnotherLink: withPart(token, 4, signReturnLink(secrets, claims()).token.split('.')[4] ?? ''),
    };
    for (const [what, t] of Object.entries(altered)) {
      expect(t, what).not.toBe(token);
      expect(verifyReturnLink(secrets, t), what).toBeNull();
    }
    // Exhaustively: every single character of the token, swapped for another.
    for (let i = 0; i < token.length; i++) {
      if (token[i] === '.') continue;
      const t = nudge(token, i);
      expect(verifyReturnLink(secrets, t), `character ${i} of ${token} → ${t}`).toBeNull();
    }
  });

  it('refuses a truncated link, extra segments, the wrong alphabet and overlong input', () => {
    const { token } = signReturnLink(secrets, claims());
    const parts = token.split('.');
    const [id = '', merchant = '', exp = '', kid = '', mac = ''] = parts;
    const bad = {
      empty: '',
      lastCharDropped: token.slice(0, -1),
      macDropped: parts.slice(0, 4).join('.'),
      trailingDot: `${token}.`,
      extraSegment: `${token}.x`,
      leadingSegment: `x.${token}`,
      macDoubled: `${token}${mac}`,
      idLowerCase: withPart(token, 0, id.toLowerCase()),
      idCrockfordExcluded: withPart(token, 0, `U${id.slice(1)}`),
      idShort: withPart(token, 0, id.slice(1)),
      merchantUnicode: withPart(token, 1, `${merchant.slice(0, -1)}一`),
      merchantEmpty: withPart(token, 1, ''),
      merchantTooLong: withPart(token, 1, 'm'.repeat(33)),
      expiryUpperCase: withPart(token, 2, exp.toUpperCase().replace(/^[0-9]*/, 'Z')),
      expiryTooLong: withPart(token, 2, '1'.repeat(12)),
      keyIdUpperCase: withPart(token, 3, kid.toUpperCase()),
      keyIdWithUnderscore: withPart(token, 3, 'k_2'),
      macStandardBase64: withPart(token, 4, `${mac.slice(0, -1)}+`),
      macPadded: withPart(token, 4, `${mac}==`),
      macShort: withPart(token, 4, mac.slice(0, 21)),
      spaces: ` ${token} `,
      newline: `${token}\n`,
      overlong: `${token}${'A'.repeat(200)}`,
    };
    for (const [what, t] of Object.entries(bad)) expect(verifyReturnLink(secrets, t), what).toBeNull();
  });

  it('refuses to sign a link that would not verify (a bad id, merchant or expiry)', () => {
    expect(() => signReturnLink(secrets, claims({ returnId: 'rt_not-a-ulid' }))).toThrow();
    expect(() => signReturnLink(secrets, claims({ merchantId: 'a.b' }))).toThrow();
    expect(() => signReturnLink(secrets, claims({ expiresAt: 1.5 }))).toThrow();
  });

  it("a link of merchant A never verifies as merchant B's", () => {
    const c = claims();
    const a = signReturnLink(secrets, c).token;
    expect(verifyReturnLink(secrets, a)?.merchantId).toBe(MERCHANT_A);
    expect(verifyReturnLink(secrets, withPart(a, 1, MERCHANT_B))).toBeNull();
    // B's own link for the same return id is a different token, and A's MAC does not move onto it.
    const b = signReturnLink(secrets, { ...c, merchantId: MERCHANT_B }).token;
    expect(b.split('.')[4]).not.toBe(a.split('.')[4]);
    expect(verifyReturnLink(secrets, withPart(b, 4, a.split('.')[4] ?? ''))).toBeNull();
  });

  it('a link signed under a key verifies after a rotation while that key is in the ring, and not after it is retired', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-links-'));
    const path = secretsFilePath(dir);
    createRingFileIfMissing(path, new Date());
    const live = new FileSecrets(path);
    /** A process that has not reloaded since before the rotation. */
    const lagging = new FileSecrets(path);
    const old = signReturnLink(live, claims());
    expect(old.keyId).toBe('k1');

    expect(await rotateRingFile(path, ['token'], new Date())).toEqual({ token: 'k2' });
    live.refresh();
    const fresh = signReturnLink(live, claims());
    expect(fresh.keyId).toBe('k2');
    expect(verifyReturnLink(live, old.token)?.returnId).toMatch(/^rt_/);
    expect(verifyReturnLink(live, fresh.token)).not.toBeNull();
    // A link under a key this process has not seen yet makes it re-read the ring, then verify.
    expect(lagging.token.keys.map((k) => k.id)).toEqual(['k1']);
    expect(verifyReturnLink(lagging, fresh.token)).not.toBeNull();

    await retireFromRingFile(path, 'token', 'k1', new Date(), async () => undefined);
    live.refresh();
    expect(live.token.keys.map((k) => k.id)).toEqual(['k2']);
    expect(verifyReturnLink(live, old.token)).toBeNull();
    expect(verifyReturnLink(live, fresh.token)).not.toBeNull();
    // The old link re-labelled with the live key id is still refused: the MAC was made under k1.
    expect(verifyReturnLink(live, withPart(old.token, 3, 'k2'))).toBeNull();
    live.close();
    lagging.close();
  });
});

describe('status link tokens', () => {
  const secrets = secretsOf(1, 2);
  const refundA = `rf_${ulid()}`;
  const refundB = `rf_${ulid()}`;

  it('are derived: the same for the same refund and key, different between refunds and keys', () => {
    const a = trackingToken(secrets, refundA);
    expect(a.keyId).toBe('k2');
    expect(a.token).toHaveLength(TRACKING_TOKEN_CHARS);
    expect(trackingToken(secrets, refundA)).toEqual(a);
    expect(trackingToken(secretsOf(1, 2), refundA, 'k2')).toEqual(a);
    expect(trackingToken(secrets, refundB).token).not.toBe(a.token);
    const underK1 = trackingToken(secrets, refundA, 'k1');
    expect(underK1.keyId).toBe('k1');
    expect(underK1.token).not.toBe(a.token);
    // A refund's stored key id keeps its link after a rotation.
    expect(trackingToken(secretsOf(1, 2, 3), refundA, 'k2').token).toBe(a.token);
    expect(trackingToken(secretsOf(1, 2, 3), refundA).token).not.toBe(a.token);
  });

  it('are made under a key of their own (HKDF), not the card-token HMAC or the return link MAC', () => {
    const { token } = trackingToken(secrets, refundA);
    const plain = createHmac('sha256', key(2)).update(refundA).digest('base64url');
    expect(plain.slice(0, TRACKING_TOKEN_CHARS)).not.toBe(token);
    expect(plain).not.toContain(token.slice(0, 16));
  });

  it('throw unknown_key for a key no longer in the ring', () => {
    try {
      trackingToken(secretsOf(2), refundA, 'k1');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(KeyRingError);
      expect((err as KeyRingError).code).toBe('unknown_key');
    }
  });

  it('have a shape checked before any lookup', () => {
    const { token } = trackingToken(secrets, refundA);
    expect(isTrackingToken(token)).toBe(true);
    expect(isTrackingToken(randomBytes(24).toString('base64url'))).toBe(true);
    for (const bad of [
      '',
      token.slice(1),
      `${token}A`,
      `${token.slice(1)}+`,
      `${token.slice(1)}/`,
      `${token.slice(1)}=`,
      `${token.slice(1)}.`,
      `${token}\n`,
      ` ${token.slice(1)}`,
      `${token.slice(1)}é`,
      randomBytes(24).toString('hex'),
    ])
      expect(isTrackingToken(bad), JSON.stringify(bad)).toBe(false);
  });

  it('are stored as their SHA-256 only: the hash is not the token and does not contain it', () => {
    const { token, hash } = trackingToken(secrets, refundA);
    expect(hash).toBe(trackingHash(token));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(hash).not.toContain(token);
    expect(trackingHash(trackingToken(secrets, refundB).token)).not.toBe(hash);
  });
});

// ---- through the API, on both stores ----------------------------------------------------------

const B: SecondMerchant = {
  merchantId: MERCHANT_B,
  name: 'Other Merchant B (links)',
  terminalId: 'T0000002',
  operators: [
    { no: '51', role: 'cashier' as const, name: 'B-cashier-51', password: '5151' },
    { no: '50', role: 'supervisor' as const, name: 'B-supervisor-50', password: '505050' },
  ],
};

const PAN = testPan('622202100004321');
const tokenOf = (url: string) => new URL(url).pathname.split('/')[2] ?? '';

describe.each(storeTargets)('links through the API on $name', (target) => {
  let sys: TestSystem;
  let dataDir: string;
  let cashierA: Client;
  let cashierB: Client;
  /** Unset: the wall clock; set: the system's clock stands at this instant. */
  let fixedMs: number | null = null;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'refund-desk-links-api-'));
    sys = await startTestSystem(
      await target.freshUrl(),
      { dataDir, keyReloadIntervalMs: 60_000 },
      { clock: () => new Date(fixedMs ?? Date.now()) },
    );
    await seedSecondMerchant(sys.ctx, B);
    cashierA = await signIn(sys.base, '01', '1111');
    const r = await call(sys.base, 'POST', '/v1/sessions', {
      terminalId: B.terminalId,
      operatorNo: '51',
      password: '5151',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const token = r.body.token as string;
    cashierB = {
      token,
      call: (method, path, body, headers = {}) =>
        call(sys.base, method, path, body, {
          authorization: `Bearer ${token}`,
          ...(method === 'POST' ? { 'idempotency-key': `b-${ulid()}` } : {}),
          ...headers,
        }),
    };
  });
  afterAll(async () => {
    await sys?.close();
  });

  const consumer = (method: string, path: string, body?: unknown) =>
    call(sys.base, method, path, body, method === 'POST' ? { 'idempotency-key': `c-${ulid()}` } : {});

  async function saleAndRefund(
    who: Client,
    approver: { operatorNo: string; password: string },
    card: boolean,
  ) {
    const s = await who.call('POST', '/v1/payments', {
      orderNo: orderNo('LNK'),
      amount: 10_000,
      currency: 'CNY',
      method: card ? 'card' : 'cash',
      items: [{ sku: 'ONE', name: '一件', qty: 2, unitAmount: 5_000 }],
      ...(card ? { card: { pan: PAN, expiry: '3012' } } : {}),
    });
    expect(s.status, JSON.stringify(s.body)).toBe(201);
    const r = await who.call('POST', '/v1/refunds', {
      paymentId: s.body.id,
      amount: 1_000,
      reason: { code: 'quality_issue' },
      approvals: [approver],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const link = await who.call('GET', `/v1/refunds/${r.body.id}/tracking`);
    expect(link.status, JSON.stringify(link.body)).toBe(200);
    return { payment: s.body, refundId: r.body.id as string, token: tokenOf(link.body.url) };
  }

  it("a status link shows its own merchant's refund only, with the card masked", async () => {
    const a = await saleAndRefund(cashierA, supervisor, true);
    const b = await saleAndRefund(cashierB, { operatorNo: '50', password: '505050' }, false);
    const viewA = await consumer('GET', `/v1/track/${a.token}`);
    const viewB = await consumer('GET', `/v1/track/${b.token}`);
    expect(viewA.status).toBe(200);
    expect(viewB.status).toBe(200);
    expect(viewA.body).toMatchObject({ refundId: a.refundId, merchant: { name: DEMO.merchantName } });
    expect(viewB.body).toMatchObject({ refundId: b.refundId, merchant: { name: B.name } });
    const textA = JSON.stringify(viewA.body);
    const textB = JSON.stringify(viewB.body);
    for (const ofB of [b.refundId, b.payment.id, b.payment.orderNo, B.name]) expect(textA).not.toContain(ofB);
    for (const ofA of [a.refundId, a.payment.id, a.payment.orderNo, DEMO.merchantName])
      expect(textB).not.toContain(ofA);
    // Masked card data only: the last four digits, never the number or its first twelve digits.
    expect(viewA.body.route.last4).toBe(PAN.slice(-4));
    expect(textA).not.toContain(PAN);
    expect(textA).not.toContain(PAN.slice(0, 12));
    expect(textA).not.toContain(PAN.slice(0, 6) + PAN.slice(6, 10));
    const voucher = await fetch(`${sys.base}/v1/track/${a.token}/voucher?format=text`);
    expect(voucher.status).toBe(200);
    const voucherText = await voucher.text();
    expect(voucherText).toContain(a.refundId);
    expect(voucherText).not.toContain(PAN);
    expect(voucherText).not.toContain(PAN.slice(0, 12));
    expect(voucherText).not.toContain(b.refundId);
  });

  it('a random well-shaped token, or a refund id, finds nothing: 404 tracking_link_invalid', async () => {
    const a = await saleAndRefund(cashierA, supervisor, false);
    const guesses = [
      ...Array.from({ length: 5 }, () => randomBytes(24).toString('base64url')),
      // The hash the store keeps is no key, nor is the refund's id or a token under an unknown key.
      trackingHash(a.token).slice(0, TRACKING_TOKEN_CHARS),
      trackingToken(secretsOf(7), a.refundId).token,
      a.refundId,
    ];
    for (const guess of guesses) {
      const r = await consumer('GET', `/v1/track/${encodeURIComponent(guess)}`);
      expect(r.status, guess).toBe(404);
      expect(r.body.code, guess).toBe('tracking_link_invalid');
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      // The answer names nothing but what was asked for.
      const { instance, ...rest } = r.body;
      expect(instance).toBe(`/v1/track/${encodeURIComponent(guess)}`);
      expect(JSON.stringify(rest)).not.toContain(a.refundId.slice(3));
    }
    const voucher = await fetch(`${sys.base}/v1/track/${randomBytes(24).toString('base64url')}/voucher`);
    expect(voucher.status).toBe(404);
  });

  it("a return link of merchant A presented as merchant B's is refused and changes nothing", async () => {
    const s = await cashierA.call('POST', '/v1/payments', {
      orderNo: orderNo('LNK'),
      amount: 5_000,
      currency: 'CNY',
      method: 'cash',
      items: [{ sku: 'ONE', name: '一件', qty: 1, unitAmount: 5_000 }],
    });
    const created = await cashierA.call('POST', '/v1/returns', {
      orderNo: s.body.orderNo,
      items: [{ sku: 'ONE', qty: 1 }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const token = tokenOf(created.body.url);
    const c = verifyReturnLink(sys.ctx.secrets, token);
    expect(c?.merchantId).toBe(DEMO.merchantId);
    const relabelled = withPart(token, 1, B.merchantId);
    // Even signed with the server's own key, the return is not B's.
    const signedForB = signReturnLink(sys.ctx.secrets, {
      ...(c as ReturnLinkClaims),
      merchantId: B.merchantId,
    });
    const refundsBefore = await sys.ctx.store.db.selectFrom('refunds').select('id').orderBy('id').execute();
    for (const t of [relabelled, signedForB.token]) {
      const view = await consumer('GET', `/v1/consumer/returns/${t}`);
      expect(view.status, t).toBe(404);
      expect(view.body.code).toBe('return_link_invalid');
      const sent = await consumer('POST', `/v1/consumer/returns/${t}/submit`, {
        reason: { code: 'quality_issue' },
        contact: { phone: '13800138000' },
      });
      expect(sent.body.code).toBe('return_link_invalid');
      expect(JSON.stringify(view.body) + JSON.stringify(sent.body)).not.toContain(DEMO.merchantName);
    }
    expect(await sys.ctx.store.db.selectFrom('refunds').select('id').orderBy('id').execute()).toEqual(
      refundsBefore,
    );
    expect((await cashierA.call('GET', `/v1/returns/${created.body.id}`)).body.status).toBe('open');
    expect((await consumer('GET', `/v1/consumer/returns/${token}`)).status).toBe(200);
  });

  it('a return link expires exactly at its expiry instant', async () => {
    // A whole second, so the row's expiry and the token's (unix seconds) are the same instant.
    fixedMs = Math.ceil(Date.now() / 1000) * 1000;
    try {
      const s = await cashierA.call('POST', '/v1/payments', {
        orderNo: orderNo('LNK'),
        amount: 5_000,
        currency: 'CNY',
        method: 'cash',
        items: [{ sku: 'ONE', name: '一件', qty: 1, unitAmount: 5_000 }],
      });
      const created = await cashierA.call('POST', '/v1/returns', {
        orderNo: s.body.orderNo,
        items: [{ sku: 'ONE', qty: 1 }],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const expiresMs = Date.parse(created.body.expiresAt);
      const token = tokenOf(created.body.url);
      expect(Number.parseInt(token.split('.')[2] ?? '', 36) * 1000).toBe(expiresMs);
      fixedMs = expiresMs - 1;
      expect((await consumer('GET', `/v1/consumer/returns/${token}`)).status).toBe(200);
      expect((await cashierA.call('GET', `/v1/returns/${created.body.id}`)).body.status).toBe('open');
      fixedMs = expiresMs;
      const at = await consumer('GET', `/v1/consumer/returns/${token}`);
      expect(at.status).toBe(410);
      expect(at.body.code).toBe('return_link_expired');
      const submit = await consumer('POST', `/v1/consumer/returns/${token}/submit`, {
        reason: { code: 'quality_issue' },
        contact: { phone: '13800138000' },
      });
      expect(submit.body.code).toBe('return_link_expired');
      expect((await cashierA.call('GET', `/v1/returns/${created.body.id}`)).body.status).toBe('expired');
    } finally {
      fixedMs = null;
    }
  });

  it('links made before a token key rotation keep working while that key is in the ring', async () => {
    const before = await saleAndRefund(cashierA, supervisor, false);
    const s = await cashierA.call('POST', '/v1/payments', {
      orderNo: orderNo('LNK'),
      amount: 5_000,
      currency: 'CNY',
      method: 'cash',
      items: [{ sku: 'ONE', name: '一件', qty: 1, unitAmount: 5_000 }],
    });
    const oldReturn = await cashierA.call('POST', '/v1/returns', {
      orderNo: s.body.orderNo,
      items: [{ sku: 'ONE', qty: 1 }],
    });
    const oldToken = tokenOf(oldReturn.body.url);
    expect(oldToken.split('.')[3]).toBe('k1');

    await rotateRingFile(secretsFilePath(dataDir), ['token'], new Date());
    sys.ctx.secrets.refresh?.();
    expect((await consumer('GET', `/v1/consumer/returns/${oldToken}`)).status).toBe(200);
    expect((await consumer('GET', `/v1/track/${before.token}`)).body.refundId).toBe(before.refundId);
    // The merchant's screen shows the same status link as before: its key is the refund's own.
    const again = await cashierA.call('GET', `/v1/refunds/${before.refundId}/tracking`);
    expect(tokenOf(again.body.url)).toBe(before.token);
    const after = await saleAndRefund(cashierA, supervisor, false);
    expect(
      (
        await sys.ctx.store.db
          .selectFrom('refunds')
          .select('tracking_key')
          .where('id', '=', after.refundId)
          .executeTakeFirstOrThrow()
      ).tracking_key,
    ).toBe('k2');
    expect((await consumer('GET', `/v1/track/${after.token}`)).body.refundId).toBe(after.refundId);

    // `keys retire` keeps a token key while status links or open return links are made under it.
    const refusal = await retireKey(
      { store: sys.ctx.store, secrets: sys.ctx.secrets as LoadedSecrets, clock: () => new Date() },
      'token',
      'k1',
      0,
    ).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(KeyRotationError);
    expect((refusal as KeyRotationError).code).toBe('key_in_use');
    const rows = (refusal as KeyRotationError).detail.rows as Record<string, number>;
    expect(rows['refunds.tracking_key']).toBeGreaterThanOrEqual(2);
    expect(rows['returns.token_key']).toBeGreaterThanOrEqual(1);

    // Forced out of the ring anyway: the return link signed under it is refused as any forged one.
    await retireFromRingFile(secretsFilePath(dataDir), 'token', 'k1', new Date(), async () => undefined);
    sys.ctx.secrets.refresh?.();
    const refused = await consumer('GET', `/v1/consumer/returns/${oldToken}`);
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('return_link_invalid');
    // A status link under a key no longer in the ring is no link: 404, never a server error.
    const stale = await consumer('GET', `/v1/track/${before.token}`);
    expect(stale.status).toBe(404);
    expect(stale.body.code).toBe('tracking_link_invalid');
    expect((await consumer('GET', `/v1/track/${after.token}`)).status).toBe(200);
  });
});
