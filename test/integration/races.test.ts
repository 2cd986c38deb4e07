import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type StoreTarget, storeTargets } from '../support/stores.js';
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
import { ledgerViolations } from './support/ledger.js';

/**
 * Issue 8: races between a local check and the network. Every case is judged by the simulator's
 * own ledger (GET /ledger on its control port), not by our API's answers, and made deterministic
 * by holding the network's answers back (`PUT /faults {delayMs}`) and waiting for the store to
 * show the step in between — never by sleeping and hoping.
 */
const PAN = testPan('622202100009999');

interface Effect {
  reference: string;
  kind: 'sale' | 'refund' | 'qr_sale' | 'qr_refund';
  amount: number;
}

/** The whole service on `target` with the bundled simulator, a signed-in cashier and its control API. */
async function startRig(target: StoreTarget, dirPrefix: string, networkTimeoutMs: number) {
  const sys = await startTestSystem(await target.freshUrl(), {
    network: 'sim',
    dataDir: mkdtempSync(join(tmpdir(), dirPrefix)),
    networkDelayMs: 20,
    networkTimeoutMs,
    workerBackoffMs: 100,
  });
  const cashier = await signIn(sys.base, '01', '1111');
  return { sys, cashier, control: `http://127.0.0.1:${sys.simulator?.controlPort}` };
}

