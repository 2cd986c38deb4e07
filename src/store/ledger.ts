import { invariant } from '../domain/errors.js';
import { assertTotals } from '../domain/payment.js';
import type { RefundStatus } from '../domain/refund-state.js';
import { isInFlight, totalsDelta, transition } from '../domain/refund-state.js';
import type { ReviewChecklist } from '../domain/review.js';
import { queueConsumerMessages } from './consumer-messages.js';
import type { Tx } from './db.js';
import { addToDayTotal, loadPaymentRow, loadRefundRow, lockMerchant, type RefundRow } from './repo.js';
import type { PaymentItemTable, PaymentTable } from './schema.js';

/**
 * The ONE ledger writer: nothing outside store/ writes payments, their items, refunds, refund
 * events, merchant funds or day totals. Every refund reservation and release goes through
 * `TotalsChange` (the domain's `totalsDelta`), and the payment's totals are asserted after
 * every write (read back by the write itself) — a bug that would push refunds past the captured
 * amount fails the transaction instead of committing.
 */

async function moveMerchantFunds(trx: Tx, merchantId: string, deltaMinor: number): Promise<void> {
  if (deltaMinor === 0) return;
  await trx
    .updateTable('merchants')
    .set((eb) => ({ available_funds_minor: eb('available_funds_minor', '+', deltaMinor) }))
    .where('id', '=', merchantId)
    .execute();
}

/** A captured sale or charge: the payment, its line items and the merchant's funds (amount − fee). */
export async function insertPayment(
  trx: Tx,
  payment: PaymentTable,
  items: Omit<PaymentItemTable, 'payment_id' | 'merchant_id' | 'refunded_qty'>[],
): Promise<void> {
  invariant(payment.refunded_minor === 0 && payment.in_flight_minor === 0, 'a new payment has no refunds');
  await trx.insertInto('payments').values(payment).execute();
  for (const item of items) {
    await trx
      .insertInto('payment_items')
      .values({ ...item, payment_id: payment.id, merchant_id: payment.merchant_id, refunded_qty: 0 })
      .execute();
  }
  await moveMerchantFunds(trx, payment.merchant_id, Number(payment.amount_minor) - Number(payment.fee_minor));
}

/** 撤销 recorded: the payment leaves the merchant's funds. Callers hold the payment's lock. */
export async function markVoided(trx: Tx, payment: PaymentTable, at: Date): Promise<void> {
  invariant(payment.voided === 0, 'a payment is voided once');
  invariant(
    Number(payment.refunded_minor) === 0 && Number(payment.in_flight_minor) === 0,
    'a voided payment has no refunds',
  );
  const iso = at.toISOString();
  await trx
    .updateTable('payments')
    .set({ voided: 1, voided_at: iso, updated_at: iso })
    .where('id', '=', payment.id)
    .where('merchant_id', '=', payment.merchant_id)
    .execute();
  await moveMerchantFunds(
    trx,
    payment.merchant_id,
    -(Number(payment.amount_minor) - Number(payment.fee_minor)),
  );
}

type TotalsRefund = Pick<
  RefundRow,
  'payment_id' | 'merchant_id' | 'amount_minor' | 'net_amount_minor' | 'items_json' | 'created_day'
>;

/** What refunds' status changes move, summed: per payment, per payment line, the funds, per day. */
class TotalsChange {
  readonly payments = new Map<string, { inFlight: number; refunded: number; at: string }>();
  readonly lines = new Map<string, { paymentId: string; sku: string; qty: number }>();
  readonly days = new Map<string, number>();
  funds = 0;

