import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueOutbox } from '../../src/store/repo.js';
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

/** Issue 8, point 9 and the outbox's bounds: the smaller ways a request could go wrong. */
const PAN = testPan('622202100004444');

describe.each(storeTargets)('workflow contract on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let admin: Client;

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), { workerBackoffMs: 10 });
    cashier = await signIn(sys.base, '01', '1111');
    admin = await signIn(
      sys.base,
      DEMO.operators.find((o) => o.role === 'admin')?.no ?? '99',
      adminPassword(),
    );
  });
  afterAll(async () => {
    await sys?.close();
  });

  function adminPassword(): string {
    const a = DEMO.operators.find((o) => o.role === 'admin');
    return a?.password ?? '';
  }

  const pay = async (amount = 10_000) => {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('W'),
      amount,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; orderNo: string };
  };

  it('requires an Idempotency-Key on every call that moves money, and creates nothing without one', async () => {
    const p = await pay();
    const none = { 'idempotency-key': '' };
    const calls: [string, unknown][] = [
      ['/v1/refunds', { paymentId: p.id, amount: 100, reason: { code: 'quality_issue' } }],
      ['/v1/payments', { orderNo: orderNo('K'), amount: 100, currency: 'CNY', method: 'cash' }],
      [`/v1/payments/${p.id}/void`, { approvals: [supervisor] }],
      [
        `/v1/orders/${p.orderNo}/adjustments`,
        { originalAmount: 10_000, newAmount: 9_000, reason: { code: 'transaction_error' } },
      ],
    ];
    for (const [path, body] of calls) {
      const r = await cashier.call('POST', path, body, none);
      expect(r.status, path).toBe(400);
      expect(r.body.code, path).toBe('idempotency_key_required');
    }
    const refunds = await cashier.call('GET', `/v1/refunds?paymentId=${p.id}`);
    expect(refunds.body.data).toHaveLength(0);
    expect((await cashier.call('GET', `/v1/payments/${p.id}`)).body.status).not.toBe('voided');
  });

  it('refuses paymentId and orderNo that name different payments', async () => {
    const a = await pay();
    const b = await pay();
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: a.id,
      orderNo: b.orderNo,
      amount: 100,
      reason: { code: 'quality_issue' },
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('conflicting_references');
    const same = await cashier.call('POST', '/v1/refunds', {
      paymentId: a.id,
      orderNo: a.orderNo,
      amount: 100,
      reason: { code: 'quality_issue' },
    });
    expect(same.status).toBe(201);
  });

  it('refuses a refund the handling fee would take whole, before the network', async () => {
    const policy = (await admin.call('GET', '/v1/policy')).body;
    const put = await admin.call('PUT', '/v1/policy', {
      ...policy,
      feeRule: { originalFee: 'kept', handlingFee: 500 },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    try {
      const p = await pay();
      const r = await cashier.call('POST', '/v1/refunds', {
        paymentId: p.id,
        amount: 500,
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
      });
      expect(r.status).toBe(422);
      expect(r.body.code).toBe('fee_exceeds_amount');
      expect((await cashier.call('GET', `/v1/refunds?paymentId=${p.id}`)).body.data).toHaveLength(0);
    } finally {
      await admin.call('PUT', '/v1/policy', policy);
    }
  });

  it('says in the answer that a large refund needs a second supervisor, and how', async () => {
    const p = await pay(600_000);
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 550_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('under_review');
    expect(r.body.nextStep).toMatchObject({
      code: 'second_approval_required',
      approvalsRequired: 2,
      approvalsGiven: 1,
    });
    expect(r.body.nextStep.detail).toContain(`/v1/refunds/${r.body.id}/approve`);
    const small = await cashier.call('POST', '/v1/refunds', {
      paymentId: p.id,
      amount: 100,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(small.body.status).toBe('approved');
    expect(small.body.nextStep).toBeUndefined();
  });

  it('replays one answer to parallel requests with one key, and refuses the key with another body', async () => {
    const p = await pay();
    const key = { 'idempotency-key': `same-${ulid()}` };
    const body = { paymentId: p.id, amount: 100, reason: { code: 'quality_issue' } };
    const answers = await Promise.all([0, 1, 2, 3].map(() => cashier.call('POST', '/v1/refunds', body, key)));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    const other = await cashier.call('POST', '/v1/refunds', { ...body, amount: 200 }, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
  });

  it('ends work that keeps failing as a visible dead letter with an audit entry', async () => {
    const kind = `test.always_fails.${target.name}`;
    sys.worker?.register(kind, {
      maxAttempts: 3,
      run: async () => {
        throw new Error('the far side refuses');
      },
    });
    const id = `ob_${ulid()}`;
    await sys.ctx.store.tx((trx) =>
      enqueueOutbox(trx, { id, kind, refId: 'x', payload: {}, at: new Date(), merchantId: DEMO.merchantId }),
    );
    for (let i = 0; i < 40; i++) {
      const row = await sys.ctx.store.db
        .selectFrom('outbox')
        .select('status')
        .where('id', '=', id)
        .executeTakeFirst();
      if (row?.status === 'dead') break;
      await sys.worker?.tick();
      await new Promise((r) => setTimeout(r, 20));
    }
    const dead = await admin.call('GET', '/v1/outbox/dead');
    expect(dead.status).toBe(200);
    expect(dead.body.data).toContainEqual(
      expect.objectContaining({ id, kind, attempts: 3, lastError: 'the far side refuses' }),
    );
    const audit = await admin.call('GET', '/v1/audit?limit=100');
    expect(JSON.stringify(audit.body)).toContain('outbox.dead');
    // A cashier does not read the dead-letter list.
    expect((await cashier.call('GET', '/v1/outbox/dead')).status).toBe(403);
    expect((await call(sys.base, 'GET', '/v1/outbox/dead')).status).toBe(401);
  });
});
