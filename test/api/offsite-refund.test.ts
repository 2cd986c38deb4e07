/**
 * Off-site refunds (issue 11, seed 004 "wrong account cannot happen"): a bank-transfer refund for a
 * consumer who is not at the counter needs the account number and the holder's name, each typed
 * twice and equal; a mismatch is refused (422 bank_details_mismatch, naming the field, never the
 * digits) and changes nothing; a match is stored sealed, answered masked, the confirmations kept
 * nowhere, and the refund waits in the review queue unless the approvals given meet the policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unseal } from '../../src/security.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  supervisor2,
  type TestSystem,
} from '../support/system.js';

const ACCOUNT = '6222021234567890';
const ACCOUNT_TYPED = '6222 0212 3456 7890';
const ACCOUNT_MISTYPED = '6222 0212 3456 7809';
const NAME = '王小明';

describe.each(storeTargets)('off-site bank-transfer refunds on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;

  beforeAll(async () => {
    // No worker: an approved refund stays `approved`, and nothing reaches the network by itself.
    sys = await startTestSystem(await target.freshUrl(), { worker: false });
    cashier = await signIn(sys.base, '01', '1111');
  });
  afterAll(async () => {
    await sys?.close();
  });

  async function sale(amount: number): Promise<string> {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('OFF'),
      amount,
      currency: 'CNY',
      method: 'cash',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as string;
  }

  const bankRefund = (paymentId: string, consumer: Record<string, string>, extra: object = {}) =>
    cashier.call('POST', '/v1/refunds', {
      paymentId,
      amount: 10_000,
      method: 'bank_transfer',
      reason: { code: 'quality_issue' },
      consumer,
      ...extra,
    });

  /** Everything a refund request could have changed. */
  async function footprint(paymentId: string) {
    const db = sys.ctx.store.db;
    const count = async (table: 'refunds' | 'outbox' | 'acq_transactions' | 'audit_log' | 'refund_events') =>
      Number((await db.selectFrom(table).select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const payment = await db
      .selectFrom('payments')
      .select(['refunded_minor', 'in_flight_minor'])
      .where('id', '=', paymentId)
      .executeTakeFirstOrThrow();
    const merchant = await db
      .selectFrom('merchants')
      .select('available_funds_minor')
      .executeTakeFirstOrThrow();
    return {
      refunds: await count('refunds'),
      events: await count('refund_events'),
      outbox: await count('outbox'),
      network: await count('acq_transactions'),
      audit: await count('audit_log'),
      refunded: Number(payment.refunded_minor),
      inFlight: Number(payment.in_flight_minor),
      funds: Number(merchant.available_funds_minor),
    };
  }

  it('refuses a mistyped second account number, names the field without echoing digits, and changes nothing', async () => {
    const paymentId = await sale(30_000);
    const before = await footprint(paymentId);
    // With a supervisor's approval: had it been accepted it would go straight to the network.
    const r = await bankRefund(
      paymentId,
      { name: NAME, nameConfirm: NAME, bankAccount: ACCOUNT_TYPED, bankAccountConfirm: ACCOUNT_MISTYPED },
      { approvals: [supervisor] },
    );
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body).toMatchObject({ code: 'bank_details_mismatch', field: 'bankAccount' });
    expect(r.body.detail).toContain('bankAccountConfirm');
    const text = JSON.stringify(r.body);
    for (const digits of ['7890', '7809', ACCOUNT, '6222']) expect(text).not.toContain(digits);
    expect(await footprint(paymentId)).toEqual(before);
  });

  it('refuses a mistyped second name, naming the field', async () => {
    const paymentId = await sale(30_000);
    const before = await footprint(paymentId);
    const r = await bankRefund(paymentId, {
      name: NAME,
      nameConfirm: '王晓明',
      bankAccount: ACCOUNT,
      bankAccountConfirm: ACCOUNT_TYPED,
    });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'bank_details_mismatch', field: 'name' });
    expect(JSON.stringify(r.body)).not.toContain('晓');
    expect(await footprint(paymentId)).toEqual(before);
  });

  it('refuses a bank transfer without the details typed twice, and confirmations on other methods', async () => {
    const paymentId = await sale(30_000);
    const before = await footprint(paymentId);
    const none = await bankRefund(paymentId, {});
    expect(none.status).toBe(400);
    expect(none.body.code).toBe('validation_failed');
    expect(none.body.fields).toEqual([
      'consumer.bankAccount',
      'consumer.bankAccountConfirm',
      'consumer.name',
      'consumer.nameConfirm',
    ]);
    const once = await bankRefund(paymentId, { name: NAME, bankAccount: ACCOUNT });
    expect(once.status).toBe(400);
    expect(once.body.fields).toEqual(['consumer.bankAccountConfirm', 'consumer.nameConfirm']);
    const cash = await cashier.call('POST', '/v1/refunds', {
      paymentId,
      amount: 100,
      method: 'cash',
      reason: { code: 'quality_issue' },
      consumer: { name: NAME, nameConfirm: NAME },
    });
    expect(cash.status).toBe(400);
    const letters = await bankRefund(paymentId, {
      name: NAME,
      nameConfirm: NAME,
      bankAccount: 'ACCOUNT 1234',
      bankAccountConfirm: 'ACCOUNT 1234',
    });
    expect(letters.status).toBe(400);
    expect(await footprint(paymentId)).toEqual(before);
  });

  it('accepts matching details into the review queue (requested), sealed, masked, confirmations not kept', async () => {
    const paymentId = await sale(30_000);
    const r = await bankRefund(paymentId, {
      name: ` ${NAME} `,
      nameConfirm: NAME,
      bankAccount: ACCOUNT_TYPED,
      bankAccountConfirm: ACCOUNT,
      phone: '13800138000',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({
      method: 'bank_transfer',
      status: 'requested',
      consumer: { name: '王**', bankAccount: '****7890', phone: '138****8000' },
      nextStep: { code: 'approval_required', approvalsRequired: 1, approvalsGiven: 0 },
    });
    expect(Object.keys(r.body.consumer).sort()).toEqual(['bankAccount', 'name', 'phone']);
    const answer = JSON.stringify(r.body);
    expect(answer).not.toContain(ACCOUNT);
    expect(answer).not.toContain(NAME);

    const queue = await cashier.call('GET', `/v1/refunds?status=requested&paymentId=${paymentId}`);
    expect(queue.body.data.map((x: { id: string }) => x.id)).toEqual([r.body.id]);

    const row = await sys.ctx.store.db
      .selectFrom('refunds')
      .selectAll()
      .where('id', '=', r.body.id)
      .executeTakeFirstOrThrow();
    const raw = JSON.stringify({ ...row, consumer_enc: null });
    for (const secret of [ACCOUNT, '0212', NAME, 'Confirm', '13800138000']) expect(raw).not.toContain(secret);
    expect(row.consumer_enc).toMatch(/^v2\.k1\./);
    // Sealed as cleaned: the account without spaces, the name trimmed, no confirmation.
    expect(JSON.parse(unseal(sys.ctx.secrets, row.consumer_enc as string))).toEqual({
      name: NAME,
      bankAccount: ACCOUNT,
      phone: '13800138000',
    });
    // The idempotency record keeps the answer (masked), not the request.
    const keys = await sys.ctx.store.db.selectFrom('idempotency_keys').select('response_json').execute();
    for (const k of keys) expect(k.response_json ?? '').not.toContain(ACCOUNT);
  });

  it('skips the queue when the approvals given meet the policy, and waits for a second at the threshold', async () => {
    const small = await bankRefund(
      await sale(30_000),
      { name: NAME, nameConfirm: NAME, bankAccount: ACCOUNT, bankAccountConfirm: ACCOUNT },
      { approvals: [supervisor] },
    );
    expect(small.status, JSON.stringify(small.body)).toBe(201);
    expect(small.body.status).toBe('approved');
    expect(small.body.nextStep).toBeUndefined();

    // At the large-refund threshold (¥5,000) one approval is not enough: two supervisors (双人核对).
    const bigSale = await sale(600_000);
    const consumer = { name: NAME, nameConfirm: NAME, bankAccount: ACCOUNT, bankAccountConfirm: ACCOUNT };
    const one = await bankRefund(bigSale, consumer, { amount: 500_000, approvals: [supervisor] });
    expect(one.status, JSON.stringify(one.body)).toBe(201);
    expect(one.body).toMatchObject({
      status: 'under_review',
      nextStep: { code: 'second_approval_required' },
    });
    const two = await cashier.call('POST', `/v1/refunds/${one.body.id}/approve`, {
      approvals: [supervisor2],
    });
    expect(two.status, JSON.stringify(two.body)).toBe(200);
    expect(two.body.status).toBe('approved');
    expect(two.body.consumer.bankAccount).toBe('****7890');
  });
});
