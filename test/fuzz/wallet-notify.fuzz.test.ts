/**
 * The QR wallet's notify URL under fuzzing (network/qr-wallet/notify-route.ts, protocol.ts). The
 * route has no bearer token: the wallet's RSA2 signature is its authentication, so everything in a
 * body is attacker-controlled until the signature checks.
 *
 * The wallet simulator finishes a real refund and signs its notification, which this suite
 * catches before our service sees it. Then: thousands of variants of that genuine notification
 * (each field changed, signature bent, signed by another key, re-signed for another merchant,
 * fields missing or added) and of junk (any JSON, not JSON, huge, other content types, odd headers)
 * must each be answered 4xx — `fail` as text, or problem+json when refused before the route — and
 * change nothing in the store or in the simulator's books. Last, the genuine notification is
 * delivered and applied: the refund succeeds, once.
 *
 * Runs: FUZZ_RUNS per property (default 150); FUZZ_SEED replays.
 */

import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair, type RsaKeyPair } from '../../src/network/qr-wallet/keys.js';
import { QR_NOTIFY_PATH } from '../../src/network/qr-wallet/notify-route.js';
import { canonicalString, signParams } from '../../src/network/qr-wallet/protocol.js';
import type { QrWalletSim } from '../../src/simulator/qr-wallet/wallet-sim.js';
import { OutboxWorker } from '../../src/worker/outbox.js';
import { recordFigures } from '../support/figures.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  until,
} from '../support/system.js';
import { junkJson, junkString, onTheWire, rawJunkBody } from './arbitraries.js';
import { CaseCounter, fuzzRuns, fuzzSeed } from './runs.js';
import { type Books, diffBooks, snapshotBooks, storeTables } from './snapshot.js';

const RUNS = fuzzRuns(150);

type Notification = Record<string, unknown>;

