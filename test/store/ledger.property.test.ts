import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { canTransition, inFlightStatuses, type RefundStatus } from '../../src/domain/refund-state.js';
import type { Caller } from '../../src/service/context.js';
import { approveRefund, createRefund, reviewRefund } from '../../src/service/refunds.js';
import { verifyAudit } from '../../src/store/audit.js';
import { moveRefund } from '../../src/store/ledger.js';
import { adjustmentWorkflow } from '../../src/workflows/adjustment.js';
import { runWorkflow } from '../../src/workflows/run.js';
import { saleWorkflow } from '../../src/workflows/sale.js';
import { voidWorkflow } from '../../src/workflows/void.js';
import { storeTargets } from '../support/stores.js';
import { DEMO, orderNo, startTestSystem, type TestSystem } from '../support/system.js';

/**
 * Model-free property over the real store: any sequence of refunds, approvals, reviews, network
 * outcomes, voids and adjustments, in any order, keeps the ledger's invariants. Operations the
 * rules refuse must fail with a DomainError and change nothing; everything else must balance.
 */
type Op =
  | {
      kind: 'refund';
      amount: number | null;
      items: { sku: string; qty: number }[] | null;
      approvals: 0 | 1 | 2;
    }
  | { kind: 'approve' | 'accept' | 'reject' | 'cancel' | 'submit' | 'succeed' | 'fail'; pick: number }
  | { kind: 'void' }
  | { kind: 'adjust'; delta: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('refund' as const),
      amount: fc.option(fc.oneof(fc.integer({ min: 1, max: 4_000 }), fc.integer({ min: -5, max: 12_000 })), {
        nil: null,
        freq: 5,
      }),
      items: fc.option(
        fc.array(fc.record({ sku: fc.constantFrom('A', 'B', 'Z'), qty: fc.integer({ min: 1, max: 4 }) }), {
          maxLength: 2,
        }),
        {
          nil: null,
        },
      ),
      approvals: fc.constantFrom(0 as const, 1 as const, 2 as const),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'approve' as const,
        'accept' as const,
        'reject' as const,
        'cancel' as const,
        'submit' as const,
        'succeed' as const,
        'fail' as const,
      ),
      pick: fc.nat(20),
    }),
    weight: 6,
  },
  { arbitrary: fc.constant({ kind: 'void' as const }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('adjust' as const),
      delta: fc.integer({ min: -3_000, max: 1_000 }),
    }),
    weight: 1,
  },
);

const sup1 = { operatorId: 'op_sup1', operatorNo: '00', at: new Date() };
const sup2 = { operatorId: 'op_sup2', operatorNo: '02', at: new Date() };

