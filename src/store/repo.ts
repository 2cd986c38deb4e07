import { sql } from 'kysely';
import { DomainError, invariant } from '../domain/errors.js';
import type { PaymentState } from '../domain/payment.js';
import { assertTotals } from '../domain/payment.js';
import { defaultPolicy, type Policy } from '../domain/policy.js';
import type { RefundStatus } from '../domain/refund-state.js';
import type { Tx } from './db.js';
import { forUpdate } from './db.js';
import type { MerchantTable, PaymentTable, RefundEvidenceTable, RefundTable } from './schema.js';

/** The one repository layer: every read and write of the ledger goes through here. */

export type MerchantRow = MerchantTable;
export type PaymentRow = PaymentTable;
export type RefundRow = RefundTable;

export function policyOf(m: Pick<MerchantRow, 'policy_json'>): Policy {
  const stored = JSON.parse(m.policy_json) as Partial<Policy>;
  // Policies stored before the risk rules (or with fewer of them) read the missing ones as off.
  return { ...defaultPolicy, ...stored, riskRules: { ...defaultPolicy.riskRules, ...stored.riskRules } };
}

export async function lockMerchant(trx: Tx, merchantId: string): Promise<MerchantRow> {
  const m = await forUpdate(
    trx,
    trx.selectFrom('merchants').selectAll().where('id', '=', merchantId),
  ).executeTakeFirst();
  if (!m) throw new DomainError('not_found', `merchant ${merchantId} not found`);
  return m;
}

/** The merchant, locked, with its refund total of `day` (refunds decide against both): one statement. */
export async function lockMerchantWithDayTotal(
  trx: Tx,
  merchantId: string,
  day: string,
): Promise<{ merchant: MerchantRow; dayTotalMinor: number }> {
  const q = trx
    .selectFrom('merchants')
    .selectAll('merchants')
    .select((eb) =>
      eb
        .selectFrom('merchant_day_totals')
        .select('merchant_day_totals.amount_minor')
        .where('merchant_day_totals.merchant_id', '=', merchantId)
        .where('merchant_day_totals.day', '=', day)
        .as('day_total_minor'),
    )
    .where('merchants.id', '=', merchantId);
  const row = await forUpdate(trx, q).executeTakeFirst();
  if (!row) throw new DomainError('not_found', `merchant ${merchantId} not found`);
  const { day_total_minor, ...merchant } = row;
  return { merchant, dayTotalMinor: Number(day_total_minor ?? 0) };
}

export async function loadPaymentRow(
  trx: Tx,
  merchantId: string,
  ref: { paymentId?: string | undefined; orderNo?: string | undefined },
  lock: boolean,
): Promise<PaymentRow> {
  let q = trx.selectFrom('payments').selectAll().where('merchant_id', '=', merchantId);
  if (ref.paymentId) q = q.where('id', '=', ref.paymentId);
  else if (ref.orderNo) q = q.where('order_no', '=', ref.orderNo).where('kind', '=', 'sale');
  else throw new DomainError('validation_failed', 'paymentId or orderNo is required');
  const row = await (lock ? forUpdate(trx, q) : q).executeTakeFirst();
  if (!row) {
    throw new DomainError(
      'not_found',
      ref.paymentId ? `payment ${ref.paymentId} not found` : `order ${ref.orderNo} not found`,
    );
  }
  return row;
}

export async function paymentState(trx: Tx, row: PaymentRow): Promise<PaymentState> {
  const [state] = await paymentStates(trx, [row]);
  invariant(state, 'one state per payment row');
  return state;
}

