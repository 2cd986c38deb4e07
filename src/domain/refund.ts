import type { BusinessCalendar } from './calendar.js';
import { shanghaiDate } from './calendar.js';
import { DomainError, invariant } from './errors.js';
import { mulDivFloor } from './money.js';
import type { LineItem, PaymentState } from './payment.js';
import { refundableMinor } from './payment.js';
import type { Policy, ReasonCode, RefundMethod } from './policy.js';
import { requiredApprovals } from './policy.js';
import type { RefundStatus } from './refund-state.js';

export interface Reason {
  code: ReasonCode;
  note?: string | undefined;
}

/** An approval whose refund password has already been verified by the auth service. */
export interface VerifiedApproval {
  operatorId: string;
  operatorNo: string;
  at: Date;
}

export interface RefundRequest {
  amountMinor?: number | undefined;
  items?: { sku: string; qty: number }[] | undefined;
  reason: Reason;
  method: RefundMethod;
}

export interface RefundContext {
  payment: PaymentState;
  policy: Policy;
  now: Date;
  calendar: BusinessCalendar;
  /** Sum of the merchant's refunds created today (Shanghai), excluding rejected/canceled/failed. */
  merchantTodayMinor: number;
  /** The merchant's funds available to pay refunds out of. */
  merchantAvailableMinor: number;
  approvals: VerifiedApproval[];
}

export interface RefundDecision {
  amountMinor: number;
  feeMinor: number;
  netAmountMinor: number;
  /** Part of the original acquirer fee the merchant gets back (fee rule `prorata`). */
  merchantFeeReturnedMinor: number;
  items: { sku: string; qty: number; amountMinor: number }[];
  status: Extract<RefundStatus, 'requested' | 'under_review' | 'approved'>;
  expectedArrival: string;
}

const DAY_MS = 86_400_000;

export function checkReason(policy: Policy, reason: Reason): void {
  if (!policy.reasons.includes(reason.code)) {
    throw new DomainError('reason_not_allowed', `reason ${reason.code} is not in use by this merchant`);
  }
  if (reason.code === 'other' && !reason.note?.trim()) {
    throw new DomainError('reason_required', 'reason "other" needs a note saying why');
  }
}

/** Amount of a refund by line items; every sku must exist and have units left. */
export function itemsAmount(
  items: LineItem[],
  wanted: { sku: string; qty: number }[],
): { sku: string; qty: number; amountMinor: number }[] {
  const seen = new Set<string>();
  return wanted.map(({ sku, qty }) => {
    if (seen.has(sku)) throw new DomainError('validation_failed', `sku ${sku} is listed twice`);
    seen.add(sku);
    const line = items.find((i) => i.sku === sku);
    if (!line) throw new DomainError('validation_failed', `sku ${sku} is not on the original payment`);
    if (!Number.isSafeInteger(qty) || qty < 1) throw new DomainError('validation_failed', 'qty must be ≥ 1');
    const left = line.qty - line.refundedQty;
    if (qty > left) {
      throw new DomainError('refund_exceeds_refundable', `only ${left} of sku ${sku} can still be refunded`, {
        sku,
        refundableQty: left,
      });
    }
    return { sku, qty, amountMinor: qty * line.unitAmountMinor };
  });
}

function routeOf(payment: PaymentState, method: RefundMethod): keyof Policy['arrivalBusinessDays'] {
  if (method === 'cash') return 'cash';
  if (method === 'bank_transfer') return 'bank_transfer';
  return payment.method;
}

export function expectedArrival(
  policy: Policy,
  calendar: BusinessCalendar,
  payment: PaymentState,
  method: RefundMethod,
  now: Date,
): string {
  const days = policy.arrivalBusinessDays[routeOf(payment, method)];
  const today = shanghaiDate(now);
  // Cash is handed over at the counter: today, whatever the calendar says.
  return days === 0 ? today : calendar.addBusinessDays(today, days);
}

