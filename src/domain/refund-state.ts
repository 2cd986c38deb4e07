import { DomainError } from './errors.js';

/** Refund lifecycle of PRODUCT.md §9: 申请 → 受理/审核 → 批准 → 处理 → 已退款 | 退款失败. */
export const refundStatuses = [
  'requested',
  'under_review',
  'approved',
  'processing',
  'succeeded',
  'failed',
  'rejected',
  'canceled',
] as const;

export type RefundStatus = (typeof refundStatuses)[number];

/** The only legal moves. Anything absent here is refused by `transition`. */
export const refundTransitions: Readonly<Record<RefundStatus, readonly RefundStatus[]>> = {
  requested: ['under_review', 'approved', 'rejected', 'canceled'],
  under_review: ['approved', 'rejected', 'canceled'],
  approved: ['processing', 'failed', 'canceled'],
  processing: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
  rejected: [],
  canceled: [],
};

/** Statuses whose amount is reserved against the payment's refundable remainder. */
export const inFlightStatuses: readonly RefundStatus[] = [
  'requested',
  'under_review',
  'approved',
  'processing',
];

export const terminalStatuses: readonly RefundStatus[] = ['succeeded', 'failed', 'rejected', 'canceled'];

export function isInFlight(status: RefundStatus): boolean {
  return inFlightStatuses.includes(status);
}

export function isTerminal(status: RefundStatus): boolean {
  return terminalStatuses.includes(status);
}

export function canTransition(from: RefundStatus, to: RefundStatus): boolean {
  return refundTransitions[from].includes(to);
}

export function transition(from: RefundStatus, to: RefundStatus): RefundStatus {
  if (!canTransition(from, to)) {
    throw new DomainError('invalid_state_transition', `a refund cannot go from ${from} to ${to}`, {
      from,
      to,
    });
  }
  return to;
}

/**
 * How a transition moves the payment's running totals: what leaves "in flight" and what
 * becomes "succeeded". Keeping this in one place is what keeps the totals balanced.
 */
export function totalsDelta(
  from: RefundStatus | null,
  to: RefundStatus,
  amountMinor: number,
): { inFlightMinor: number; refundedMinor: number } {
  const wasInFlight = from !== null && isInFlight(from);
  const nowInFlight = isInFlight(to);
  const inFlightMinor = (nowInFlight ? amountMinor : 0) - (wasInFlight ? amountMinor : 0);
  const refundedMinor = to === 'succeeded' && from !== 'succeeded' ? amountMinor : 0;
  return { inFlightMinor, refundedMinor };
}