  /**
   * One refund moving `from` → `to` (`from = null`: a new refund, its reservation). A move out of
   * flight other than to `succeeded` is a release: units, funds and the daily total come back.
   */
  add(refund: TotalsRefund, from: RefundStatus | null, to: RefundStatus, at: string): void {
    const amount = Number(refund.amount_minor);
    const delta = totalsDelta(from, to, amount);
    const p = this.payments.get(refund.payment_id) ?? { inFlight: 0, refunded: 0, at };
    p.inFlight += delta.inFlightMinor;
    p.refunded += delta.refundedMinor;
    p.at = at;
    this.payments.set(refund.payment_id, p);
    const reserving = from === null && isInFlight(to);
    const releasing = from !== null && isInFlight(from) && !isInFlight(to) && to !== 'succeeded';
    if (!reserving && !releasing) return;
    const sign = reserving ? 1 : -1;
    for (const item of JSON.parse(refund.items_json) as { sku: string; qty: number }[]) {
      const key = `${refund.payment_id}\u0000${item.sku}`;
      const line = this.lines.get(key) ?? { paymentId: refund.payment_id, sku: item.sku, qty: 0 };
      line.qty += sign * item.qty;
      this.lines.set(key, line);
    }
    this.funds -= sign * Number(refund.net_amount_minor);
    this.days.set(refund.created_day, (this.days.get(refund.created_day) ?? 0) + sign * amount);
  }

  /**
   * The one place refunds move money: each payment's totals first, read back by the write and
   * asserted before anything else is written, then its lines, the merchant's funds, the days.
   */
  async write(trx: Tx, merchantId: string): Promise<void> {
    for (const [paymentId, p] of this.payments) {
      const totals = await trx
        .updateTable('payments')
        .set((eb) => ({
          in_flight_minor: eb('in_flight_minor', '+', p.inFlight),
          refunded_minor: eb('refunded_minor', '+', p.refunded),
          updated_at: p.at,
        }))
        .where('id', '=', paymentId)
        .where('merchant_id', '=', merchantId)
        .returning(['amount_minor', 'refunded_minor', 'in_flight_minor'])
        .executeTakeFirstOrThrow();
      assertTotals({
        amountMinor: Number(totals.amount_minor),
        refundedMinor: Number(totals.refunded_minor),
        inFlightMinor: Number(totals.in_flight_minor),
      });
    }
    for (const line of this.lines.values()) {
      await trx
        .updateTable('payment_items')
        .set((eb) => ({ refunded_qty: eb('refunded_qty', '+', line.qty) }))
        .where('payment_id', '=', line.paymentId)
        .where('merchant_id', '=', merchantId)
        .where('sku', '=', line.sku)
        .execute();
    }
    await moveMerchantFunds(trx, merchantId, this.funds);
    for (const [day, amount] of this.days) await addToDayTotal(trx, merchantId, day, amount);
  }
}

async function applyRefundTotals(
  trx: Tx,
  refund: TotalsRefund,
  from: RefundStatus | null,
  to: RefundStatus,
  at: string,
): Promise<void> {
  const change = new TotalsChange();
  change.add(refund, from, to, at);
  await change.write(trx, refund.merchant_id);
}

async function insertRefundEvent(
  trx: Tx,
  refund: Pick<RefundRow, 'id' | 'merchant_id'>,
  move: { from: RefundStatus | null; to: RefundStatus; actor: string; note: string | null; at: string },
  checklist: ReviewChecklist | undefined,
): Promise<void> {
  await trx
    .insertInto('refund_events')
    .values({
      refund_id: refund.id,
      merchant_id: refund.merchant_id,
      from_status: move.from,
      to_status: move.to,
      actor: move.actor,
      note: move.note,
      at: move.at,
      checklist_json: checklist ? JSON.stringify(checklist) : null,
    })
    .execute();
}

/** A new refund and its reservation. Callers hold the merchant and payment locks and have decided it. */
export async function insertRefund(trx: Tx, refund: RefundRow): Promise<void> {
  await insertRefunds(trx, [refund]);
}

/** Rows per multi-row insert: far below either database's limit on bound parameters. */
const INSERT_ROWS = 200;

/**
 * New refunds of one merchant and their reservations, decided one after another over the same
 * locked payments (group commit): their reservations summed in one `TotalsChange` — one statement
 * per payment, payment line, merchant and day instead of one per refund — the payments' totals as
 * they end asserted like every write.
 */
