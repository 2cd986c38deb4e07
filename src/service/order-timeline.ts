import type { Selectable } from 'kysely';
import {
  answerMti,
  MAX_TIMELINE_ENTRIES,
  orderTimeline,
  responseTextOf,
  type TimelineEntry,
  type TimelineNetwork,
} from '../domain/timeline.js';
import type { Tx } from '../store/db.js';
import type {
  AdjustmentTable,
  LinkAttemptTable,
  PaymentTable,
  ReceiptPrintTable,
  ReceiptSendTable,
  RefundEventTable,
  RefundTable,
} from '../store/schema.js';

/**
 * An order's timeline (domain/timeline.ts) from the store: the order's own rows (payments, refunds,
 * revisions, read by getOrder) and one query per further source — refund events, link attempts,
 * voucher prints, voucher sends — each naming the merchant and the order's ids, each bounded.
 */

type Payment = Selectable<PaymentTable>;
type Refund = Selectable<RefundTable>;
type Revision = Selectable<AdjustmentTable>;
type Attempt = Selectable<LinkAttemptTable>;

export interface OrderRows {
  currency: string;
  payments: readonly Payment[];
  refunds: readonly Refund[];
  revisions: readonly Revision[];
}

/** A void's link attempt is filed under `void_<payment id>` (network/card-link/adapter.ts). */
const VOID_REF_PREFIX = 'void_';

export async function readOrderTimeline(db: Tx, merchantId: string, order: OrderRows) {
  const refundIds = order.refunds.map((r) => r.id);
  const paymentIds = order.payments.map((p) => p.id);
  // One more than shown: enough to know the list was cut.
  const limit = MAX_TIMELINE_ENTRIES + 1;
  const events =
    refundIds.length === 0
      ? []
      : await db
          .selectFrom('refund_events')
          .selectAll()
          .where('merchant_id', '=', merchantId)
          .where('refund_id', 'in', refundIds)
          .orderBy('at')
          .orderBy('id')
          .limit(limit)
          .execute();
  const attempts = await db
    .selectFrom('link_attempts')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .where('ref_id', 'in', [
      ...paymentIds,
      ...paymentIds.map((id) => `${VOID_REF_PREFIX}${id}`),
      ...refundIds,
    ])
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  const prints =
    refundIds.length === 0
      ? []
      : await db
          .selectFrom('receipt_prints')
          .selectAll()
          .where('merchant_id', '=', merchantId)
          .where('refund_id', 'in', refundIds)
          .orderBy('printed_at')
          .orderBy('id')
          .limit(limit)
          .execute();
  const sends =
    refundIds.length === 0
      ? []
      : await db
          .selectFrom('receipt_sends')
          .selectAll()
          .where('merchant_id', '=', merchantId)
          .where('refund_id', 'in', refundIds)
          .orderBy('created_at')
          .orderBy('id')
          .limit(limit)
          .execute();

  const refundsById = new Map(order.refunds.map((r) => [r.id, r]));
  // The status each refund was created in: its first event, the one from no status.
  const createdAs = new Map(
    events.filter((e) => e.from_status === null).map((e) => [e.refund_id, e.to_status]),
  );
  // Entries of one instant stay in this order: a network answer before what it caused.
  const all: TimelineEntry[] = [
    ...attempts.flatMap((a) => attemptEntries(a, order.currency, refundsById)),
    ...order.payments.flatMap(paymentEntries),
    ...order.revisions.map((r) => revisionEntry(r, order.currency)),
    ...order.refunds.map((r) => refundEntry(r, createdAs.get(r.id))),
    ...events.flatMap((e) => eventEntries(e, refundsById.get(e.refund_id))),
    ...prints.map(printEntry),
    ...sends.map(sendEntry),
  ];
  const { entries, truncated } = orderTimeline(all);
  const sourceCut = [events, attempts, prints, sends].some((rows) => rows.length === limit);
  return { entries, truncated: truncated || sourceCut };
}

function paymentEntries(p: Payment): TimelineEntry[] {
  const money = { amount: Number(p.amount_minor), currency: p.currency, paymentId: p.id };
  const entries: TimelineEntry[] = [
    {
      at: p.captured_at,
      kind: p.kind,
      title: p.kind === 'sale' ? 'sale.captured' : 'charge.captured',
      status: 'captured',
      method: p.method,
      ...money,
    },
  ];
  if (Number(p.voided) === 1 && p.voided_at) {
    entries.push({
      at: p.voided_at,
      kind: 'void',
      title: p.kind === 'sale' ? 'sale.voided' : 'charge.voided',
      status: 'voided',
      ...money,
    });
  }
  return entries;
}

function revisionEntry(r: Revision, currency: string): TimelineEntry {
  return {
    at: r.created_at,
    kind: 'adjustment',
    title: 'order.adjusted',
    actor: r.created_by,
    currency,
    adjustmentId: r.id,
    ...(r.refund_id ? { refundId: r.refund_id } : {}),
    ...(r.charge_payment_id ? { paymentId: r.charge_payment_id } : {}),
    reason: { code: r.reason_code, note: r.reason_note },
    adjustment: {
      revision: Number(r.revision),
      originalAmount: Number(r.original_amount_minor),
      newAmount: Number(r.new_amount_minor),
      difference: Number(r.difference_minor),
    },
  };
}