describe.each(storeTargets)('ledger invariants under random operation sequences on $name', (target) => {
  let sys: TestSystem;
  const caller: Caller = {
    merchantId: DEMO.merchantId,
    principal: 'supervisor',
    actor: 'op:00',
    operatorId: null,
    operatorNo: '00',
    terminalId: DEMO.terminalId,
  };

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), { worker: false });
    await sys.ctx.store.db.updateTable('merchants').set({ available_funds_minor: 1_000_000_000 }).execute();
  });
  afterAll(async () => {
    await sys?.close();
  });

  async function checkInvariants(paymentIds: string[]) {
    const db = sys.ctx.store.db;
    // The daily-cap running totals equal the refunds that still count, day by day.
    const counted = await db
      .selectFrom('refunds')
      .select(['created_day', (eb) => eb.fn.sum<number>('amount_minor').as('total')])
      .where('merchant_id', '=', DEMO.merchantId)
      .where('status', 'not in', ['failed', 'rejected', 'canceled'])
      .groupBy('created_day')
      .execute();
    const days = await db
      .selectFrom('merchant_day_totals')
      .selectAll()
      .where('merchant_id', '=', DEMO.merchantId)
      .execute();
    for (const d of days) {
      expect(Number(d.amount_minor)).toBe(Number(counted.find((c) => c.created_day === d.day)?.total ?? 0));
    }
    for (const id of paymentIds) {
      const p = await db.selectFrom('payments').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      const refunds = await db.selectFrom('refunds').selectAll().where('payment_id', '=', id).execute();
      const sum = (rs: typeof refunds) => rs.reduce((s, r) => s + Number(r.amount_minor), 0);
      const succeeded = refunds.filter((r) => r.status === 'succeeded');
      const inFlight = refunds.filter((r) => (inFlightStatuses as string[]).includes(r.status));
      expect(Number(p.refunded_minor)).toBe(sum(succeeded));
      expect(Number(p.in_flight_minor)).toBe(sum(inFlight));
      expect(Number(p.refunded_minor) + Number(p.in_flight_minor)).toBeLessThanOrEqual(
        Number(p.amount_minor),
      );
      if (p.voided === 1) expect(succeeded.length + inFlight.length).toBe(0);
      const items = await db.selectFrom('payment_items').selectAll().where('payment_id', '=', id).execute();
      for (const item of items) {
        const reserved = [...succeeded, ...inFlight]
          .flatMap((r) => JSON.parse(r.items_json) as { sku: string; qty: number }[])
          .filter((i) => i.sku === item.sku)
          .reduce((s, i) => s + i.qty, 0);
        expect(item.refunded_qty).toBe(reserved);
        expect(item.refunded_qty).toBeLessThanOrEqual(item.qty);
      }
      for (const r of refunds) {
        const events = await db
          .selectFrom('refund_events')
          .selectAll()
          .where('refund_id', '=', r.id)
          .orderBy('id')
          .execute();
        expect(events[0]?.from_status).toBeNull();
        for (const e of events.slice(1))
          expect(canTransition(e.from_status as RefundStatus, e.to_status as RefundStatus)).toBe(true);
        for (let i = 1; i < events.length; i++) expect(events[i]?.from_status).toBe(events[i - 1]?.to_status);
        expect(events[events.length - 1]?.to_status).toBe(r.status);
      }
    }
  }

  it('never exceeds the captured amount nor breaks the state machine', async () => {
    const ctx = sys.ctx;
    const seen = new Map<string, number>();
    const tx = <T>(fn: Parameters<typeof ctx.store.tx<T>>[0]) => ctx.store.tx(fn);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 24 }), async (ops) => {
        const sale = {
          orderNo: orderNo('P'),
          amount: 10_000,
          currency: 'CNY',
          method: 'cash' as const,
          items: [
            { sku: 'A', name: 'a', qty: 2, unitAmount: 3_000 },
            { sku: 'B', name: 'b', qty: 4, unitAmount: 1_000 },
          ],
        };
        const paymentId = `pay_prop_${orderNo('X')}`;
        await runWorkflow(ctx, saleWorkflow(ctx, caller, sale, paymentId));
        const refundIds: string[] = [];
        const paymentIds = [paymentId];
        const pick = (n: number) => refundIds[n % Math.max(1, refundIds.length)];
        for (const op of ops) {
          try {
            switch (op.kind) {
              case 'refund': {
                const approvals = [sup1, sup2].slice(0, op.approvals);
                const r = await tx((trx) =>
                  createRefund(
                    ctx,
                    trx,
                    caller,
                    {
                      paymentId,
                      amount: op.items ? undefined : (op.amount ?? undefined),
                      items: op.items ?? undefined,
                      reason: { code: 'quality_issue' },
                    },
                    approvals,
                  ),
                );
                refundIds.push(r.id);
                break;
              }
              case 'approve': {
                const id = pick(op.pick);
                if (id) await tx((trx) => approveRefund(ctx, trx, caller, id, [op.pick % 2 ? sup2 : sup1]));
                break;
              }
              case 'accept':
              case 'reject':
              case 'cancel': {
                const id = pick(op.pick);
                const to =
                  op.kind === 'accept' ? 'under_review' : op.kind === 'reject' ? 'rejected' : 'canceled';
                if (id) await tx((trx) => reviewRefund(ctx, trx, caller, id, to, 'property test'));
                break;
              }
              case 'submit':
              case 'succeed':
              case 'fail': {
                const id = pick(op.pick);
                const to =
                  op.kind === 'submit' ? 'processing' : op.kind === 'succeed' ? 'succeeded' : 'failed';
                if (id) await tx((trx) => moveRefund(trx, id, to, { actor: 'network', at: ctx.clock() }));
                break;
              }
              case 'void':
                await runWorkflow(
                  ctx,
                  voidWorkflow(ctx, caller, paymentId, async () => [sup1]),
                );
                break;
              case 'adjust': {
                const { current } = await import('../../src/service/orders.js').then((m) =>
                  m.orderAmount(ctx.store.db, caller.merchantId, sale.orderNo),
                );
                const input = {
                  originalAmount: current,
                  newAmount: Math.max(0, current + op.delta),
                  reason: { code: 'transaction_error' as const },
                };
                const chargeId = `pay_chg_${orderNo('C')}`;
                const adj = await runWorkflow(
                  ctx,
                  adjustmentWorkflow(ctx, caller, sale.orderNo, input, async () => [sup1], chargeId),
                );
                if ('refund' in adj && adj.refund) refundIds.push(adj.refund.id);
                if ('charge' in adj && adj.charge) paymentIds.push(adj.charge.id);
                break;
              }
            }
            seen.set(op.kind, (seen.get(op.kind) ?? 0) + 1);
          } catch (err) {
            if (!(err instanceof DomainError)) throw err;
            seen.set(`refused:${err.code}`, (seen.get(`refused:${err.code}`) ?? 0) + 1);
          }
          await checkInvariants(paymentIds);
        }
      }),
      {
        numRuns: 40,
        // One known path through every status, so coverage never depends on the random seed.
        examples: [
          [
            [
              { kind: 'refund', amount: 1_000, items: null, approvals: 1 },
              { kind: 'submit', pick: 0 },
              { kind: 'succeed', pick: 0 },
              { kind: 'refund', amount: null, items: [{ sku: 'B', qty: 2 }], approvals: 2 },
              { kind: 'submit', pick: 1 },
              { kind: 'fail', pick: 1 },
              { kind: 'refund', amount: 500, items: null, approvals: 0 },
              { kind: 'accept', pick: 2 },
              { kind: 'reject', pick: 2 },
              { kind: 'refund', amount: 700, items: null, approvals: 0 },
              { kind: 'cancel', pick: 3 },
              { kind: 'adjust', delta: -300 },
              { kind: 'void' },
            ],
          ],
        ],
      },
    );
    // The sequences must really exercise the ledger, not only be refused.
    const statuses = await ctx.store.db.selectFrom('refunds').select('status').distinct().execute();
    expect(statuses.map((s) => s.status)).toEqual(
      expect.arrayContaining(['succeeded', 'failed', 'rejected', 'canceled']),
    );
    expect((await verifyAudit(ctx.store)).ok).toBe(true);
  }, 120_000);
});