export function approvalStatus(
  policy: Policy,
  amountMinor: number,
  approvalCount: number,
): RefundDecision['status'] {
  if (approvalCount === 0) return 'requested';
  return approvalCount >= requiredApprovals(policy, amountMinor) ? 'approved' : 'under_review';
}

/** Two approvals by one person are one approval: refuse them (双人核对 means two people). */
export function checkDistinctApprovers(approvals: { operatorNo: string }[]): void {
  const nos = approvals.map((a) => a.operatorNo);
  if (new Set(nos).size !== nos.length) {
    throw new DomainError('same_approver', 'the second approval must come from a different supervisor');
  }
}

/**
 * Decide a new refund against a payment. Pure: every fact arrives in `ctx`; the caller holds the
 * payment's lock so the remainder it passed in is current.
 */
export function decideRefund(ctx: RefundContext, req: RefundRequest): RefundDecision {
  const { payment, policy, now } = ctx;
  if (!policy.refundsEnabled)
    throw new DomainError('refunds_disabled', 'refunds are switched off in the policy');
  checkReason(policy, req.reason);
  if (!policy.methods.includes(req.method)) {
    throw new DomainError('method_not_allowed', `refund method ${req.method} is not allowed by the policy`);
  }
  if (payment.voided) {
    throw new DomainError(
      'payment_not_completed',
      'the original payment was voided; there is nothing to refund',
    );
  }
  const windowDays = policy.refundWindowDays[payment.method];
  if (now.getTime() - payment.capturedAt.getTime() > windowDays * DAY_MS) {
    throw new DomainError(
      'refund_window_expired',
      `${payment.method} payments can be refunded within ${windowDays} days of the sale`,
      { refundWindowDays: windowDays },
    );
  }
  if (req.amountMinor !== undefined && req.items !== undefined) {
    throw new DomainError('validation_failed', 'give either amount or items, not both');
  }
  // Malformed requests are told so, whatever the payment's state.
  if (req.amountMinor !== undefined && (!Number.isSafeInteger(req.amountMinor) || req.amountMinor <= 0)) {
    throw new DomainError('validation_failed', 'amount must be a positive integer of minor units');
  }
  if (req.items !== undefined && req.items.length === 0) {
    throw new DomainError('validation_failed', 'items must not be empty');
  }
  const items = req.items ? itemsAmount(payment.items, req.items) : [];
  const remaining = refundableMinor(payment);
  const amountMinor = req.items
    ? items.reduce((s, i) => s + i.amountMinor, 0)
    : (req.amountMinor ?? remaining);
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) {
    if (remaining === 0) {
      throw new DomainError('refund_exceeds_refundable', 'nothing is left to refund on this payment', {
        refundableAmount: 0,
      });
    }
    throw new DomainError('validation_failed', 'amount must be a positive integer of minor units');
  }
  if (amountMinor > remaining) {
    throw new DomainError(
      'refund_exceeds_refundable',
      `the refund of ${amountMinor} exceeds the refundable remainder of ${remaining}`,
      { refundableAmount: remaining },
    );
  }
  if (amountMinor > policy.maxRefundAmount) {
    throw new DomainError(
      'refund_exceeds_limit',
      `a single refund may not exceed ${policy.maxRefundAmount}`,
      {
        maxRefundAmount: policy.maxRefundAmount,
      },
    );
  }
  if (ctx.merchantTodayMinor + amountMinor > policy.dailyRefundLimit) {
    throw new DomainError('daily_limit_exceeded', `today's refunds would exceed ${policy.dailyRefundLimit}`, {
      dailyRefundLimit: policy.dailyRefundLimit,
      usedToday: ctx.merchantTodayMinor,
    });
  }
  if (policy.feeRule.handlingFee >= amountMinor) {
    // A refund that pays the consumer nothing would still go to the network as a zero amount.
    throw new DomainError(
      'fee_exceeds_amount',
      `the handling fee of ${policy.feeRule.handlingFee} takes the whole refund of ${amountMinor}`,
      { handlingFee: policy.feeRule.handlingFee },
    );
  }
  const feeMinor = policy.feeRule.handlingFee;
  const netAmountMinor = amountMinor - feeMinor;
  const merchantFeeReturnedMinor =
    policy.feeRule.originalFee === 'prorata'
      ? mulDivFloor(payment.feeMinor, amountMinor, payment.amountMinor)
      : 0;
  if (ctx.merchantAvailableMinor < netAmountMinor) {
    throw new DomainError(
      'insufficient_merchant_funds',
      'the merchant account does not hold enough funds for this refund; top it up and try again',
      { availableAmount: ctx.merchantAvailableMinor },
    );
  }
  checkDistinctApprovers(ctx.approvals);
  invariant(netAmountMinor >= 0 && netAmountMinor <= amountMinor, 'net amount within the refund amount');
  return {
    amountMinor,
    feeMinor,
    netAmountMinor,
    merchantFeeReturnedMinor,
    items,
    status: approvalStatus(policy, amountMinor, ctx.approvals.length),
    expectedArrival: expectedArrival(policy, ctx.calendar, payment, req.method, now),
  };
}