function refundEntry(r: Refund, createdAs: string | undefined): TimelineEntry {
  return {
    at: r.created_at,
    kind: 'refund',
    title: 'refund.created',
    actor: r.created_by,
    amount: Number(r.amount_minor),
    currency: r.currency,
    paymentId: r.payment_id,
    refundId: r.id,
    status: createdAs ?? r.status,
    method: r.method,
    reason: { code: r.reason_code, note: r.reason_note },
  };
}

/** A status change; the one that ended the refund carries the network's answer as the refund holds it. */
function eventEntries(e: Selectable<RefundEventTable>, refund: Refund | undefined): TimelineEntry[] {
  if (e.from_status === null) return []; // the creation: the refund's own entry
  const final =
    refund && refund.status === e.to_status && (e.to_status === 'succeeded' || e.to_status === 'failed');
  const answer: TimelineNetwork | null =
    final && refund.response_code
      ? {
          messageType: 'refund',
          responseCode: refund.response_code,
          responseText: responseTextOf(refund.response_code, { type: 'refund' }),
          ...(refund.network_reference ? { reference: refund.network_reference } : {}),
        }
      : null;
  return [
    {
      at: e.at,
      kind: 'refund_status',
      title: `refund.${e.to_status}`,
      actor: e.actor,
      refundId: e.refund_id,
      ...(refund ? { paymentId: refund.payment_id } : {}),
      status: e.to_status,
      fromStatus: e.from_status,
      ...(e.note ? { note: e.note } : {}),
      ...(answer ? { network: answer } : {}),
    },
  ];
}

/** What the journal kept of the request: its MTI and fields (never the card number). */
function requestOf(a: Attempt): { mti?: string; amount?: number } {
  try {
    const r = JSON.parse(a.request_json) as { mti?: unknown; fields?: Record<string, unknown> };
    const amount = typeof r.fields?.['4'] === 'string' ? Number(r.fields['4']) : Number.NaN;
    return {
      ...(typeof r.mti === 'string' ? { mti: r.mti } : {}),
      ...(Number.isSafeInteger(amount) ? { amount } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * One journalled request: the message we sent, the answer when there was one (or the host's
 * refusal of our key), and the reversal (冲正) when no usable answer came.
 */
function attemptEntries(a: Attempt, currency: string, refunds: Map<string, Refund>): TimelineEntry[] {
  const request = requestOf(a);
  const refund = a.kind === 'refund' ? refunds.get(a.ref_id) : undefined;
  const paymentId =
    a.kind === 'void' ? a.ref_id.slice(VOID_REF_PREFIX.length) : (refund?.payment_id ?? a.ref_id);
  const common = {
    status: a.state,
    paymentId,
    ...(a.kind === 'refund' ? { refundId: a.ref_id } : {}),
    ...(request.amount !== undefined ? { amount: request.amount, currency } : {}),
  };
  const message = { messageType: a.kind, stan: a.stan, terminalId: a.terminal_id };
  const code = a.response_code;
  const answered = a.state === 'answered' || (a.state === 'unsent' && code !== null);
  const entries: TimelineEntry[] = [
    {
      at: a.created_at,
      kind: 'network',
      title: a.state === 'unsent' && !answered ? `network.${a.kind}.not_sent` : `network.${a.kind}.sent`,
      ...common,
      network: { ...message, direction: 'out', ...(request.mti ? { mti: request.mti } : {}) },
    },
  ];
  if (answered && code !== null) {
    const mti = request.mti ? answerMti(request.mti) : undefined;
    entries.push({
      at: a.updated_at,
      kind: 'network',
      title: `network.${a.kind}.${a.state === 'unsent' ? 'refused' : code === '00' ? 'approved' : 'declined'}`,
      ...common,
      network: {
        ...message,
        direction: 'in',
        ...(mti ? { mti } : {}),
        responseCode: code,
        responseText: responseTextOf(code, { type: a.kind }),
        ...(a.reference ? { reference: a.reference } : {}),
      },
    });
  }
  if (a.state === 'reversing' || a.state === 'reversed') {
    const acknowledged = a.state === 'reversed';
    entries.push({
      at: a.updated_at,
      kind: 'reversal',
      title: acknowledged ? 'reversal.acknowledged' : 'reversal.queued',
      ...common,
      network: {
        ...message,
        direction: acknowledged ? 'in' : 'out',
        mti: acknowledged ? '0410' : '0400',
        ...(acknowledged && code !== null
          ? { responseCode: code, responseText: responseTextOf(code, { type: a.kind, reversal: true }) }
          : {}),
      },
    });
  }
  return entries;
}

function printEntry(p: Selectable<ReceiptPrintTable>): TimelineEntry {
  return {
    at: p.printed_at,
    kind: 'receipt',
    title: Number(p.print_no) === 1 ? 'receipt.printed' : 'receipt.reprinted',
    actor: p.actor,
    refundId: p.refund_id,
    receipt: { printNo: Number(p.print_no), format: p.format },
  };
}

function sendEntry(s: Selectable<ReceiptSendTable>): TimelineEntry {
  return {
    at: s.sent_at ?? s.created_at,
    kind: 'notification',
    title: `notification.${s.status}`,
    refundId: s.refund_id,
    status: s.status,
    notification: { channel: s.channel, destination: s.destination_masked, attempts: Number(s.attempts) },
  };
}
