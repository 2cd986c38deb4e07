import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  supervisor2,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';

const PAN = testPan('622202100009876');

describe.each(storeTargets)('REST API v1 on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let admin: Client;
  let offsetMs = 0;

  beforeAll(async () => {
    sys = await startTestSystem(
      await target.freshUrl(),
      {},
      { clock: () => new Date(Date.now() + offsetMs) },
    );
    cashier = await signIn(sys.base, '01', '1111');
    admin = await signIn(sys.base, '99', '12345678');
  });
  afterAll(async () => {
    await sys?.close();
  });

  const inProcess = () => {
    if (!sys.inProcess) throw new Error('this suite runs on the in-process acquirer');
    return sys.inProcess;
  };

  async function pay(amount: number, extra: Record<string, unknown> = {}) {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo(),
      amount,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
      ...extra,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  }

  async function settledRefund(id: string) {
    return until(
      async () => (await cashier.call('GET', `/v1/refunds/${id}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
    );
  }

  it('reports store and network health', async () => {
    const r = await call(sys.base, 'GET', '/v1/health');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ store: 'ok', network: 'up' });
  });

  it('describes the whole API in OpenAPI 3 and renders it at /docs', async () => {
    const r = await call(sys.base, 'GET', '/openapi.json');
    expect(r.body.openapi).toMatch(/^3\./);
    for (const path of [
      '/v1/sessions',
      '/v1/payments',
      '/v1/refunds',
      '/v1/refunds/{id}/approve',
      '/v1/policy',
      '/v1/audit/verify',
    ]) {
      expect(Object.keys(r.body.paths)).toContain(path);
    }
    const docs = await fetch(`${sys.base}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });

  it('signs operators in with their role and refuses a wrong password as problem+json', async () => {
    const ok = await call(sys.base, 'POST', '/v1/sessions', {
      terminalId: DEMO.terminalId,
      operatorNo: '00',
      password: '123456',
    });
    expect(ok.status).toBe(201);
    expect(ok.body.operator).toEqual({ no: '00', role: 'supervisor', name: expect.any(String) });
    const bad = await call(sys.base, 'POST', '/v1/sessions', {
      terminalId: DEMO.terminalId,
      operatorNo: '01',
      password: '9999',
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(bad.body).toMatchObject({
      code: 'unauthenticated',
      status: 401,
      type: expect.any(String),
      title: expect.any(String),
    });
  });

  it('requires a bearer token', async () => {
    const r = await call(sys.base, 'GET', '/v1/refunds');
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('unauthenticated');
  });

  it('takes a card payment keeping only BIN and last four of the card', async () => {
    const p = await pay(12_000);
    expect(p).toMatchObject({
      amount: 12_000,
      currency: 'CNY',
      method: 'card',
      status: 'captured',
      refundableAmount: 12_000,
      settled: false,
    });
    expect(p.card).toEqual({ last4: PAN.slice(-4), bin: PAN.slice(0, 6) });
    expect(JSON.stringify(p)).not.toContain(PAN);
    const found = await cashier.call('GET', `/v1/payments?last4=${PAN.slice(-4)}&amount=12000`);
    expect(found.body.data.map((x: { id: string }) => x.id)).toContain(p.id);
  });

  it('refuses money that is not an integer of minor units, and writes nothing', async () => {
    const before = await cashier.call('GET', '/v1/payments?limit=100');
    for (const amount of ['100', 10.5, -5, 0]) {
      const r = await cashier.call('POST', '/v1/payments', {
        orderNo: orderNo(),
        amount,
        currency: 'CNY',
        method: 'cash',
      });
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('validation_failed');
    }
    const after = await cashier.call('GET', '/v1/payments?limit=100');
    expect(after.body.data.length).toBe(before.body.data.length);
  });

  it('runs a partial refund with a supervisor approval to succeeded through the network', async () => {
    const p = await pay(10_000);
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 2_500,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      paymentId: p.id,
      orderNo: p.orderNo,
      amount: 2_500,
      fee: 0,
      netAmount: 2_500,
      currency: 'CNY',
      reason: { code: 'quality_issue' },
      method: 'original',
      delayed: false,
      approvals: [{ operatorNo: '00', at: expect.any(String) }],
    });
    expect(['approved', 'processing', 'succeeded']).toContain(r.body.status);
    expect(r.body.expectedArrival).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const done = await settledRefund(r.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.network).toMatchObject({
      reference: expect.any(String),
      responseCode: '00',
      outcome: { kind: 'success' },
    });
    const after = (await cashier.call('GET', `/v1/payments/${p.id}`)).body;
    expect(after).toMatchObject({
      status: 'partially_refunded',
      refundedAmount: 2_500,
      refundableAmount: 7_500,
    });
    const history = (await cashier.call('GET', `/v1/refunds/${r.body.id}/events`)).body.data.map(
      (e: { to: string }) => e.to,
    );
    expect(history).toEqual(['approved', 'processing', 'succeeded']);
  });

  it('refunds the whole remainder when no amount is given, then marks the payment refunded', async () => {
    const p = await pay(4_000);
    const r = await cashier.call('POST', '/v1/refunds', {
      orderNo: p.orderNo,
      reason: { code: 'duplicate_payment' },
      approvals: [supervisor],
    });
    expect(r.status).toBe(201);
    expect(r.body.amount).toBe(4_000);
    await settledRefund(r.body.id);
    expect((await cashier.call('GET', `/v1/payments/${p.id}`)).body).toMatchObject({
      status: 'refunded',
      refundableAmount: 0,
    });
    const again = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 1,
      reason: { code: 'quality_issue' },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('refund_exceeds_refundable');
  });

  it('refunds by line items and tracks the units left', async () => {
    const p = await pay(13_000, {
      items: [
        { sku: 'A', name: '茶叶', qty: 1, unitAmount: 10_000 },
        { sku: 'B', name: '茶杯', qty: 3, unitAmount: 1_000 },
      ],
    });
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      items: [{ sku: 'B', qty: 2 }],
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(r.status).toBe(201);
    expect(r.body.amount).toBe(2_000);
    expect(r.body.items).toEqual([{ sku: 'B', qty: 2, amountMinor: 2_000 }]);
    const over = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      items: [{ sku: 'B', qty: 2 }],
      reason: { code: 'quality_issue' },
    });
    expect(over.status).toBe(409);
    expect(over.body.code).toBe('refund_exceeds_refundable');
    const payment = (await cashier.call('GET', `/v1/payments/${p.id}`)).body;
    expect(payment.items.find((i: { sku: string }) => i.sku === 'B').refundedQty).toBe(2);
  });

  it('queues a refund without approvals as requested, and a supervisor approval sends it on', async () => {
    const p = await pay(3_000);
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 1_000,
      reason: { code: 'expired_goods' },
    });
    expect(r.body.status).toBe('requested');
    const queue = await cashier.call('GET', '/v1/refunds?status=requested&limit=100');
    expect(queue.body.data.map((x: { id: string }) => x.id)).toContain(r.body.id);
    const approved = await cashier.call('POST', `/v1/refunds/${r.body.id}/approve`, {
      approvals: [supervisor],
    });
    expect(approved.status).toBe(200);
    expect(['approved', 'processing', 'succeeded']).toContain(approved.body.status);
    expect((await settledRefund(r.body.id)).status).toBe('succeeded');
  });

  it('needs two different supervisors at the large-refund threshold (双人核对)', async () => {
    const p = await pay(600_000);
    const one = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 500_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(one.status).toBe(201);
    expect(one.body.status).toBe('under_review');
    const same = await cashier.call('POST', `/v1/refunds/${one.body.id}/approve`, {
      approvals: [supervisor],
    });
    expect(same.status).toBe(422);
    expect(same.body.code).toBe('same_approver');
    const second = await cashier.call('POST', `/v1/refunds/${one.body.id}/approve`, {
      approvals: [supervisor2],
    });
    expect(second.status).toBe(200);
    expect(second.body.approvals.map((a: { operatorNo: string }) => a.operatorNo)).toEqual(['00', '02']);
    expect((await settledRefund(one.body.id)).status).toBe('succeeded');
    const twice = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 100,
      reason: { code: 'quality_issue' },
      approvals: [supervisor, supervisor],
    });
    expect(twice.status).toBe(422);
    expect(twice.body.code).toBe('same_approver');
  });

  it('refuses a cashier as approver and a wrong supervisor password, writing nothing', async () => {
    const p = await pay(2_000);
    const cashierApproves = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 100,
      reason: { code: 'quality_issue' },
      approvals: [{ operatorNo: '01', password: '1111' }],
    });
    expect(cashierApproves.status).toBe(403);
    expect(cashierApproves.body.code).toBe('approver_not_authorised');
    const wrong = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 100,
      reason: { code: 'quality_issue' },
      approvals: [{ operatorNo: '02', password: 'nope' }],
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.code).toBe('supervisor_password_invalid');
    expect((await cashier.call('GET', `/v1/payments/${p.id}`)).body.refundableAmount).toBe(2_000);
  });

  it('locks a supervisor after 5 wrong refund passwords and says for how long', async () => {
    // Operator 02 is used here; every earlier wrong attempt was followed by a good one (reset).
    const p = await pay(2_000);
    const attempt = (password: string) =>
      cashier.call('POST', '/v1/refunds', {
        paymentId: p.id,
        amount: 100,
        reason: { code: 'quality_issue' },
        approvals: [{ operatorNo: '02', password }],
      });
    expect((await attempt('222222')).status).toBe(201);
    for (let i = 0; i < 4; i++) expect((await attempt('bad')).body.code).toBe('supervisor_password_invalid');
    const fifth = await attempt('bad');
    expect(fifth.status).toBe(423);
    expect(fifth.body.code).toBe('supervisor_locked');
    const locked = await attempt('222222');
    expect(locked.body.code).toBe('supervisor_locked');
    expect(locked.body.retryAfterSeconds).toBeGreaterThan(14 * 60);
    offsetMs += 16 * 60_000;
    expect((await attempt('222222')).status).toBe(201);
  });

  it('answers each refusal rule with its stable code', async () => {
    const p = await pay(5_000);
    const post = (body: Record<string, unknown>) =>
      cashier.call('POST', '/v1/refunds', { paymentId: p.id, ...body });
    expect((await post({ amount: 5_001, reason: { code: 'quality_issue' } })).body.code).toBe(
      'refund_exceeds_refundable',
    );
    expect((await post({ amount: 100, reason: { code: 'other' } })).body.code).toBe('reason_required');
    expect((await post({ amount: 100, reason: { code: 'bogus' } })).body.code).toBe('validation_failed');
    expect(
      (await post({ amount: 100, items: [{ sku: 'X', qty: 1 }], reason: { code: 'quality_issue' } })).body
        .code,
    ).toBe('validation_failed');
    const missing = await cashier.call('POST', '/v1/refunds', {
      paymentId: 'pay_nope',
      amount: 1,
      reason: { code: 'quality_issue' },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('not_found');
  });

  it('refuses refunds past the window of the payment method', async () => {
    const p = await pay(1_000);
    // Let the worker finish earlier refunds first: none may be processed in the borrowed month.
    await sys.worker?.drain();
    offsetMs += 31 * 86_400_000;
    try {
      const later = await signIn(sys.base, '01', '1111');
      const r = await later.call('POST', '/v1/refunds', {
        paymentId: p.id,
        amount: 100,
        reason: { code: 'quality_issue' },
      });
      expect(r.status).toBe(422);
      expect(r.body.code).toBe('refund_window_expired');
    } finally {
      offsetMs -= 31 * 86_400_000;
    }
  });

  it('fails with insufficient_merchant_funds when the merchant cannot cover the refund', async () => {
    const p = await pay(9_000);
    const { available_funds_minor } = await sys.ctx.store.db
      .selectFrom('merchants')
      .select('available_funds_minor')
      .where('id', '=', DEMO.merchantId)
      .executeTakeFirstOrThrow();
    await sys.ctx.store.db.updateTable('merchants').set({ available_funds_minor: 100 }).execute();
    try {
      const r = await cashier.call('POST', '/v1/refunds', {
        paymentId: p.id,
        amount: 5_000,
        reason: { code: 'quality_issue' },
      });
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ code: 'insufficient_merchant_funds', availableAmount: 100 });
    } finally {
      await sys.ctx.store.db
        .updateTable('merchants')
        .set({ available_funds_minor: Number(available_funds_minor) })
        .execute();
    }
  });

  it('records a scheme refusal (reason not compliant) as failed and gives the amount back', async () => {
    const p = await pay(3_000);
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 1_000,
      reason: { code: 'other', note: 'no' },
      approvals: [supervisor],
    });
    expect(r.status).toBe(201);
    const done = await settledRefund(r.body.id);
    expect(done).toMatchObject({ status: 'failed', network: { responseCode: '57' } });
    expect((await cashier.call('GET', `/v1/payments/${p.id}`)).body.refundableAmount).toBe(3_000);
  });

  it('keeps an approved refund waiting while the network is down and finishes it when the link is back', async () => {
    const p = await pay(3_000);
    inProcess().down = true;
    try {
      const h = await call(sys.base, 'GET', '/v1/health');
      expect(h.body.network).toBe('down');
      const sale = await cashier.call('POST', '/v1/payments', {
        orderNo: orderNo(),
        amount: 100,
        currency: 'CNY',
        method: 'card',
        card: { pan: PAN, expiry: '2912' },
      });
      expect(sale.status).toBe(503);
      expect(sale.body.code).toBe('network_unavailable');
      const r = await cashier.call('POST', '/v1/refunds', {
        paymentId: p.id,
        amount: 500,
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
      });
      expect(r.status).toBe(201);
      await new Promise((res) => setTimeout(res, 300));
      expect((await cashier.call('GET', `/v1/refunds/${r.body.id}`)).body.status).toBe('approved');
      inProcess().down = false;
      await sys.ctx.store.db
        .updateTable('outbox')
        .set({ next_attempt_at: new Date(0).toISOString() })
        .where('ref_id', '=', r.body.id)
        .execute();
      expect((await settledRefund(r.body.id)).status).toBe('succeeded');
    } finally {
      inProcess().down = false;
    }
  });

  it('rejects and cancels refunds in review, releasing the amount', async () => {
    const p = await pay(2_000);
    const a = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 800,
      reason: { code: 'quality_issue' },
    });
    const b = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 700,
      reason: { code: 'quality_issue' },
    });
    expect((await cashier.call('GET', `/v1/payments/${p.id}`)).body.refundableAmount).toBe(500);
    const sup = await signIn(sys.base, '00', '123456');
    expect(
      (await cashier.call('POST', `/v1/refunds/${a.body.id}/reject`, { note: 'goods damaged by customer' }))
        .body.code,
    ).toBe('forbidden');
    const accepted = await sup.call('POST', `/v1/refunds/${a.body.id}/accept`, {});
    expect(accepted.body.status).toBe('under_review');
    const rejected = await sup.call('POST', `/v1/refunds/${a.body.id}/reject`, {
      note: 'goods damaged by customer',
    });
    expect(rejected.body.status).toBe('rejected');
    const canceled = await cashier.call('POST', `/v1/refunds/${b.body.id}/cancel`, {});
    expect(canceled.body.status).toBe('canceled');
    expect((await cashier.call('GET', `/v1/payments/${p.id}`)).body.refundableAmount).toBe(2_000);
    const illegal = await sup.call('POST', `/v1/refunds/${a.body.id}/approve`, { approvals: [supervisor] });
    expect(illegal.status).toBe(409);
    expect(illegal.body.code).toBe('invalid_state_transition');
  });

  it('replays the stored answer for a repeated Idempotency-Key and refuses the key with another body', async () => {
    const p = await pay(5_000);
    const body = { paymentId: p.id, amount: 300, reason: { code: 'quality_issue' } };
    const key = { 'idempotency-key': `k-${orderNo()}` };
    const first = await cashier.call('POST', '/v1/refunds', body, key);
    const second = await cashier.call('POST', '/v1/refunds', body, key);
    expect(second.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const other = await cashier.call('POST', '/v1/refunds', { ...body, amount: 301 }, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    expect((await cashier.call('GET', `/v1/payments/${p.id}`)).body.refundableAmount).toBe(4_700);
  });

  it('makes exactly one refund from 10 parallel requests with one key', async () => {
    const p = await pay(5_000);
    const key = { 'idempotency-key': `race-${orderNo()}` };
    const body = { paymentId: p.id, amount: 100, reason: { code: 'quality_issue' }, approvals: [supervisor] };
    const results = await Promise.all(
      Array.from({ length: 10 }, () => cashier.call('POST', '/v1/refunds', body, key)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const list = await cashier.call('GET', `/v1/refunds?paymentId=${p.id}`);
    expect(list.body.data).toHaveLength(1);
  });

  it('never lets 40 parallel refunds of 30 exceed a payment of 1000: 33 succeed, 7 are refused', async () => {
    const p = await pay(1_000);
    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        cashier.call('POST', '/v1/refunds', {
          paymentId: p.id,
          amount: 30,
          reason: { code: 'quality_issue' },
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(33);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    for (const r of results.filter((x) => x.status === 409))
      expect(r.body.code).toBe('refund_exceeds_refundable');
    const after = (await cashier.call('GET', `/v1/payments/${p.id}`)).body;
    expect(after.inFlightAmount).toBe(990);
    expect(after.refundableAmount).toBe(10);
  });

  it('voids a same-day unsettled payment, and refuses a void after settlement with a pointer to refunds', async () => {
    const p = await pay(1_500);
    const noApproval = await cashier.call('POST', `/v1/payments/${p.id}/void`, { approvals: [] });
    expect(noApproval.status).toBe(400);
    const v = await cashier.call('POST', `/v1/payments/${p.id}/void`, { approvals: [supervisor] });
    expect(v.status).toBe(200);
    expect(v.body).toMatchObject({ status: 'voided', refundableAmount: 0 });
    const refund = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 100,
      reason: { code: 'quality_issue' },
    });
    expect(refund.body.code).toBe('payment_not_completed');
    const q = await pay(1_500);
    const s = await cashier.call('POST', '/v1/settlements', { terminalId: DEMO.terminalId });
    expect(s.status).toBe(201);
    const late = await cashier.call('POST', `/v1/payments/${q.id}/void`, { approvals: [supervisor] });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('void_not_allowed');
    expect(late.body.detail).toMatch(/refund/);
  });

  it('settles a batch and reconciles it balanced with the network', async () => {
    // Settle what is open, so this batch holds only what this test does.
    await until(
      async () => (await cashier.call('GET', '/v1/refunds?status=processing')).body.data.length,
      (n) => n === 0,
    );
    await cashier.call('POST', '/v1/settlements', { terminalId: DEMO.terminalId });
    const a = await pay(10_000);
    const b = await pay(2_000);
    await cashier.call('POST', `/v1/payments/${b.id}/void`, { approvals: [supervisor] });
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: a.id,
      amount: 1_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    await settledRefund(r.body.id);
    const s = await cashier.call('POST', '/v1/settlements', { terminalId: DEMO.terminalId });
    expect(s.status).toBe(201);
    expect(s.body.totals.sales).toEqual({ count: 1, amount: 10_000 });
    expect(s.body.totals.voids).toEqual({ count: 1, amount: 2_000 });
    expect(s.body.totals.refunds).toEqual({ count: 1, amount: 1_000 });
    expect(s.body.reconciliation).toMatchObject({ balanced: true, differences: [] });
    expect((await cashier.call('GET', `/v1/payments/${a.id}`)).body.settled).toBe(true);
  });

  it('adjusts an order amount: a decrease refunds the difference, an increase charges it, with revision history', async () => {
    const p = await pay(10_000, { method: 'qr', card: undefined });
    const mismatch = await cashier.call('POST', `/v1/orders/${p.orderNo}/adjustments`, {
      originalAmount: 9_999,
      newAmount: 8_000,
      reason: { code: 'transaction_error' },
      approvals: [supervisor],
    });
    expect(mismatch.status).toBe(409);
    expect(mismatch.body.code).toBe('adjustment_amount_mismatch');
    const down = await cashier.call('POST', `/v1/orders/${p.orderNo}/adjustments`, {
      originalAmount: 10_000,
      newAmount: 8_000,
      reason: { code: 'transaction_error' },
      approvals: [supervisor],
    });
    expect(down.status).toBe(201);
    expect(down.body).toMatchObject({ difference: -2_000, refund: { amount: 2_000, paymentId: p.id } });
    const up = await cashier.call('POST', `/v1/orders/${p.orderNo}/adjustments`, {
      originalAmount: 8_000,
      newAmount: 8_500,
      reason: { code: 'transaction_error' },
    });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({
      difference: 500,
      charge: { amount: 500, kind: 'charge', parentPaymentId: p.id },
    });
    const order = (await cashier.call('GET', `/v1/orders/${p.orderNo}`)).body;
    expect(order.currentAmount).toBe(8_500);
    // A card cannot be charged again without the card (never kept): refused up front.
    const card = await pay(10_000);
    const cardUp = await cashier.call('POST', `/v1/orders/${card.orderNo}/adjustments`, {
      originalAmount: 10_000,
      newAmount: 10_500,
      reason: { code: 'transaction_error' },
    });
    expect(cardUp.status).toBe(422);
    expect(cardUp.body.code).toBe('charge_needs_card');
    expect(
      order.revisions.map((r: { revision: number; newAmount: number }) => [r.revision, r.newAmount]),
    ).toEqual([
      [1, 8_000],
      [2, 8_500],
    ]);
  });

  it('serves the policy with the contract defaults, lets only an admin change it, and audits the change', async () => {
    const p = (await cashier.call('GET', '/v1/policy')).body;
    expect(p).toMatchObject({
      refundsEnabled: true,
      refundWindowDays: { card: 30, qr: 365, cash: 7 },
      largeRefundThreshold: 500_000,
      feeRule: { originalFee: 'prorata', handlingFee: 0 },
      methods: ['original', 'cash', 'bank_transfer'],
    });
    expect(p.reasons).toEqual([
      'quality_issue',
      'service_not_provided',
      'expired_goods',
      'transaction_error',
      'duplicate_payment',
      'other',
    ]);
    const denied = await cashier.call('PUT', '/v1/policy', { refundsEnabled: false });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('forbidden');
    const off = await admin.call('PUT', '/v1/policy', { refundsEnabled: false });
    expect(off.body.refundsEnabled).toBe(false);
    try {
      const pay1 = await pay(1_000);
      const r = await cashier.call('POST', '/v1/refunds', {
        paymentId: pay1.id,
        amount: 100,
        reason: { code: 'quality_issue' },
      });
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('refunds_disabled');
    } finally {
      await admin.call('PUT', '/v1/policy', { refundsEnabled: true });
    }
    const fee = await admin.call('PUT', '/v1/policy', { feeRule: { originalFee: 'kept', handlingFee: 50 } });
    expect(fee.status).toBe(200);
    try {
      const pay2 = await pay(1_000);
      const r = await cashier.call('POST', '/v1/refunds', {
        paymentId: pay2.id,
        amount: 400,
        reason: { code: 'quality_issue' },
      });
      expect(r.body).toMatchObject({ amount: 400, fee: 50, netAmount: 350, merchantFeeReturned: 0 });
    } finally {
      await admin.call('PUT', '/v1/policy', { feeRule: { originalFee: 'prorata', handlingFee: 0 } });
    }
    const audit = (await admin.call('GET', '/v1/audit')).body.data;
    expect(audit.some((e: { action: string }) => e.action === 'policy.changed')).toBe(true);
  });

  it('pages lists with an opaque cursor, newest first, without overlap', async () => {
    const first = await cashier.call('GET', '/v1/payments?limit=2');
    expect(first.body.data).toHaveLength(2);
    expect(first.body.hasMore).toBe(true);
    const second = await cashier.call('GET', `/v1/payments?limit=2&cursor=${first.body.nextCursor}`);
    const ids1 = first.body.data.map((x: { id: string }) => x.id);
    for (const x of second.body.data) expect(ids1).not.toContain(x.id);
    expect(second.body.data.length).toBeGreaterThan(0);
    expect(second.body.data[0].createdAt <= first.body.data[1].createdAt).toBe(true);
    const bad = await cashier.call('GET', '/v1/payments?cursor=bm9wZQ');
    expect(bad.body.code).toBe('validation_failed');
  });

  it('lets a merchant system use an API key to create refunds but not to approve them', async () => {
    const k = await admin.call('POST', '/v1/api-keys', { name: 'web shop' });
    expect(k.status).toBe(201);
    expect(k.body.key).toMatch(/^rdk_/);
    const shop = (method: string, path: string, body?: unknown) =>
      call(sys.base, method, path, body, {
        authorization: `Bearer ${k.body.key}`,
        'idempotency-key': `shop-${orderNo()}`,
      });
    const p = await pay(2_000);
    const r = await shop('POST', '/v1/refunds', {
      orderNo: p.orderNo,
      amount: 500,
      reason: { code: 'service_not_provided' },
    });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('requested');
    const v = await shop('POST', `/v1/payments/${p.id}/void`, { approvals: [supervisor] });
    expect(v.status).toBe(403);
  });

  it('keeps an append-only audit chain that verifies, and detects tampering', async () => {
    const ok = await admin.call('GET', '/v1/audit/verify');
    expect(ok.body.ok).toBe(true);
    expect(ok.body.entries).toBeGreaterThan(10);
    await expect(
      sys.ctx.store.db.updateTable('audit_log').set({ actor: 'mallory' }).where('seq', '=', 3).execute(),
    ).rejects.toThrow();
    expect((await cashier.call('GET', '/v1/audit/verify')).status).toBe(403);
  });
});