/** The domain view of several payments of one merchant, their line items read in one query (lists, orders). */
export async function paymentStates(trx: Tx, rows: PaymentRow[]): Promise<PaymentState[]> {
  const [first] = rows;
  if (!first) return [];
  invariant(
    rows.every((r) => r.merchant_id === first.merchant_id),
    'payment states are read for one merchant at a time',
  );
  const items = await trx
    .selectFrom('payment_items')
    .selectAll()
    .where('merchant_id', '=', first.merchant_id)
    .where(
      'payment_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('payment_id')
    .orderBy('line_no')
    .execute();
  return rows.map((row) => {
    const state: PaymentState = {
      id: row.id,
      merchantId: row.merchant_id,
      orderNo: row.order_no,
      kind: row.kind as PaymentState['kind'],
      amountMinor: Number(row.amount_minor),
      currency: row.currency,
      method: row.method,
      feeMinor: Number(row.fee_minor),
      voided: row.voided === 1,
      settled: row.settled === 1,
      capturedAt: new Date(row.captured_at),
      refundedMinor: Number(row.refunded_minor),
      inFlightMinor: Number(row.in_flight_minor),
      items: items
        .filter((i) => i.payment_id === row.id)
        .map((i) => ({
          sku: i.sku,
          name: i.name,
          qty: i.qty,
          unitAmountMinor: Number(i.unit_amount_minor),
          refundedQty: i.refunded_qty,
        })),
    };
    assertTotals(state);
    return state;
  });
}

/** Sum of the merchant's refunds created on `day` (Shanghai) that still count against the daily cap. */
export async function merchantDayTotal(trx: Tx, merchantId: string, day: string): Promise<number> {
  const r = await trx
    .selectFrom('merchant_day_totals')
    .select('amount_minor')
    .where('merchant_id', '=', merchantId)
    .where('day', '=', day)
    .executeTakeFirst();
  return Number(r?.amount_minor ?? 0);
}

/** Move the daily running total; callers hold the merchant lock. */
export async function addToDayTotal(
  trx: Tx,
  merchantId: string,
  day: string,
  deltaMinor: number,
): Promise<void> {
  if (deltaMinor < 0) {
    // A release always follows its own reservation, so the row exists (and the CHECK keeps it ≥ 0).
    await trx
      .updateTable('merchant_day_totals')
      .set((eb) => ({ amount_minor: eb('amount_minor', '+', deltaMinor) }))
      .where('merchant_id', '=', merchantId)
      .where('day', '=', day)
      .execute();
    return;
  }
  await trx
    .insertInto('merchant_day_totals')
    .values({ merchant_id: merchantId, day, amount_minor: deltaMinor })
    .onConflict((oc) =>
      oc
        .columns(['merchant_id', 'day'])
        .doUpdateSet((eb) => ({ amount_minor: eb('merchant_day_totals.amount_minor', '+', deltaMinor) })),
    )
    .execute();
}

/** A refund; `merchantId` null reads it by id alone (every shard), never under a lock. */
export async function loadRefundRow(trx: Tx, merchantId: string | null, id: string, lock: boolean) {
  // A sharded store (Citus) locks rows in single-shard statements only.
  invariant(!lock || merchantId !== null, 'a refund is locked on its merchant’s shard: name the merchant');
  let q = trx.selectFrom('refunds').selectAll().where('id', '=', id);
  if (merchantId) q = q.where('merchant_id', '=', merchantId);
  const row = await (lock ? forUpdate(trx, q) : q).executeTakeFirst();
  if (!row) throw new DomainError('not_found', `refund ${id} not found`);
  return row;
}

/**
 * Take the merchant → payment → refund locks in the one global order; returns the refund as locked.
 * `merchantId` null: the caller has the refund id alone (the worker's outbox row, a network
 * result), and the unlocked peek finds the merchant on whichever shard holds it; every lock after
 * it names the merchant.
 */
export async function lockRefund(
  trx: Tx,
  merchantId: string | null,
  refundId: string,
): Promise<RefundRow | undefined> {
  let q = trx.selectFrom('refunds').select(['merchant_id', 'payment_id']).where('id', '=', refundId);
  if (merchantId) q = q.where('merchant_id', '=', merchantId);
  const peek = await q.executeTakeFirst();
  if (!peek) return undefined;
  await lockMerchant(trx, peek.merchant_id);
  await loadPaymentRow(trx, peek.merchant_id, { paymentId: peek.payment_id }, true);
  return loadRefundRow(trx, peek.merchant_id, refundId, true);
}

export async function enqueueOutbox(
  trx: Tx,
  entry: {
    id: string;
    kind: string;
    refId: string;
    payload: unknown;
    at: Date;
    dueAt?: Date;
    merchantId?: string;
  },
): Promise<void> {
  const at = entry.at.toISOString();
  await trx
    .insertInto('outbox')
    .values({
      id: entry.id,
      kind: entry.kind,
      merchant_id: entry.merchantId ?? null,
      ref_id: entry.refId,
      payload_json: JSON.stringify(entry.payload),
      status: 'pending',
      attempts: 0,
      next_attempt_at: (entry.dueAt ?? entry.at).toISOString(),
      locked_until: null,
      last_error: null,
      created_at: at,
      updated_at: at,
    })
    .execute();
}

// ---- what the risk rules count (domain/risk.ts; migration 0018 has their indexes) ------------

/**
 * The creation times of the newest `limit` refunds each actor created after `since`: what the
 * operator rule needs (whether `limit` of them fall in the last hour), and no more however busy
 * the operator. One statement for every actor of a batch; each part reads its actor's newest
 * entries of (merchant, created_by, created_at) and stops after `limit`.
 */
export async function recentRefundTimes(
  trx: Tx,
  merchantId: string,
  actors: string[],
  since: string,
  limit: number,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(actors.map((a) => [a, []]));
  const parts = actors.map((actor) =>
    trx
      .selectFrom((db) =>
        db
          .selectFrom('refunds')
          .select(['created_by', 'created_at'])
          .where('merchant_id', '=', merchantId)
          .where('created_by', '=', actor)
          .where('created_at', '>', since)
          .orderBy('created_at', 'desc')
          .limit(limit)
          .as('latest'),
      )
      .select(['latest.created_by', 'latest.created_at']),
  );
  const [first, ...rest] = parts;
  if (!first) return out;
  const rows = await rest.reduce((q, part) => q.unionAll(part), first).execute();
  for (const r of rows) out.get(r.created_by)?.push(r.created_at);
  return out;
}

/**
 * The orders with refunds created on `day` on payments of these cards (their tokens): what the
 * card rule counts. Every refund counts, whatever became of it. The card's payments come from
 * (merchant, card_token); for each, whether it has a refund that day from (merchant, order_no, …):
 * a refund carries its payment's order number, and naming it keeps every planner on that index
 * instead of walking the merchant's refunds (SQLite, never ANALYZEd, would otherwise start there).
 */
export async function cardOrdersRefundedOn(
  trx: Tx,
  merchantId: string,
  cardTokens: string[],
  day: string,
): Promise<{ cardToken: string; orderNo: string }[]> {
  if (cardTokens.length === 0) return [];
  const rows = await trx
    .selectFrom('payments as p')
    // One row per payment (a handful per card and day): no DISTINCT, which would tempt both
    // planners to walk the merchant's payments in order-number order to skip a sort.
    .select(['p.card_token', 'p.order_no'])
    .where('p.merchant_id', '=', merchantId)
    .where('p.card_token', 'in', cardTokens)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('refunds as r')
          .select(sql.lit(1).as('one'))
          .whereRef('r.merchant_id', '=', 'p.merchant_id')
          .whereRef('r.order_no', '=', 'p.order_no')
          .whereRef('r.payment_id', '=', 'p.id')
          .where('r.created_day', '=', day),
      ),
    )
    .execute();
  const seen = new Set<string>();
  return rows.flatMap((r) => {
    const key = `${r.card_token}\u0000${r.order_no}`;
    if (!r.card_token || seen.has(key)) return [];
    seen.add(key);
    return [{ cardToken: r.card_token, orderNo: r.order_no }];
  });
}

