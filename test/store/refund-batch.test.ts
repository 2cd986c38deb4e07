/**
 * Group commit must not change a single outcome. Refunds decided together (`createRefunds`, the
 * batch path of POST /v1/refunds) against one set of locked payments must answer, refuse and
 * write exactly what the same requests would, one transaction each, in the same order — checked on
 * random request sequences (fast-check), on both stores, by the answers and by the payments'
 * totals, line quantities, day total and funds the store holds afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import type { VerifiedApproval } from '../../src/domain/refund.js';
import { authenticate, verifyApprovals } from '../../src/service/auth.js';
import type { Caller } from '../../src/service/context.js';
import { createRefund, createRefunds, type RefundInput } from '../../src/service/refunds.js';
import { verifyAudit } from '../../src/store/audit.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
} from '../support/system.js';

interface Step {
  target: 'id' | 'order' | 'both' | 'conflict' | 'missing';
  amount?: number;
  items?: { sku: string; qty: number }[];
  approved: boolean;
  reason: 'quality_issue' | 'other';
}

const step: fc.Arbitrary<Step> = fc.record({
  target: fc.constantFrom('id', 'id', 'id', 'order', 'both', 'conflict', 'missing'),
  amount: fc.option(fc.integer({ min: -5, max: 700 }), { nil: undefined }),
  items: fc.option(
    fc.array(fc.record({ sku: fc.constantFrom('A', 'B', 'Z'), qty: fc.integer({ min: 0, max: 4 }) }), {
      minLength: 0,
      maxLength: 2,
    }),
    { nil: undefined },
  ),
  approved: fc.boolean(),
  reason: fc.constantFrom('quality_issue', 'quality_issue', 'other'),
});

describe.each(storeTargets)('refunds decided together on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let caller: Caller;
  let approvals: VerifiedApproval[];

  beforeAll(async () => {
    // No worker: an approved refund stays approved, so both runs' books can be compared while the
    // network would otherwise be settling the first run's refunds.
    sys = await startTestSystem(await target.freshUrl(), { worker: false });
    const admin = await signIn(sys.base, '99', '12345678');
    await admin.call('PUT', '/v1/policy', { dailyRefundLimit: 1_000_000_000 });
    cashier = await signIn(sys.base, '01', '1111');
    caller = await authenticate(sys.ctx, cashier.token);
    approvals = await verifyApprovals(sys.ctx, caller.merchantId, [supervisor]);
  });
  afterAll(async () => {
    await sys.close();
  });

  async function sale() {
    const no = orderNo('B');
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: no,
      amount: 1_000,
      currency: 'CNY',
      method: 'cash',
      items: [
        { sku: 'A', name: 'Tea', qty: 3, unitAmount: 200 },
        { sku: 'B', name: 'Cup', qty: 2, unitAmount: 200 },
      ],
    });
    expect(r.status).toBe(201);
    return { id: r.body.id as string, orderNo: no };
  }

  function input(s: Step, p: { id: string; orderNo: string }): RefundInput {
    const ref =
      s.target === 'id'
        ? { paymentId: p.id }
        : s.target === 'order'
          ? { orderNo: p.orderNo }
          : s.target === 'both'
            ? { paymentId: p.id, orderNo: p.orderNo }
            : s.target === 'conflict'
              ? { paymentId: p.id, orderNo: `${p.orderNo}-other` }
              : { paymentId: `pay_missing_${p.id}` };
    return {
      ...ref,
      amount: s.amount,
      items: s.items,
      reason: s.reason === 'other' ? { code: 'other', note: 'batch test' } : { code: 'quality_issue' },
    };
  }

  /** What an outcome says, without the ids and times that differ between the two runs. */
  function gist(o: { ok: true; value: Record<string, unknown> } | { ok: false; error: unknown }) {
    if (!o.ok) return { error: o.error instanceof DomainError ? o.error.code : String(o.error) };
    const v = o.value;
    const next = v.nextStep as
      | { code: string; approvalsRequired: number; approvalsGiven: number }
      | undefined;
    return {
      status: v.status,
      amount: v.amount,
      fee: v.fee,
      items: v.items,
      next: next && [next.code, next.approvalsRequired, next.approvalsGiven],
    };
  }

  async function totals(paymentId: string) {
    const p = await sys.ctx.store.db
      .selectFrom('payments')
      .select(['refunded_minor', 'in_flight_minor'])
      .where('id', '=', paymentId)
      .executeTakeFirstOrThrow();
    const items = await sys.ctx.store.db
      .selectFrom('payment_items')
      .select(['sku', 'refunded_qty'])
      .where('payment_id', '=', paymentId)
      .orderBy('sku')
      .execute();
    return { refunded: Number(p.refunded_minor), inFlight: Number(p.in_flight_minor), items };
  }

  async function merchantMoney() {
    const m = await sys.ctx.store.db
      .selectFrom('merchants')
      .select('available_funds_minor')
      .where('id', '=', caller.merchantId)
      .executeTakeFirstOrThrow();
    const d = await sys.ctx.store.db
      .selectFrom('merchant_day_totals')
      .select((eb) => eb.fn.sum<number>('amount_minor').as('sum'))
      .where('merchant_id', '=', caller.merchantId)
      .executeTakeFirst();
    return { funds: Number(m.available_funds_minor), day: Number(d?.sum ?? 0) };
  }

  it('answers and writes what one transaction per request would, in the same order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const one = await sale();
        const together = await sale();
        const moneyBefore = await merchantMoney();

        const alone = [];
        for (const s of steps) {
          try {
            const value = await sys.ctx.store.tx((trx) =>
              createRefund(sys.ctx, trx, caller, input(s, one), s.approved ? approvals : []),
            );
            alone.push(gist({ ok: true, value }));
          } catch (error) {
            alone.push(gist({ ok: false, error }));
          }
        }
        const moneyBetween = await merchantMoney();

        const batched = await sys.ctx.store.tx((trx) =>
          createRefunds(
            sys.ctx,
            trx,
            caller.merchantId,
            steps.map((s) => ({
              caller,
              input: input(s, together),
              approvals: s.approved ? approvals : [],
            })),
          ),
        );
        const moneyAfter = await merchantMoney();

        expect(batched.map((o) => gist(o as never))).toEqual(alone);
        expect(await totals(together.id)).toEqual(await totals(one.id));
        // The batch moved the merchant's funds and day total exactly as much as the single runs.
        expect(moneyAfter.funds - moneyBetween.funds).toBe(moneyBetween.funds - moneyBefore.funds);
        expect(moneyAfter.day - moneyBetween.day).toBe(moneyBetween.day - moneyBefore.day);
      }),
      { numRuns: 25 },
    );
    expect(await verifyAudit(sys.ctx.store, caller.merchantId)).toMatchObject({ ok: true });
  }, 120_000);

  it('decides concurrent HTTP requests together and never passes the refundable amount', async () => {
    const p = await sale();
    const before = sys.ctx.store.groupStats().batched;
    // SQLite: hold its one connection while the requests arrive, so they meet in one group (with
    // the client in this same process they would otherwise often arrive one per turn).
    let release = () => {};
    const held =
      target.name === 'sqlite'
        ? sys.ctx.store.tx(() => new Promise<void>((r) => (release = r)))
        : Promise.resolve();
    const sent = Promise.all(
      Array.from({ length: 30 }, () =>
        cashier.call('POST', '/v1/refunds', {
          paymentId: p.id,
          amount: 70,
          reason: { code: 'quality_issue' },
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    release();
    await held;
    const results = await sent;
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(14);
    expect(statuses.filter((s) => s === 409)).toHaveLength(16);
    expect(await totals(p.id)).toMatchObject({ inFlight: 980, refunded: 0 });
    // 30 requests in flight at once: some of them were decided together.
    expect(sys.ctx.store.groupStats().batched).toBeGreaterThan(before);
  });
});
