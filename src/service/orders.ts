import { requirePermission } from '../domain/auth.js';
import { DomainError } from '../domain/errors.js';
import type { PaymentMethod, PaymentState } from '../domain/payment.js';
import type { ReasonCode } from '../domain/policy.js';
import { checkReason, decideAdjustment, type VerifiedApproval } from '../domain/refund.js';
import { inFlightStatuses } from '../domain/refund-state.js';
import { ulid } from '../ids.js';
import { appendAudit } from '../store/audit.js';
import type { Tx } from '../store/db.js';
import { refuseWhileActive } from '../store/operations.js';
import { lockMerchant, paymentStates, policyOf } from '../store/repo.js';
import { openReturnHolds } from '../store/returns.js';
import type { Caller, Ctx } from './context.js';
import { readOrderTimeline } from './order-timeline.js';
import { recordPayment } from './payments.js';

/** What the apply step needs of an authorised charge. */
export interface ChargeAuth {
  operationId: string;
  paymentId: string;
  reference: string | null;
  cardToken: string | undefined;
}

import { createRefund } from './refunds.js';
import { paymentView, refundView } from './views.js';

export interface AdjustmentInput {
  originalAmount: number;
  newAmount: number;
  reason: { code: ReasonCode; note?: string | undefined };
}

/** What the order stands at now: its payments (not voided) less refunds succeeded or in flight. */
export async function orderAmount(trx: Tx, merchantId: string, orderNo: string) {
  const payments = await trx
    .selectFrom('payments')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .where('order_no', '=', orderNo)
    .orderBy('id')
    .execute();
  const sale = payments.find((p) => p.kind === 'sale');
  if (!sale) throw new DomainError('not_found', `order ${orderNo} not found`);
  const current = payments
    .filter((p) => p.voided === 0)
    .reduce((s, p) => s + Number(p.amount_minor) - Number(p.refunded_minor) - Number(p.in_flight_minor), 0);
  return { sale, payments, current };
}

/**
 * Record an adjustment (the adjustment workflow's apply step), under the merchant lock: re-check
 * the order's amount, then write the refund (decrease) or the authorised charge (increase) and
 * the revision.
 */
export async function recordAdjustment(
  ctx: Ctx,
  trx: Tx,
  caller: Caller,
  orderNo: string,
  input: AdjustmentInput,
  charge: (ChargeAuth & { method: PaymentMethod; currency: string }) | null,
  approvals: VerifiedApproval[],
) {
  const merchant = await lockMerchant(trx, caller.merchantId);
  checkReason(policyOf(merchant), input.reason);
  await refuseWhileActive(
    trx,
    caller.merchantId,
    { orderNo, kinds: ['adjustment', 'void', 'sale'], ...(charge ? { exceptId: charge.operationId } : {}) },
    'the order cannot be adjusted now',
  );
  const { payments, current } = await orderAmount(trx, caller.merchantId, orderNo);
  const decision = decideAdjustment(current, input.originalAmount, input.newAmount);
  const now = ctx.clock();
  let refund = null;
  let chargeView = null;
  if (decision.kind === 'refund') {
    const amount = -decision.differenceMinor;
    // Take the difference from the sale first, then from earlier charges.
    const target = payments.find(
      (p) =>
        p.voided === 0 &&
        Number(p.amount_minor) - Number(p.refunded_minor) - Number(p.in_flight_minor) >= amount,
    );
    if (!target) {
      throw new DomainError(
        'refund_exceeds_refundable',
        'no single payment of this order can cover the difference',
      );
    }
    refund = await createRefund(
      ctx,
      trx,
      caller,
      { paymentId: target.id, amount, reason: input.reason },
      approvals,
    );
  } else {
    if (!charge)
      throw new DomainError('adjustment_amount_mismatch', 'the order changed while adjusting; try again');
    chargeView = await recordPayment(
      ctx,
      trx,
      caller,
      { orderNo, amount: decision.differenceMinor, currency: charge.currency, method: charge.method },
      charge,
      { kind: 'charge', parentPaymentId: payments.find((p) => p.kind === 'sale')?.id },
    );
  }
  const revisionRow = await trx
    .selectFrom('adjustments')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('merchant_id', '=', caller.merchantId)
    .where('order_no', '=', orderNo)
    .executeTakeFirstOrThrow();
  const id = `adj_${ulid()}`;
  const revision = Number(revisionRow.n) + 1;
  await trx
    .insertInto('adjustments')
    .values({
      id,
      merchant_id: caller.merchantId,
      order_no: orderNo,
      revision,
      original_amount_minor: input.originalAmount,
      new_amount_minor: input.newAmount,
      difference_minor: decision.differenceMinor,
      refund_id: refund?.id ?? null,
      charge_payment_id: chargeView?.id ?? null,
      reason_code: input.reason.code,
      reason_note: input.reason.note ?? null,
      created_by: caller.actor,
      created_at: now.toISOString(),
    })
    .execute();
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'order.adjusted',
    entity: 'order',
    entityId: orderNo,
    data: {
      revision,
      originalAmount: input.originalAmount,
      newAmount: input.newAmount,
      refundId: refund?.id,
      chargeId: chargeView?.id,
    },
    at: now,
  });
  return {
    id,
    orderNo,
    revision,
    originalAmount: input.originalAmount,
    newAmount: input.newAmount,
    difference: decision.differenceMinor,
    ...(refund ? { refund } : {}),
    ...(chargeView ? { charge: chargeView } : {}),
    createdAt: now.toISOString(),
  };
}

/** The order with its payments, reverse transactions and revision history. */
export async function getOrder(ctx: Ctx, caller: Caller, orderNo: string) {
  requirePermission(caller.principal, 'payment.read');
  const db = ctx.store.db;
  const { sale, payments, current } = await orderAmount(db, caller.merchantId, orderNo);
  const refunds = await db
    .selectFrom('refunds')
    .selectAll()
    .where('merchant_id', '=', caller.merchantId)
    .where('order_no', '=', orderNo)
    .orderBy('id')
    .execute();
  const revisions = await db
    .selectFrom('adjustments')
    .selectAll()
    .where('merchant_id', '=', caller.merchantId)
    .where('order_no', '=', orderNo)
    .orderBy('revision')
    .execute();
  const paymentViews = [];
  const states = await paymentStates(db, payments);
  const held = await openReturnHolds(
    db,
    caller.merchantId,
    payments.map((p) => p.id),
    ctx.clock(),
  );
  for (const [i, p] of payments.entries())
    paymentViews.push(paymentView(p, states[i] as PaymentState, held.get(p.id)));
  const timeline = await readOrderTimeline(db, caller.merchantId, {
    currency: sale.currency,
    payments,
    refunds,
    revisions,
  });
  return {
    orderNo,
    currentAmount: current,
    currency: sale.currency,
    inFlightRefunds: refunds.filter((r) => (inFlightStatuses as string[]).includes(r.status)).length,
    payments: paymentViews,
    refunds: refunds.map(refundView),
    revisions: revisions.map((r) => ({
      id: r.id,
      revision: r.revision,
      originalAmount: Number(r.original_amount_minor),
      newAmount: Number(r.new_amount_minor),
      difference: Number(r.difference_minor),
      refundId: r.refund_id,
      chargePaymentId: r.charge_payment_id,
      reason: { code: r.reason_code, note: r.reason_note },
      createdBy: r.created_by,
      createdAt: r.created_at,
    })),
    timeline: timeline.entries,
    timelineTruncated: timeline.truncated,
  };
}
