import { requirePermission } from '../domain/auth.js';
import { DomainError } from '../domain/errors.js';
import {
  acquirerFeeMinor,
  luhnValid,
  maskPan,
  type PaymentMethod,
  type PaymentState,
} from '../domain/payment.js';
import { NetworkUnavailableError } from '../network/port.js';
import { normalisePhone, phoneSearchCandidates } from '../security.js';
import { appendAudit } from '../store/audit.js';
import type { Tx } from '../store/db.js';
import { insertPayment, markVoided } from '../store/ledger.js';
import { loadPaymentRow, lockMerchant, paymentState, paymentStates } from '../store/repo.js';
import { openReturnHolds } from '../store/returns.js';
import type { Caller, Ctx } from './context.js';
import { afterCursor, decodeCursor, page, paymentView } from './views.js';

export interface PaymentInput {
  orderNo: string;
  amount: number;
  currency: string;
  method: PaymentMethod;
  card?: { pan: string; expiry: string } | undefined;
  items?: { sku: string; name: string; qty: number; unitAmount: number }[] | undefined;
}

export function checkPaymentInput(input: PaymentInput): void {
  if (input.method === 'card') {
    if (!input.card)
      throw new DomainError('validation_failed', 'a card payment needs card.pan and card.expiry');
    if (!luhnValid(input.card.pan))
      throw new DomainError('validation_failed', 'the card number fails its check digit');
  } else if (input.card) {
    throw new DomainError('validation_failed', 'card details are only for card payments');
  }
  if (input.items && input.items.length > 0) {
    const total = input.items.reduce((s, i) => s + i.qty * i.unitAmount, 0);
    if (total !== input.amount) {
      throw new DomainError(
        'validation_failed',
        `line items add up to ${total}, not the amount ${input.amount}`,
      );
    }
    if (new Set(input.items.map((i) => i.sku)).size !== input.items.length) {
      throw new DomainError('validation_failed', 'each sku may appear once');
    }
  }
}

export function networkDown(err: unknown): never {
  if (err instanceof NetworkUnavailableError) {
    // The link's own words say whether anything was sent (and is now being reversed).
    throw new DomainError('network_unavailable', `the payment network did not answer: ${err.message}`);
  }
  throw err;
}

/** Record an authorised payment (the sale workflow's apply step): items, funds and the audit entry. */
export async function recordPayment(
  ctx: Ctx,
  trx: Tx,
  caller: Caller,
  input: PaymentInput,
  auth: { paymentId: string; reference: string | null; cardToken: string | undefined },
  opts: { kind?: 'sale' | 'charge'; parentPaymentId?: string } = {},
) {
  const merchant = await lockMerchant(trx, caller.merchantId);
  if (merchant.currency !== input.currency) {
    throw new DomainError('currency_mismatch', `this merchant takes ${merchant.currency}`);
  }
  const kind = opts.kind ?? 'sale';
  const id = auth.paymentId;
  const now = ctx.clock();
  const card = input.card ? maskPan(input.card.pan) : null;
  const fee = acquirerFeeMinor(input.amount, input.method);
  const iso = now.toISOString();
  await insertPayment(
    trx,
    {
      id,
      merchant_id: caller.merchantId,
      terminal_id: caller.terminalId,
      order_no: input.orderNo,
      kind,
      parent_payment_id: opts.parentPaymentId ?? null,
      amount_minor: input.amount,
      currency: input.currency,
      method: input.method,
      fee_minor: fee,
      card_bin: card?.bin ?? null,
      card_last4: card?.last4 ?? null,
      card_token: auth.cardToken ?? null,
      voided: 0,
      voided_at: null,
      settled: 0,
      settlement_id: null,
      refunded_minor: 0,
      in_flight_minor: 0,
      network_reference: auth.reference,
      captured_at: iso,
      created_at: iso,
      updated_at: iso,
    },
    (input.items ?? []).map((item, i) => ({
      line_no: i + 1,
      sku: item.sku,
      name: item.name,
      qty: item.qty,
      unit_amount_minor: item.unitAmount,
    })),
  );
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: kind === 'sale' ? 'payment.captured' : 'payment.charge_captured',
    entity: 'payment',
    entityId: id,
    data: {
      orderNo: input.orderNo,
      amount: input.amount,
      currency: input.currency,
      method: input.method,
      last4: card?.last4,
    },
    at: now,
  });
  // Just captured: no return QR can hold any of it yet.
  return getPaymentIn(trx, caller.merchantId, id, null);
}

/** A payment as the API shows it; `now` reads what open return QRs hold (null: none can). */
export async function getPaymentIn(trx: Tx, merchantId: string, id: string, now: Date | null) {
  const row = await loadPaymentRow(trx, merchantId, { paymentId: id }, false);
  const held = now ? (await openReturnHolds(trx, merchantId, [row.id], now)).get(row.id) : undefined;
  return paymentView(row, await paymentState(trx, row), held);
}

export async function getPayment(ctx: Ctx, caller: Caller, id: string) {
  requirePermission(caller.principal, 'payment.read');
  return getPaymentIn(ctx.store.db, caller.merchantId, id, ctx.clock());
}