/** Add approvals to a refund waiting for them; returns the new status. */
export function decideApproval(
  policy: Policy,
  refund: { status: RefundStatus; amountMinor: number; approvals: { operatorNo: string }[] },
  added: { operatorNo: string }[],
): { status: RefundDecision['status'] } {
  if (refund.status !== 'requested' && refund.status !== 'under_review') {
    throw new DomainError('invalid_state_transition', `a ${refund.status} refund cannot be approved`);
  }
  if (added.length === 0) throw new DomainError('validation_failed', 'approvals must not be empty');
  const all = [...refund.approvals, ...added];
  checkDistinctApprovers(all);
  return { status: approvalStatus(policy, refund.amountMinor, all.length) };
}

/** 撤销: same business day, before settlement, full amount, nothing refunded or in flight. */
export function decideVoid(payment: PaymentState, now: Date): void {
  if (payment.voided) throw new DomainError('void_not_allowed', 'the payment is already voided');
  if (payment.settled) {
    throw new DomainError(
      'void_not_allowed',
      'the batch holding this payment is settled; a void is no longer possible, make a refund instead',
    );
  }
  if (shanghaiDate(payment.capturedAt) !== shanghaiDate(now)) {
    throw new DomainError(
      'void_not_allowed',
      'a void is only possible on the day of the sale; make a refund instead',
    );
  }
  if (payment.refundedMinor > 0 || payment.inFlightMinor > 0) {
    throw new DomainError('void_not_allowed', 'the payment already has refunds; it can no longer be voided');
  }
}

export interface AdjustmentDecision {
  differenceMinor: number;
  kind: 'refund' | 'charge';
}

/** 调整金额: the operator states the original and the new amount; the sign of the difference decides. */
export function decideAdjustment(
  currentAmountMinor: number,
  originalAmountMinor: number,
  newAmountMinor: number,
): AdjustmentDecision {
  if (originalAmountMinor !== currentAmountMinor) {
    throw new DomainError(
      'adjustment_amount_mismatch',
      `the order currently stands at ${currentAmountMinor}, not ${originalAmountMinor}`,
      { currentAmount: currentAmountMinor },
    );
  }
  if (!Number.isSafeInteger(newAmountMinor) || newAmountMinor < 0) {
    throw new DomainError('validation_failed', 'newAmount must be a non-negative integer');
  }
  if (newAmountMinor === originalAmountMinor) {
    throw new DomainError('validation_failed', 'the new amount equals the original amount');
  }
  const differenceMinor = newAmountMinor - originalAmountMinor;
  return { differenceMinor, kind: differenceMinor < 0 ? 'refund' : 'charge' };
}
