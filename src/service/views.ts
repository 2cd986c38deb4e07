import { type Expression, type SqlBool, sql } from 'kysely';
import { DomainError } from '../domain/errors.js';
import { explainOutcome } from '../domain/outcomes.js';
import type { PaymentState } from '../domain/payment.js';
import { paymentStatus, refundableMinor } from '../domain/payment.js';
import type { PaymentRow, RefundRow } from '../store/repo.js';
import type { ReturnHold } from '../store/returns.js';

/** Public JSON shapes of PRODUCT.md §9. Amounts are minor units; names are the contract's. */
export function paymentView(row: PaymentRow, state: PaymentState, held?: ReturnHold) {
  // Open return QRs hold lines and their amount (store/returns.ts): not refunded, not refundable.
  const heldAmount = held?.amountMinor ?? 0;
  return {
    id: row.id,
    orderNo: row.order_no,
    kind: row.kind,
    parentPaymentId: row.parent_payment_id,
    amount: state.amountMinor,
    currency: row.currency,
    method: row.method,
    status: paymentStatus(state),
    refundedAmount: state.refundedMinor,
    inFlightAmount: state.inFlightMinor,
    heldAmount,
    refundableAmount: Math.max(0, refundableMinor(state) - heldAmount),
    fee: state.feeMinor,
    settled: state.settled,
    terminalId: row.terminal_id,
    network: { reference: row.network_reference },
    ...(row.card_last4 ? { card: { last4: row.card_last4, bin: row.card_bin } } : {}),
    items: state.items.map((i) => ({
      sku: i.sku,
      name: i.name,
      qty: i.qty,
      unitAmount: i.unitAmountMinor,
      refundedQty: i.refundedQty,
      heldQty: held?.qty.get(i.sku) ?? 0,
    })),
    capturedAt: row.captured_at,
    voidedAt: row.voided_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export type PaymentView = ReturnType<typeof paymentView>;

export function refundView(row: RefundRow) {
  const approvals = JSON.parse(row.approvals_json) as { operatorNo: string; at: string }[];
  return {
    id: row.id,
    paymentId: row.payment_id,
    orderNo: row.order_no,
    amount: Number(row.amount_minor),
    fee: Number(row.fee_minor),
    netAmount: Number(row.net_amount_minor),
    merchantFeeReturned: Number(row.merchant_fee_returned_minor),
    currency: row.currency,
    reason: { code: row.reason_code, note: row.reason_note },
    method: row.method,
    status: row.status,
    items: JSON.parse(row.items_json) as { sku: string; qty: number; amountMinor: number }[],
    approvals: approvals.map((a) => ({ operatorNo: a.operatorNo, at: a.at })),
    consumer: row.consumer_masked_json
      ? (JSON.parse(row.consumer_masked_json) as Record<string, string>)
      : null,
    delayed: row.delayed === 1,
    expectedArrival: row.expected_arrival,
    network: {
      reference: row.network_reference,
      responseCode: row.response_code,
      /** The response code (or the delay) in plain words with its fix, zh-CN / zh-TW / en. */
      outcome: explainOutcome(row.response_code, row.status, {
        delayed: row.delayed === 1,
        expectedArrival: row.expected_arrival,
      }),
    },
    terminalId: row.terminal_id,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    /** The risk rule that held the refund for review (domain/risk.ts), or null. */
    hold: row.hold_rule ? { rule: row.hold_rule, detail: row.hold_detail ?? '' } : null,
    /** The QR return (扫码退货) the refund came from, or null. */
    returnId: row.return_id ?? null,
  };
}

export type RefundView = ReturnType<typeof refundView>;

/** Opaque cursor: the (createdAt, id) of the last row shown; lists run newest first. */
export function encodeCursor(row: { createdAt: string; id: string }): string {
  return Buffer.from(`${row.createdAt}|${row.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } | null {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  return createdAt && id ? { createdAt, id } : null;
}

/** The order of a cursor list: newest first (every list's default) or oldest first (a queue). */
export type ListOrder = 'newest' | 'oldest';

/**
 * The filter for the page after `cursor` (by created_at, then id, newest or oldest first). Written
 * once in plain SQL: the row's own created_at and id, the same in SQLite and PostgreSQL.
 */
export function afterCursor(
  cursor: string | undefined,
  order: ListOrder = 'newest',
): Expression<SqlBool> | null {
  if (!cursor) return null;
  const after = decodeCursor(cursor);
  if (!after) throw new DomainError('validation_failed', 'cursor is not valid');
  const past = sql.raw(order === 'newest' ? '<' : '>');
  return sql<SqlBool>`(created_at ${past} ${after.createdAt} or (created_at = ${after.createdAt} and id ${past} ${after.id}))`;
}

/** Rows in list order (created_at, then id), as the index gives them: to merge pages read apart. */
export function inListOrder(order: ListOrder) {
  const sign = order === 'newest' ? -1 : 1;
  return (a: { created_at: string; id: string }, b: { created_at: string; id: string }): number =>
    sign *
    (a.created_at < b.created_at
      ? -1
      : a.created_at > b.created_at
        ? 1
        : a.id < b.id
          ? -1
          : a.id > b.id
            ? 1
            : 0);
}

export function page<T extends { id: string; createdAt: string }>(rows: T[], limit: number) {
  const hasMore = rows.length > limit;
  const data = hasMore ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return { data, hasMore, nextCursor: hasMore && last ? encodeCursor(last) : null };
}
