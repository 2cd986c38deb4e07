import { DomainError } from './errors.js';
import type { LineItem } from './payment.js';
import type { RefundStatus } from './refund-state.js';

/** The languages of the consumer's pages and messages. */
export type ConsumerLang = 'zh-CN' | 'zh-TW' | 'en';

/** At most this many lines on one return QR (a receipt's worth). */
export const MAX_RETURN_LINES = 50;

/** One returned line, priced as it was sold. */
export interface ReturnLine {
  sku: string;
  name: string;
  qty: number;
  unitAmount: number;
  amount: number;
}

/**
 * The lines of a return: every sku on the sale, once, at most the units not yet refunded or held by
 * another open return (`items` carries both in `refundedQty`). The same rule and codes as a refund
 * by items, so a consumer and a cashier are refused alike.
 */
export function returnLines(
  items: readonly LineItem[],
  wanted: readonly { sku: string; qty: number }[],
): ReturnLine[] {
  if (wanted.length === 0) throw new DomainError('validation_failed', 'choose at least one item to return');
  if (wanted.length > MAX_RETURN_LINES)
    throw new DomainError('validation_failed', `at most ${MAX_RETURN_LINES} lines on one return`);
  const seen = new Set<string>();
  return wanted.map(({ sku, qty }) => {
    if (seen.has(sku)) throw new DomainError('validation_failed', `sku ${sku} is listed twice`);
    seen.add(sku);
    const line = items.find((i) => i.sku === sku);
    if (!line) throw new DomainError('validation_failed', `sku ${sku} is not on the original sale`);
    if (!Number.isSafeInteger(qty) || qty < 1) throw new DomainError('validation_failed', 'qty must be ≥ 1');
    const left = line.qty - line.refundedQty;
    if (qty > left) {
      throw new DomainError(
        'refund_exceeds_refundable',
        left === 0
          ? `every unit of sku ${sku} is already refunded or on another open return`
          : `only ${left} of sku ${sku} can still be returned (bought ${line.qty})`,
        { sku, refundableQty: left },
      );
    }
    return {
      sku,
      name: line.name,
      qty,
      unitAmount: line.unitAmountMinor,
      amount: qty * line.unitAmountMinor,
    };
  });
}

/**
 * What the consumer's status page shows of a refund (已提交 → 商家审核 → 退款处理中 → 已退款 / 已拒绝):
 * the refund's status in the consumer's words, without the merchant's internal steps.
 */
export const trackingStages = [
  'submitted',
  'reviewing',
  'processing',
  'refunded',
  'rejected',
  'failed',
  'canceled',
] as const;
export type TrackingStage = (typeof trackingStages)[number];

export function trackingStage(status: RefundStatus): TrackingStage {
  switch (status) {
    case 'requested':
      return 'submitted';
    case 'under_review':
      return 'reviewing';
    case 'approved':
    case 'processing':
      return 'processing';
    case 'succeeded':
      return 'refunded';
    case 'rejected':
      return 'rejected';
    case 'failed':
      return 'failed';
    case 'canceled':
      return 'canceled';
  }
}