/**
 * The merchant's sales of one Shanghai day, [start, end) as ISO-UTC text: sales captured that day
 * and not voided, as the refund report counts them (service/reports.ts). Summed from the partial
 * index `payments_merchant_day_sales`, whose condition the query repeats word for word.
 */
export async function daySalesMinor(
  trx: Tx,
  merchantId: string,
  window: { start: string; end: string },
): Promise<number> {
  const r = await trx
    .selectFrom('payments')
    .select((eb) => eb.fn.sum<number | string | null>('amount_minor').as('sales'))
    .where('merchant_id', '=', merchantId)
    .where('created_at', '>=', window.start)
    .where('created_at', '<', window.end)
    .where(sql<boolean>`kind = 'sale' and voided = 0`)
    .executeTakeFirst();
  const sales = Number(r?.sales ?? 0);
  invariant(Number.isSafeInteger(sales) && sales >= 0, 'a day of sales is a whole, non-negative amount');
  return sales;
}

// ---- evidence photos (migration 0018) ----------------------------------------------------------

export type EvidenceRow = RefundEvidenceTable;

/** How many photos a refund has (the refund is locked by the caller, so the count holds until the insert). */
export async function countEvidence(trx: Tx, merchantId: string, refundId: string): Promise<number> {
  const r = await trx
    .selectFrom('refund_evidence')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('merchant_id', '=', merchantId)
    .where('refund_id', '=', refundId)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function insertEvidence(trx: Tx, row: EvidenceRow): Promise<void> {
  await trx.insertInto('refund_evidence').values(row).execute();
}

/** A refund's photos without their bytes, oldest first. */
export async function listEvidenceRows(trx: Tx, merchantId: string, refundId: string) {
  return trx
    .selectFrom('refund_evidence')
    .select(['id', 'refund_id', 'content_type', 'size_bytes', 'sha256', 'uploaded_by', 'created_at'])
    .where('merchant_id', '=', merchantId)
    .where('refund_id', '=', refundId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** One photo of a refund with its bytes. */
export async function loadEvidence(
  trx: Tx,
  merchantId: string,
  refundId: string,
  evidenceId: string,
): Promise<EvidenceRow> {
  const row = await trx
    .selectFrom('refund_evidence')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .where('refund_id', '=', refundId)
    .where('id', '=', evidenceId)
    .executeTakeFirst();
  if (!row) throw new DomainError('not_found', `photo ${evidenceId} of refund ${refundId} not found`);
  return row;
}

/** The status a refund was created in: its first history event (refund_events, by refund). */
export async function refundCreatedAs(trx: Tx, merchantId: string, refundId: string): Promise<RefundStatus> {
  const first = await trx
    .selectFrom('refund_events')
    .select('to_status')
    .where('merchant_id', '=', merchantId)
    .where('refund_id', '=', refundId)
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  if (!first) throw new DomainError('not_found', `refund ${refundId} has no history`);
  return first.to_status;
}