describe.each(storeTargets)('exactly once, even in races, on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let control: string;
  beforeAll(async () => {
    ({ sys, cashier, control } = await startRig(target, 'refund-desk-races-', 8_000));
  });
  afterAll(async () => {
    await sys?.close();
  });
  beforeEach(async () => {
    await faults({ delayMs: 0 });
  });

  const faults = (patch: Record<string, unknown>) => call(control, 'PUT', '/faults', patch);
  const effects = async (): Promise<Effect[]> =>
    (await call(control, 'GET', `/ledger?merchantId=${DEMO.merchantId}`)).body.effects;
  const db = () => sys.ctx.store.db;

  const sale = async (method: 'card' | 'qr', amount = 10_000, no = orderNo(method)) => {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: no,
      amount,
      currency: 'CNY',
      method,
      ...(method === 'card' ? { card: { pan: PAN, expiry: '2912' } } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; orderNo: string; network: { reference: string } };
  };
  const refund = (paymentId: string, amount: number) =>
    cashier.call('POST', '/v1/refunds', {
      paymentId,
      amount,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
  const finished = (id: string) =>
    until(
      async () => (await cashier.call('GET', `/v1/refunds/${id}`)).body,
      (r) => ['succeeded', 'failed', 'canceled'].includes(r.status),
      20_000,
    );
  const refundEffects = async (reference: string) =>
    (await effects()).filter(
      (e) => (e.kind === 'refund' || e.kind === 'qr_refund') && e.reference === reference,
    );

  it('refuses to cancel a refund the worker has handed to the network, and pays it once', async () => {
    const s = await sale('card');
    await faults({ delayMs: 1_500 });
    const r = await refund(s.id, 4_000);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    // The worker stamps the hand-off under the refund's lock before it sends anything.
    await until(
      () => db().selectFrom('refunds').select('handed_off_at').where('id', '=', r.body.id).executeTakeFirst(),
      (row) => Boolean(row?.handed_off_at),
    );
    const cancel = await cashier.call('POST', `/v1/refunds/${r.body.id}/cancel`, { note: 'changed mind' });
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(409);
    expect(cancel.body.code).toBe('refund_at_network');
    const done = await finished(r.body.id);
    expect(done.status).toBe('succeeded');
    await faults({ delayMs: 0 });
    expect(await refundEffects(done.network.reference)).toEqual([expect.objectContaining({ amount: 4_000 })]);
    // The payment did not get its 4000 back: at most 6000 more can be refunded.
    const over = await refund(s.id, 6_001);
    expect(over.body.code).toBe('refund_exceeds_refundable');
    const rest = await refund(s.id, 6_000);
    expect(rest.status).toBe(201);
    const restDone = await finished(rest.body.id);
    const paid = (await effects())
      .filter(
        (e) =>
          e.kind === 'refund' && [done.network.reference, restDone.network.reference].includes(e.reference),
      )
      .reduce((sum, e) => sum + e.amount, 0);
    expect(paid).toBe(10_000);
  });

  it('cancels a refund the network has not seen, and the network never pays it', async () => {
    const s = await sale('card');
    await sys.worker?.stop();
    try {
      const r = await refund(s.id, 2_500);
      expect(r.body.status).toBe('approved');
      const cancel = await cashier.call('POST', `/v1/refunds/${r.body.id}/cancel`, { note: 'wrong item' });
      expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
      expect(cancel.body.status).toBe('canceled');
    } finally {
      sys.worker?.start();
    }
    await sys.worker?.drain();
    const payment = (await cashier.call('GET', `/v1/payments/${s.id}`)).body;
    expect(payment.refundableAmount ?? payment.refundable).toBe(10_000);
    expect((await effects()).filter((e) => e.kind === 'refund' && e.amount === 2_500)).toHaveLength(0);
  });

  it('holds refunds of a payment while its void is at the network; the void stands on both sides', async () => {
    const s = await sale('card');
    await faults({ delayMs: 1_200 });
    const voiding = cashier.call('POST', `/v1/payments/${s.id}/void`, { approvals: [supervisor] });
    await until(
      () =>
        db()
          .selectFrom('operations')
          .select('status')
          .where('payment_id', '=', s.id)
          .where('kind', '=', 'void')
          .executeTakeFirst(),
      (op) => op?.status === 'reserved',
    );
    const racing = await refund(s.id, 1_000);
    expect(racing.status, JSON.stringify(racing.body)).toBe(409);
    expect(racing.body.code).toBe('operation_in_progress');
    const v = await voiding;
    expect(v.status, JSON.stringify(v.body)).toBe(200);
    expect(v.body.status).toBe('voided');
    // The network voided the sale (its effect no longer stands) and no refund reached it.
    const standing = await effects();
    expect(standing.filter((e) => e.kind === 'sale' && e.reference === s.network.reference)).toHaveLength(0);
    expect(
      await db().selectFrom('refunds').select('id').where('payment_id', '=', s.id).execute(),
    ).toHaveLength(0);
  });

  it('refuses a void while a refund is in flight, before anything reaches the network', async () => {
    const s = await sale('card');
    await sys.worker?.stop();
    try {
      const r = await refund(s.id, 1_000);
      expect(r.body.status).toBe('approved');
      const v = await cashier.call('POST', `/v1/payments/${s.id}/void`, { approvals: [supervisor] });
      expect(v.status).toBe(409);
      expect(v.body.code).toBe('void_not_allowed');
      expect(
        (await effects()).filter((e) => e.kind === 'sale' && e.reference === s.network.reference),
      ).toHaveLength(1);
    } finally {
      sys.worker?.start();
    }
    await sys.worker?.drain();
  });

  it('refuses a sale in another currency before the network charges it', async () => {
    const before = (await effects()).length;
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('USD'),
      amount: 5_000,
      currency: 'USD',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('currency_mismatch');
    expect((await effects()).length).toBe(before);
  });

  it('lets one of four parallel sales of one order number through; the network charges once', async () => {
    await faults({ delayMs: 300 });
    const no = orderNo('PAR');
    const answers = await Promise.all(
      [0, 1, 2, 3].map(() =>
        cashier.call('POST', '/v1/payments', {
          orderNo: no,
          amount: 7_700,
          currency: 'CNY',
          method: 'card',
          card: { pan: PAN, expiry: '2912' },
        }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409]);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.code).toBe('duplicate_order');
    await faults({ delayMs: 0 });
    const won = answers.find((a) => a.status === 201)?.body;
    const sales = (await effects()).filter((e) => e.kind === 'sale' && e.amount === 7_700);
    expect(sales.map((e) => e.reference)).toEqual([won.network.reference]);
  });

  it('voids at the network a sale whose local write failed after the network approved it', async () => {
    await faults({ delayMs: 800 });
    const no = orderNo('COMP');
    const paying = cashier.call('POST', '/v1/payments', {
      orderNo: no,
      amount: 6_600,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    await until(
      () => db().selectFrom('operations').select('status').where('order_no', '=', no).executeTakeFirst(),
      (op) => op?.status === 'reserved',
    );
    // While the network works, the merchant's currency changes: the local write must fail.
    await db().updateTable('merchants').set({ currency: 'HKD' }).where('id', '=', DEMO.merchantId).execute();
    let answer: Awaited<typeof paying>;
    try {
      answer = await paying;
    } finally {
      await db()
        .updateTable('merchants')
        .set({ currency: 'CNY' })
        .where('id', '=', DEMO.merchantId)
        .execute();
    }
    expect(answer.status).toBe(422);
    expect(answer.body.code).toBe('currency_mismatch');
    await faults({ delayMs: 0 });
    await until(
      () => db().selectFrom('operations').select('status').where('order_no', '=', no).executeTakeFirst(),
      (op) => op?.status === 'compensated',
      20_000,
    );
    expect((await effects()).filter((e) => e.kind === 'sale' && e.amount === 6_600)).toHaveLength(0);
    expect(await db().selectFrom('payments').select('id').where('order_no', '=', no).execute()).toHaveLength(
      0,
    );
  });

  it('charges one of five parallel amount increases of a QR order; the wallet holds one charge', async () => {
    const s = await sale('qr');
    await faults({ delayMs: 300 });
    const answers = await Promise.all(
      [100, 200, 300, 400, 500].map((d) =>
        cashier.call('POST', `/v1/orders/${s.orderNo}/adjustments`, {
          originalAmount: 10_000,
          newAmount: 10_000 + d,
          reason: { code: 'transaction_error' },
          approvals: [supervisor],
        }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409]);
    await faults({ delayMs: 0 });
    const won = answers.find((a) => a.status === 201)?.body;
    const order = (await cashier.call('GET', `/v1/orders/${s.orderNo}`)).body;
    expect(order.currentAmount).toBe(10_000 + won.difference);
    const charges = (await effects()).filter(
      (e) => e.kind === 'qr_sale' && e.amount >= 100 && e.amount <= 500,
    );
    expect(charges.map((e) => e.reference)).toEqual([won.charge.network.reference]);
  });

  it('refuses an increase of a card order up front, without the network', async () => {
    const s = await sale('card');
    const before = (await effects()).length;
    const r = await cashier.call('POST', `/v1/orders/${s.orderNo}/adjustments`, {
      originalAmount: 10_000,
      newAmount: 10_500,
      reason: { code: 'transaction_error' },
      approvals: [supervisor],
    });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('charge_needs_card');
    expect((await effects()).length).toBe(before);
  });

  it('leaves store and network in agreement, to the fen', async () => {
    await sys.worker?.drain();
    expect(await ledgerViolations(sys.ctx.store)).toEqual([]);
    const standing = await effects();
    const payments = await db()
      .selectFrom('payments')
      .selectAll()
      .where('network_reference', 'is not', null)
      .execute();
    const refunds = await db().selectFrom('refunds').selectAll().execute();
    const problems: string[] = [];
    for (const p of payments) {
      const saleKind = p.method === 'qr' ? 'qr_sale' : 'sale';
      const mine = standing.filter((e) => e.kind === saleKind && e.reference === p.network_reference);
      const expected = p.voided === 1 ? 0 : 1;
      if (mine.length !== expected)
        problems.push(`payment ${p.id}: ${mine.length} standing sale effects, want ${expected}`);
      for (const r of refunds.filter((x) => x.payment_id === p.id)) {
        const ref = p.method === 'qr' ? r.id : r.network_reference;
        const paid = standing.filter((e) => e.kind.endsWith('refund') && e.reference === ref);
        const want = r.status === 'succeeded' ? [Number(r.net_amount_minor)] : [];
        if (JSON.stringify(paid.map((e) => e.amount)) !== JSON.stringify(want))
          problems.push(
            `refund ${r.id} (${r.status}): network holds ${JSON.stringify(paid.map((e) => e.amount))}`,
          );
      }
    }
    // Nothing stands at the network that our store does not know.
    const known = new Set([
      ...payments.map((p) => p.network_reference),
      ...refunds.flatMap((r) => [r.id, r.network_reference]),
    ]);
    for (const e of standing)
      if (!known.has(e.reference)) problems.push(`unknown ${e.kind} ${e.reference} of ${e.amount}`);
    expect(problems).toEqual([]);
    const pending = await db()
      .selectFrom('outbox')
      .select(['kind', 'ref_id'])
      .where('status', '=', 'pending')
      .execute();
    expect(pending).toEqual([]);
  });
});

describe.each(storeTargets)('a QR void the wallet applied but did not answer, on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let control: string;
  // A short timeout, so the wallet's delayed answer to the void arrives after we gave up on it.
  beforeAll(async () => {
    ({ sys, cashier, control } = await startRig(target, 'refund-desk-qr-void-', 1_000));
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('holds the payment, asks the wallet again and records the void it made (found by the simulation, seed 3)', async () => {
    const sale = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('QRV'),
      amount: 10_000,
      currency: 'CNY',
      method: 'qr',
    });
    expect(sale.status).toBe(201);
    await call(control, 'PUT', '/faults', { delayMs: 1_500 });
    const v = await cashier.call('POST', `/v1/payments/${sale.body.id}/void`, { approvals: [supervisor] });
    expect(v.status).toBe(503);
    expect(v.body.code).toBe('network_unavailable');
    // Until the wallet has been asked again, no refund may be taken on the payment.
    const racing = await cashier.call('POST', '/v1/refunds', {
      paymentId: sale.body.id,
      amount: 1_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(racing.status).toBe(409);
    expect(racing.body.code).toBe('operation_in_progress');
    await call(control, 'PUT', '/faults', { delayMs: 0 });
    const payment = await until(
      async () => (await cashier.call('GET', `/v1/payments/${sale.body.id}`)).body,
      (p) => p.status === 'voided',
      20_000,
    );
    expect(payment.status).toBe('voided');
    const standing = (await call(control, 'GET', `/ledger?merchantId=${DEMO.merchantId}`)).body
      .effects as Effect[];
    expect(
      standing.filter((e) => e.kind === 'qr_sale' && e.reference === sale.body.network.reference),
    ).toEqual([]);
  });
});