export async function insertRefunds(trx: Tx, refunds: RefundRow[]): Promise<void> {
  const [first] = refunds;
  if (!first) return;
  invariant(
    refunds.every((r) => r.merchant_id === first.merchant_id),
    'refunds are inserted for one merchant at a time',
  );
  for (let i = 0; i < refunds.length; i += INSERT_ROWS) {
    await trx
      .insertInto('refunds')
      .values(refunds.slice(i, i + INSERT_ROWS))
      .execute();
  }
  const change = new TotalsChange();
  for (const r of refunds) change.add(r, null, r.status, r.created_at);
  await change.write(trx, first.merchant_id);
  const events = refunds.map((r) => ({
    refund_id: r.id,
    merchant_id: r.merchant_id,
    from_status: null,
    to_status: r.status,
    actor: r.created_by,
    note: null,
    at: r.created_at,
  }));
  for (let i = 0; i < events.length; i += INSERT_ROWS) {
    await trx
      .insertInto('refund_events')
      .values(events.slice(i, i + INSERT_ROWS))
      .execute();
  }
}

export interface MoveOptions {
  /**
   * The refund's merchant, which every caller in the service knows: the move then reads and locks
   * on that merchant's shard only. Without it the refund is first found by id on every shard.
   */
  merchantId?: string | undefined;
  actor: string;
  note?: string | undefined;
  at: Date;
  set?: Partial<Pick<RefundRow, 'network_reference' | 'response_code' | 'approvals_json' | 'delayed'>>;
  /** The reviewer's checklist of the approval that makes this move, kept with its history event. */
  checklist?: ReviewChecklist | undefined;
}

/**
 * Move a refund to `to` (a legal transition of the state machine) and keep every running total in
 * step. Locks merchant → payment → refund, the one lock order used everywhere.
 */
export async function moveRefund(trx: Tx, refundId: string, to: RefundStatus, opts: MoveOptions) {
  const peek = await loadRefundRow(trx, opts.merchantId ?? null, refundId, false);
  await lockMerchant(trx, peek.merchant_id);
  await loadPaymentRow(trx, peek.merchant_id, { paymentId: peek.payment_id }, true);
  const refund = await loadRefundRow(trx, peek.merchant_id, refundId, true);
  const from = refund.status;
  transition(from, to);
  const now = opts.at.toISOString();
  await applyRefundTotals(trx, refund, from, to, now);
  await trx
    .updateTable('refunds')
    .set({ ...opts.set, status: to, updated_at: now })
    .where('id', '=', refundId)
    .where('merchant_id', '=', refund.merchant_id)
    .execute();
  await insertRefundEvent(
    trx,
    refund,
    { from, to, actor: opts.actor, note: opts.note ?? null, at: now },
    opts.checklist,
  );
  // A consumer who asked for updates (a QR return) hears of the step, from the same transaction.
  await queueConsumerMessages(trx, refund, to, opts.at);
  return { ...refund, ...opts.set, status: to, updated_at: now, from };
}

/** Fields of a refund that change without a status move. */
export async function updateRefund(
  trx: Tx,
  merchantId: string,
  refundId: string,
  set: Partial<Pick<RefundRow, 'approvals_json' | 'handed_off_at' | 'delayed' | 'expected_arrival'>>,
  at: Date,
): Promise<void> {
  await trx
    .updateTable('refunds')
    .set({ ...set, updated_at: at.toISOString() })
    .where('id', '=', refundId)
    .where('merchant_id', '=', merchantId)
    .execute();
}

/** 批结算 recorded: the batch's payments and refunds (of one merchant) belong to settlement `settlementId`. */
export async function markSettled(
  trx: Tx,
  merchantId: string,
  settlementId: string,
  paymentIds: string[],
  refundIds: string[],
): Promise<void> {
  if (paymentIds.length > 0) {
    await trx
      .updateTable('payments')
      .set({ settled: 1, settlement_id: settlementId })
      .where('merchant_id', '=', merchantId)
      .where('id', 'in', paymentIds)
      .execute();
  }
  if (refundIds.length > 0) {
    await trx
      .updateTable('refunds')
      .set({ settlement_id: settlementId })
      .where('merchant_id', '=', merchantId)
      .where('id', 'in', refundIds)
      .execute();
  }
}