export interface PaymentFilter {
  orderNo?: string | undefined;
  last4?: string | undefined;
  amount?: number | undefined;
  /** Amount range, minor units, both ends included. */
  amountMin?: number | undefined;
  amountMax?: number | undefined;
  /** Payments whose refunds or voucher sends carry this phone (any format: normalisePhone). */
  phone?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** Fewest digits a phone search takes: shorter input would match numbers nobody meant. */
const MIN_PHONE_DIGITS = 5;

/**
 * The ids of the merchant's payments whose refunds (consumer phone) or voucher SMS sends carry the
 * phone: looked up by its keyed hash under each live data key (security.ts phoneSearchHash), through
 * the partial indexes of migration 0019 — no sealed value is opened to search.
 */
function paymentIdsByPhone(ctx: Ctx, merchantId: string, phone: string) {
  if (normalisePhone(phone).length < MIN_PHONE_DIGITS)
    throw new DomainError('validation_failed', `phone must have at least ${MIN_PHONE_DIGITS} digits`);
  const hashes = phoneSearchCandidates(ctx.secrets, phone);
  const db = ctx.store.db;
  return db
    .selectFrom('refunds')
    .select('payment_id')
    .where('merchant_id', '=', merchantId)
    .where('consumer_phone_hash', 'is not', null)
    .where('consumer_phone_hash', 'in', hashes)
    .union(
      db
        .selectFrom('receipt_sends')
        .innerJoin('refunds', (j) =>
          j.onRef('refunds.id', '=', 'receipt_sends.refund_id').on('refunds.merchant_id', '=', merchantId),
        )
        .select('refunds.payment_id')
        .where('receipt_sends.merchant_id', '=', merchantId)
        .where('receipt_sends.destination_phone_hash', 'is not', null)
        .where('receipt_sends.destination_phone_hash', 'in', hashes),
    );
}

/**
 * The rows a payment list reads: every payment, or with a phone only that phone's. The phone's
 * payments are the outer loop of a CROSS JOIN: SQLite keeps that order, so it finds the few
 * payments by id and sorts them, where `id in (…)` had it walk all of the merchant's payments in
 * list order probing each; PostgreSQL plans it as any inner join. The joined side names one column
 * (`payment_id`), so the list's filters on the payment's columns stay unambiguous.
 */
function paymentsOf(ctx: Ctx, merchantId: string, phone: string | undefined) {
  const all = ctx.store.db.selectFrom('payments').selectAll('payments');
  if (!phone) return all;
  const byPhone = ctx.store.db
    .selectFrom(paymentIdsByPhone(ctx, merchantId, phone).as('by_phone'))
    .crossJoin('payments')
    .selectAll('payments')
    .whereRef('payments.id', '=', 'by_phone.payment_id');
  // The same rows and columns; only the tables in scope differ, and no filter names by_phone's.
  return byPhone as unknown as typeof all;
}

export async function listPayments(ctx: Ctx, caller: Caller, f: PaymentFilter) {
  requirePermission(caller.principal, 'payment.read');
  if (f.amountMin !== undefined && f.amountMax !== undefined && f.amountMin > f.amountMax)
    throw new DomainError('validation_failed', 'amountMin must not be above amountMax');
  let q = paymentsOf(ctx, caller.merchantId, f.phone).where('merchant_id', '=', caller.merchantId);
  if (f.orderNo) q = q.where('order_no', '=', f.orderNo);
  if (f.last4) q = q.where('card_last4', '=', f.last4);
  if (f.amount !== undefined) q = q.where('amount_minor', '=', f.amount);
  if (f.amountMin !== undefined) q = q.where('amount_minor', '>=', f.amountMin);
  if (f.amountMax !== undefined) q = q.where('amount_minor', '<=', f.amountMax);
  if (f.from) q = q.where('created_at', '>=', f.from);
  if (f.to) q = q.where('created_at', '<', f.to);
  const after = afterCursor(f.cursor);
  if (after) q = q.where(after);
  // The cursor's time also bounds the index range (merchant_id, [filter,] created_at, id):
  // without it a deep page walks every newer row of the merchant before its first one.
  const bound = f.cursor ? decodeCursor(f.cursor) : null;
  if (bound) q = q.where('created_at', '<=', bound.createdAt);
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(f.limit + 1)
    .execute();
  const views = [];
  const states = await paymentStates(ctx.store.db, rows);
  const held = await openReturnHolds(
    ctx.store.db,
    caller.merchantId,
    rows.map((r) => r.id),
    ctx.clock(),
  );
  for (const [i, row] of rows.entries())
    views.push(paymentView(row, states[i] as PaymentState, held.get(row.id)));
  return page(views, f.limit);
}

/**
 * Record a void the network has made, under the payment's lock. The business rules were decided
 * before the network call (the void workflow's reservation kept them true); what is checked here
 * is only what the ledger itself needs.
 */
export async function recordVoid(
  ctx: Pick<Ctx, 'store' | 'clock'>,
  trx: Tx,
  caller: Pick<Caller, 'merchantId' | 'actor'>,
  paymentId: string,
  approvedBy: string[],
) {
  await lockMerchant(trx, caller.merchantId);
  const row = await loadPaymentRow(trx, caller.merchantId, { paymentId }, true);
  const state = await paymentState(trx, row);
  const now = ctx.clock();
  await markVoided(trx, row, now);
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'payment.voided',
    entity: 'payment',
    entityId: row.id,
    data: { amount: state.amountMinor, approvedBy },
    at: now,
  });
  // Voided: a sale with an open return QR is never voided (workflows/void.ts), so nothing is held.
  return getPaymentIn(trx, caller.merchantId, row.id, null);
}