/** A notification the wallet simulator signed, caught on its way to us. */
async function catchNotification(): Promise<{ server: Server; url: string; caught: string[] }> {
  const caught: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      caught.push(Buffer.concat(chunks).toString('utf8'));
      // Acknowledged, so the wallet does not deliver it again by itself.
      res.writeHead(200, { 'content-type': 'text/plain' }).end('success');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}${QR_NOTIFY_PATH}`, caught };
}

/** Changes one field of a notification (or adds one); the canonical string differs afterwards. */
const tamperArb = (n: Notification) => {
  const keys = Object.keys(n).filter((k) => k !== 'sign');
  const near = (v: unknown): fc.Arbitrary<unknown> =>
    typeof v === 'number'
      ? fc.constantFrom(v + 1, v - 1, -v, v * 100, v + 0.5, 0, String(v))
      : typeof v === 'string'
        ? fc.constantFrom(
            `${v}0`,
            v.slice(0, -1),
            v.toLowerCase(),
            v.toUpperCase(),
            ` ${v}`,
            `${v}\u0000`,
            '',
          )
        : junkJson;
  return fc.oneof(
    fc
      .constantFrom(...keys)
      .chain((k) => fc.tuple(fc.constant(k), fc.oneof(near(n[k]), junkJson)))
      .map(([k, v]) => ({ ...n, [k]: v })),
    fc.constantFrom(...keys).map((k) => {
      const { [k]: _dropped, ...rest } = n;
      return rest;
    }),
    fc
      .tuple(
        junkString.filter((k) => !(k in n) && k !== '__proto__'),
        junkJson,
      )
      .map(([k, v]) => ({ ...n, [k]: v })),
  );
};

/** Bends the signature: another spelling of the same bytes, other bytes, another key's, none. */
const badSignArb = (n: Notification, otherKey: RsaKeyPair) => {
  const sign = String(n.sign);
  const { sign: _s, ...unsigned } = n;
  return fc
    .oneof(
      fc.constantFrom(
        `${sign}=`,
        `${sign}\n`,
        ` ${sign}`,
        sign.slice(0, -4),
        sign.replace(/=+$/, ''),
        Buffer.from(sign, 'base64').toString('base64url'),
        `${sign}${sign}`,
        'A'.repeat(2_000),
        '',
        signParams(unsigned, otherKey.privateKey),
      ),
      fc.tuple(fc.nat(), fc.constantFrom('A', 'b', '+', '/', '0')).map(([at, c]) => {
        const i = at % sign.length;
        return sign.slice(0, i) + c + sign.slice(i + 1);
      }),
      junkJson,
    )
    .filter((s) => s !== sign)
    .map((s) => ({ ...n, sign: s }));
};

describe.each(storeTargets)('the QR wallet notify URL under fuzzing on $name', (target) => {
  let sys: TestSystem;
  let wallet: QrWalletSim;
  let catcher: Awaited<ReturnType<typeof catchNotification>>;
  let cashier: Client;
  let refundId: string;
  let genuine: Notification;
  let otherKey: RsaKeyPair;
  let tables: string[];
  const cases = new CaseCounter();
  let started = 0;

  beforeAll(async () => {
    started = Date.now();
    sys = await startTestSystem(await target.freshUrl(), {
      network: 'sim',
      worker: false,
      dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-notify-fuzz-')),
      networkDelayMs: 50,
    });
    wallet = sys.simulator?.wallet as unknown as QrWalletSim;
    catcher = await catchNotification();
    wallet.notifyUrls.set(DEMO.merchantId, catcher.url);
    otherKey = generateRsaKeyPair();
    tables = await storeTables(sys.ctx.store);

    cashier = await signIn(sys.base, '01', '1111');
    const sale = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('NFZ'),
      amount: 9_000,
      currency: 'CNY',
      method: 'qr',
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    const refund = await cashier.call('POST', '/v1/refunds', {
      paymentId: sale.body.id,
      amount: 2_500,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(refund.body.status).toBe('approved');
    refundId = refund.body.id;
    // One worker pass submits it to the wallet; the wallet finishes it and notifies (the catcher).
    await new OutboxWorker({
      store: sys.ctx.store,
      network: sys.network,
      log: pino({ level: 'silent' }),
    }).tick();
    expect((await cashier.call('GET', `/v1/refunds/${refundId}`)).body.status).toBe('processing');
    const [body] = await until(
      async () => catcher.caught,
      (c) => c.length > 0,
      15_000,
    );
    genuine = JSON.parse(body ?? '{}') as Notification;
    expect(genuine).toMatchObject({ outRequestNo: refundId, refundStatus: 'SUCCESS', signType: 'RSA2' });
  });

  afterAll(async () => {
    console.log(
      `${cases.summary(`wallet notify fuzz on ${target.name}`)}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    recordFigures('fuzz: wallet notifications', { store: target.name, cases: cases.total });
    await new Promise((r) => catcher?.server.close(r));
    await sys?.close();
  });

  const post = (payload: string | undefined, headers: Record<string, string>) =>
    sys.app.inject({
      method: 'POST',
      url: QR_NOTIFY_PATH,
      headers,
      ...(payload === undefined ? {} : { payload }),
    });

  /** Refused with nothing changed: the refund still waits for its result. */
  async function expectRefused(payload: string | undefined, headers: Record<string, string>) {
    const before: Books = await snapshotBooks(sys, tables);
    const res = await post(payload, headers);
    const what = `${res.statusCode} ${res.body.slice(0, 200)} for ${String(payload).slice(0, 300)}`;
    expect(res.statusCode, what).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, what).toBeLessThan(500);
    const type = String(res.headers['content-type']);
    if (type.startsWith('text/plain')) {
      expect(res.statusCode, what).toBe(400);
      expect(res.body, what).toBe('fail');
    } else {
      // Refused before the route (content type, body size): the app's problem+json.
      expect(type, what).toMatch(/^application\/problem\+json/);
    }
    expect(diffBooks(before, await snapshotBooks(sys, tables)), what).toEqual([]);
  }

  const json = { 'content-type': 'application/json' };

  it('refuses the genuine notification with any one field changed, added or removed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constant(null).chain(() => tamperArb(genuine)),
        cases.count('tampered fields', async (changed: Notification) => {
          let same = false;
          try {
            same = canonicalString(changed) === canonicalString(genuine);
          } catch {
            // Not even signable (a float, a lone surrogate): certainly not the genuine one.
          }
          fc.pre(!same);
          await expectRefused(JSON.stringify(changed), json);
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });

  it('refuses a bent signature, another key’s signature, or a notification re-signed for another merchant', async () => {
    const { sign: _s, ...unsigned } = genuine;
    const walletSigned = (n: Notification) => ({ ...n, sign: signParams(n, wallet.walletKeys.privateKey) });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          badSignArb(genuine, otherKey),
          // Signed by the wallet itself, but for merchants we are not, or signed over another signType.
          fc
            .constantFrom('898100000000002', '', 'ALL', `${DEMO.merchantId} `)
            .map((merchantId) => walletSigned({ ...unsigned, merchantId })),
          fc
            .constantFrom('RSA', 'rsa2', 'HMAC-SHA256', 'none')
            .map((signType) => walletSigned({ ...unsigned, signType })),
        ),
        fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8'),
        cases.count('bad signatures', async (n: unknown, type: string) => {
          await expectRefused(JSON.stringify(n), { 'content-type': type });
        }),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });

  it('refuses a wallet-signed notification that names another amount than the refund sent', async () => {
    const { sign: _s, ...unsigned } = genuine;
    const sent = Number(unsigned.refundAmount);
    for (const refundAmount of [sent + 1, sent - 1, 1, sent * 2]) {
      const other = { ...unsigned, refundAmount };
      await expectRefused(
        JSON.stringify({ ...other, sign: signParams(other, wallet.walletKeys.privateKey) }),
        json,
      );
    }
  });

  it('refuses junk bodies, content types and headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          junkJson.map((v) => JSON.stringify(v)),
          rawJunkBody,
          fc.constant(undefined),
          // The genuine notification in another encoding than JSON.
          fc.constant(new URLSearchParams(genuine as Record<string, string>).toString()),
        ),
        fc.oneof(
          fc.constantFrom(
            'application/json',
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/xml',
          ),
          junkString.map(onTheWire),
        ),
        fc.dictionary(
          fc.constantFrom('authorization', 'x-request-id', 'wechatpay-signature', 'cookie'),
          fc.string({ maxLength: 40 }),
          {
            maxKeys: 2,
          },
        ),
        cases.count(
          'junk bodies',
          async (payload: string | undefined, type: string, headers: Record<string, string>) => {
            await expectRefused(payload, { ...headers, 'content-type': type });
          },
        ),
      ),
      { numRuns: RUNS, ...fuzzSeed() },
    );
  });

  it('applies the genuine notification once, and a redelivery changes nothing', async () => {
    const first = await post(JSON.stringify(genuine), json);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.body).toBe('success');
    const done = (await cashier.call('GET', `/v1/refunds/${refundId}`)).body;
    expect(done).toMatchObject({ status: 'succeeded', network: { responseCode: '00' } });

    const before = await snapshotBooks(sys, tables);
    const again = await post(JSON.stringify(genuine), { 'content-type': 'text/plain' });
    expect(again.statusCode).toBe(200);
    expect(again.body).toBe('success');
    expect(diffBooks(before, await snapshotBooks(sys, tables))).toEqual([]);
    const events = (await cashier.call('GET', `/v1/refunds/${refundId}/events`)).body.data as {
      to: string;
    }[];
    expect(events.filter((e) => e.to === 'succeeded')).toHaveLength(1);
  });

  it('acknowledges a wallet-signed notification about no refund of ours, and changes nothing', async () => {
    const { sign: _s, ...unsigned } = genuine;
    const stranger = {
      ...unsigned,
      notifyId: 'rnSTRANGER',
      outRequestNo: 'ref_not_ours',
      refundNo: 'R-STRANGER',
    };
    const before = await snapshotBooks(sys, tables);
    const res = await post(
      JSON.stringify({ ...stranger, sign: signParams(stranger, wallet.walletKeys.privateKey) }),
      json,
    );
    // Acknowledged, or the wallet would deliver it again for days; there is nothing to apply.
    expect(res.statusCode, res.body).toBe(200);
    expect(diffBooks(before, await snapshotBooks(sys, tables))).toEqual([]);
  });
});
