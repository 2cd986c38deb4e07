/**
 * The back office's settlement and reconciliation pages (issue 11) on both stores, with the card
 * link and the network simulator: closed batches listed per terminal and per merchant, newest
 * first, a page at a time, each as the settlement answered it (totals and the reconciliation with
 * the network, an unbalanced batch with its differing bucket); the day's settlement file fetched
 * from the network and reconciled, clean, then with the network's books changed — each mismatch
 * with what to do about it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
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
  until,
} from '../support/system.js';

const PAN = testPan('622202100006666');
const T2 = 'T0000002';

// Both sides run on one shifted clock at midday UTC: the settlement day cannot roll over mid-test.
const startedAt = Date.now();
const midday = new Date(startedAt);
midday.setUTCHours(12, 0, 0, 0);
const clock = () => new Date(midday.getTime() + (Date.now() - startedAt));
const DAY = midday.toISOString().slice(0, 10);

describe.each(storeTargets)('settlements and reconciliations on $name', (target) => {
  let sim: Simulator;
  let sys: TestSystem;
  let cashier: Client;
  let cashier2: Client;
  let boss: Client;
  /** The batches as POST /v1/settlements answered, in the order they were closed. */
  const closed: Record<string, unknown>[] = [];
  let tamperedSale = { id: '', reference: '' };

  const sell = async (who: Client, amount: number, method: 'card' | 'cash' = 'card') => {
    const r = await who.call('POST', '/v1/payments', {
      orderNo: orderNo('STL'),
      amount,
      currency: 'CNY',
      method,
      ...(method === 'card' ? { card: { pan: PAN, expiry: '2912' } } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return { id: r.body.id as string, reference: r.body.network.reference as string };
  };
  const settle = async (terminalId: string) => {
    const r = await cashier.call('POST', '/v1/settlements', { terminalId });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    closed.push(r.body);
    return r.body;
  };

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-settlements-'));
    sim = await startSimulator({
      dataDir: join(dir, 'sim'),
      cardPort: 0,
      controlPort: 0,
      log: pino({ level: 'silent' }),
      seed: 11,
      merchants: [
        {
          id: DEMO.merchantId,
          name: DEMO.merchantName,
          balanceMinor: 100_000_000,
          terminals: [DEMO.terminalId, T2],
        },
      ],
      clock,
    });
    const previous = process.env.SETTLEMENT_FILE_URL;
    process.env.SETTLEMENT_FILE_URL = `http://127.0.0.1:${sim.controlPort}/settlement-files/{merchantId}/{day}`;
    try {
      sys = await startTestSystem(
        await target.freshUrl(),
        {
          network: 'host',
          acquirerHost: '127.0.0.1',
          acquirerPort: sim.cardPort,
          dataDir: join(dir, 'data'),
        },
        { clock },
      );
    } finally {
      if (previous === undefined) delete process.env.SETTLEMENT_FILE_URL;
      else process.env.SETTLEMENT_FILE_URL = previous;
    }
    // A second till of the demo merchant, known to the network too.
    await sys.ctx.store.db
      .insertInto('terminals')
      .values({
        id: T2,
        merchant_id: DEMO.merchantId,
        name: 'Till 2',
        batch_no: 1,
        created_at: clock().toISOString(),
      })
      .execute();
    cashier = await signIn(sys.base, '01', '1111');
    boss = await signIn(sys.base, supervisor.operatorNo, supervisor.password);
    const s2 = await call(sys.base, 'POST', '/v1/sessions', {
      terminalId: T2,
      operatorNo: '01',
      password: '1111',
    });
    expect(s2.status, JSON.stringify(s2.body)).toBe(201);
    cashier2 = {
      token: s2.body.token,
      call: (method, path, body, headers = {}) =>
        call(sys.base, method, path, body, {
          authorization: `Bearer ${s2.body.token}`,
          ...(method === 'POST' ? { 'idempotency-key': `t2-${Math.random()}` } : {}),
          ...headers,
        }),
    };

    const first = await sell(cashier, 10_000);
    await sell(cashier, 20_000);
    await sell(cashier, 5_000, 'cash');
    const refund = await cashier.call('POST', '/v1/refunds', {
      paymentId: first.id,
      amount: 2_500,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    await until(
      () => cashier.call('GET', `/v1/refunds/${refund.body.id}`),
      (r) => r.body.status === 'succeeded',
      20_000,
    );
    await sell(cashier2, 7_000);
  }, 60_000);

  afterAll(async () => {
    await sys?.close();
    await sim?.close();
  });

  it('reconciles a clean day fetched from the network: no mismatch', async () => {
    const r = await boss.call('POST', '/v1/reconciliations', { day: DAY });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ source: 'network', balanced: true, mismatchCount: 0, mismatches: [] });
    expect(r.body.matched).toBeGreaterThanOrEqual(4);
  });

  it('closes batches per terminal, balanced, and an unbalanced one with its differing bucket', async () => {
    const t1 = await settle(DEMO.terminalId);
    expect(t1).toMatchObject({ terminalId: DEMO.terminalId, batchNo: 1, createdBy: 'op:01' });
    expect(t1.reconciliation.balanced).toBe(true);
    expect(t1.reconciliation.local).toEqual(t1.reconciliation.network);
    // Cash is in the batch's totals (ours and the demo's), not in what the network saw.
    expect(t1.totals.cash.amount).toBeGreaterThanOrEqual(5_000);
    expect(t1.totals.sales.amount - t1.reconciliation.local.sales.amount).toBe(t1.totals.cash.amount);

    const t2 = await settle(T2);
    expect(t2).toMatchObject({
      terminalId: T2,
      batchNo: 1,
      totals: {
        sales: { count: 1, amount: 7_000 },
        voids: { count: 0, amount: 0 },
        refunds: { count: 0, amount: 0 },
        cash: { count: 0, amount: 0 },
      },
      reconciliation: { balanced: true, differences: [] },
    });

    // The network's books change under a sale of the next batch: the totals disagree.
    tamperedSale = await sell(cashier, 3_000);
    sim.ledger.db
      .prepare('update txns set amount_minor = amount_minor + 1 where rrn = ?')
      .run(tamperedSale.reference);
    const t1b2 = await settle(DEMO.terminalId);
    expect(t1b2).toMatchObject({
      batchNo: 2,
      reconciliation: {
        balanced: false,
        local: { sales: { count: 1, amount: 3_000 } },
        network: { sales: { count: 1, amount: 3_001 } },
        differences: [
          { bucket: 'sales', local: { count: 1, amount: 3_000 }, network: { count: 1, amount: 3_001 } },
        ],
      },
    });
  });

  it("lists the merchant's batches newest first, each as the settlement answered it", async () => {
    const r = await boss.call('GET', '/v1/settlements');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ data: [...closed].reverse(), hasMore: false, nextCursor: null });
  });

  it("lists one terminal's batches a page at a time", async () => {
    const [t1b1, , t1b2] = closed;
    const first = await boss.call('GET', `/v1/settlements?terminalId=${DEMO.terminalId}&limit=1`);
    expect(first.body).toMatchObject({ data: [t1b2], hasMore: true });
    const next = await boss.call(
      'GET',
      `/v1/settlements?terminalId=${DEMO.terminalId}&limit=1&cursor=${first.body.nextCursor}`,
    );
    expect(next.body).toEqual({ data: [t1b1], hasMore: false, nextCursor: null });
    const t2 = await boss.call('GET', `/v1/settlements?terminalId=${T2}`);
    expect(t2.body.data.map((s: { terminalId: string }) => s.terminalId)).toEqual([T2]);
    const none = await boss.call('GET', '/v1/settlements?terminalId=T9999999');
    expect(none.body).toEqual({ data: [], hasMore: false, nextCursor: null });
  });

  it('filters by when the batch was closed', async () => {
    const [, t2, t1b2] = closed as { createdAt: string; id: string }[];
    const since = await boss.call('GET', `/v1/settlements?from=${encodeURIComponent(t2?.createdAt ?? '')}`);
    expect(since.body.data.map((s: { id: string }) => s.id)).toEqual([t1b2?.id, t2?.id]);
    const before = await boss.call('GET', `/v1/settlements?to=${encodeURIComponent(t2?.createdAt ?? '')}`);
    expect(before.body.data.map((s: { id: string }) => s.id)).toEqual([closed[0]?.id]);
  });

  it('shows one batch, to supervisors and admins only', async () => {
    for (const batch of closed) {
      const r = await boss.call('GET', `/v1/settlements/${batch.id}`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual(batch);
    }
    const missing = await boss.call('GET', '/v1/settlements/stl_unknown');
    expect({ status: missing.status, code: missing.body.code }).toEqual({ status: 404, code: 'not_found' });
    for (const path of ['/v1/settlements', `/v1/settlements/${closed[0]?.id}`]) {
      const r = await cashier.call('GET', path);
      expect({ status: r.status, code: r.body.code }, path).toEqual({ status: 403, code: 'forbidden' });
    }
    const admin = await signIn(sys.base, '99', '12345678');
    expect((await admin.call('GET', '/v1/settlements')).status).toBe(200);
  });

  it('lists each mismatch of the day with what to do about it', async () => {
    const t2Sale = sim.ledger.db
      .prepare("select rrn from txns where terminal_id = ? and kind = 'sale'")
      .get(T2) as { rrn: string };
    sim.ledger.db.prepare('delete from txns where rrn = ?').run(t2Sale.rrn);
    const r = await boss.call('POST', '/v1/reconciliations', { day: DAY });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.balanced).toBe(false);
    const advised = (r.body.mismatches as { kind: string; reference: string; advice: { code: string } }[])
      .map((m) => [m.kind, m.reference, m.advice.code])
      .sort();
    expect(advised).toEqual(
      [
        ['amount_differs', tamperedSale.reference, 'ask_acquirer_to_correct_amount'],
        ['missing_in_network', t2Sale.rrn, 'confirm_sale_with_acquirer'],
      ].sort(),
    );
    for (const m of r.body.mismatches) {
      expect(m.advice.text['zh-CN']).toMatch(/收单机构/);
      expect(m.advice.text.en).toMatch(/acquirer/);
      expect(m.advice.text['zh-TW']).toBeTruthy();
    }
    const again = await boss.call('GET', `/v1/reconciliations/${r.body.id}`);
    expect(again.body).toEqual(r.body);
  });
});
