import QRCode from 'qrcode';
import { requirePermission } from '../domain/auth.js';
import { shanghaiDate } from '../domain/calendar.js';
import { DomainError } from '../domain/errors.js';
import type { PaymentMethod } from '../domain/payment.js';
import type { ReasonCode } from '../domain/policy.js';
import { decideRefund } from '../domain/refund.js';
import { type ConsumerLang, type ReturnLine, returnLines } from '../domain/returns.js';
import { ulid } from '../ids.js';
import { returnUrl, signReturnLink, trackingToken, trackingUrl, verifyReturnLink } from '../links.js';
import { appendAudit } from '../store/audit.js';
import { queueConsumerMessages } from '../store/consumer-messages.js';
import type { Tx } from '../store/db.js';
import { moveRefund } from '../store/ledger.js';
import { lockPaymentsForRefunds } from '../store/operations.js';
import { loadRefundRow, lockMerchantWithDayTotal, paymentStates, policyOf } from '../store/repo.js';
import {
  holdReturns,
  insertReturn,
  loadReturnRow,
  openReturnHolds,
  type ReturnRow,
  updateReturn,
} from '../store/returns.js';
import type { Caller, Ctx } from './context.js';
import { createRefund } from './refunds.js';

/**
 * QR-code scan return (扫码退货, PRODUCT.md §5, issue 12). The merchant picks the returned lines of
 * a sale and shows a QR; the consumer opens its link on a phone, checks the goods and the amount,
 * gives a reason and a contact and submits once; the merchant inspects the goods; the refund then
 * takes the normal approval and network path, and the consumer follows it on the status page.
 *
 * The lines are reserved from the moment the QR is shown (an open return counts as in flight,
 * store/returns.ts), so two QRs, or a QR and a counter refund, can never both take the last item:
 * every return and refund of a sale decides under the sale's lock.
 */

export interface ReturnInput {
  orderNo: string;
  items: { sku: string; qty: number }[];
}

/** The QR of a link as a PNG: error correction M, big enough modules for a phone at arm's length. */
export async function qrPng(url: string): Promise<Buffer> {
  return QRCode.toBuffer(url, { type: 'png', errorCorrectionLevel: 'M', margin: 2, scale: 8 });
}

const isExpired = (row: Pick<ReturnRow, 'expires_at'>, now: Date) =>
  Date.parse(row.expires_at) <= now.getTime();

/** A return's status as the merchant sees it: an open return past its expiry is `expired`. */
export function returnStatus(row: ReturnRow, now: Date): 'open' | 'expired' | 'submitted' | 'canceled' {
  return row.status === 'open' && isExpired(row, now) ? 'expired' : row.status;
}

export function returnView(row: ReturnRow, now: Date) {
  return {
    id: row.id,
    orderNo: row.order_no,
    paymentId: row.payment_id,
    terminalId: row.terminal_id,
    items: JSON.parse(row.items_json) as ReturnLine[],
    amount: Number(row.amount_minor),
    currency: row.currency,
    status: returnStatus(row, now),
    expiresAt: row.expires_at,
    refundId: row.refund_id,
    inspection: row.inspection
      ? {
          result: row.inspection,
          note: row.inspection_note,
          by: row.inspected_by ?? '',
          at: row.inspected_at ?? '',
        }
      : null,
    createdBy: row.created_by,
    createdAt: row.created_at,
    submittedAt: row.submitted_at,
  };
}
export type ReturnView = ReturnType<typeof returnView>;

/**
 * Show a return QR: the sale locked with its merchant, the lines checked against what is bought
 * minus what is refunded or on another open return, and every refund rule that can be checked
 * now (refunds on, the window, the caps, the funds) checked now — the consumer is never sent to a
 * page whose submission the rules would refuse. The answer carries the link and its QR.
 */
export async function createReturn(ctx: Ctx, trx: Tx, caller: Caller, input: ReturnInput, origin: string) {
  requirePermission(caller.principal, 'return.create');
  const now = ctx.clock();
  const { merchant, dayTotalMinor } = await lockMerchantWithDayTotal(
    trx,
    caller.merchantId,
    shanghaiDate(now),
  );
  const policy = policyOf(merchant);
  const [locked] = await lockPaymentsForRefunds(trx, caller.merchantId, {
    ids: [],
    saleOrderNos: [input.orderNo],
  });
  if (!locked) throw new DomainError('not_found', `order ${input.orderNo} not found`);
  if (locked.voidInProgress)
    throw new DomainError('operation_in_progress', 'a void of this order is in progress at the network', {
      operation: 'void',
    });
  const holds = await openReturnHolds(trx, caller.merchantId, [locked.row.id], now);
  const [state] = await paymentStates(trx, [locked.row]);
  if (!state) throw new Error('payment state missing');
  const payment = holdReturns(state, holds.get(state.id));
  if (payment.items.length === 0)
    throw new DomainError(
      'validation_failed',
      `order ${input.orderNo} has no line items: a return QR is for goods; refund an amount at the counter instead`,
    );
  const lines = returnLines(payment.items, input.items);
  // The refund the consumer's submission will ask for, decided now with no approvals: any rule it
  // breaks (refunds off, window passed, caps, funds, amount left) refuses the QR instead.
  decideRefund(
    {
      payment,
      policy,
      now,
      calendar: ctx.calendar,
      merchantTodayMinor: dayTotalMinor,
      merchantAvailableMinor: Number(merchant.available_funds_minor),
      approvals: [],
    },
    {
      amountMinor: undefined,
      items: input.items,
      reason: {
        code: policy.reasons[0] as ReasonCode,
        note: policy.reasons[0] === 'other' ? 'return' : undefined,
      },
      method: 'original',
    },
  );
  const id = `rt_${ulid()}`;
  const expires = new Date(now.getTime() + policy.returnLinkMinutes * 60_000);
  const { token, keyId } = signReturnLink(ctx.secrets, {
    returnId: id,
    merchantId: caller.merchantId,
    expiresAt: Math.floor(expires.getTime() / 1000),
  });
  const at = now.toISOString();
  const row: ReturnRow = {
    id,
    merchant_id: caller.merchantId,
    payment_id: payment.id,
    order_no: payment.orderNo,
    terminal_id: caller.terminalId,
    items_json: JSON.stringify(lines),
    amount_minor: lines.reduce((s, l) => s + l.amount, 0),
    currency: payment.currency,
    status: 'open',
    expires_at: expires.toISOString(),
    token_key: keyId,
    refund_id: null,
    lang: null,
    inspection: null,
    inspection_note: null,
    inspected_by: null,
    inspected_at: null,
    created_by: caller.actor,
    created_at: at,
    submitted_at: null,
    updated_at: at,
  };
  await insertReturn(trx, row);
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'return.created',
    entity: 'return',
    entityId: id,
    data: {
      orderNo: row.order_no,
      amount: row.amount_minor,
      items: lines.map((l) => ({ sku: l.sku, qty: l.qty })),
    },
    at: now,
  });
  const url = returnUrl(origin, token);
  return {
    ...returnView(row, now),
    url,
    qrPng: (await qrPng(url)).toString('base64'),
  };
}

export async function getReturn(ctx: Ctx, caller: Caller, id: string) {
  requirePermission(caller.principal, 'refund.read');
  return returnView(await loadReturnRow(ctx.store.db, caller.merchantId, id, false), ctx.clock());
}

export interface ReturnFilter {
  status?: 'open' | 'expired' | 'submitted' | 'canceled' | undefined;
  orderNo?: string | undefined;
  limit: number;
}

/** A merchant's returns, newest first (at most `limit`). */
export async function listReturns(ctx: Ctx, caller: Caller, f: ReturnFilter) {
  requirePermission(caller.principal, 'refund.read');
  const now = ctx.clock().toISOString();
  let q = ctx.store.db.selectFrom('returns').selectAll().where('merchant_id', '=', caller.merchantId);
  if (f.orderNo) q = q.where('order_no', '=', f.orderNo);
  if (f.status === 'open') q = q.where('status', '=', 'open').where('expires_at', '>', now);
  else if (f.status === 'expired') q = q.where('status', '=', 'open').where('expires_at', '<=', now);
  else if (f.status) q = q.where('status', '=', f.status);
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
  return { data: rows.map((r) => returnView(r, ctx.clock())) };
}

/** The merchant withdraws a QR the consumer has not used: its lines are free again at once. */
export async function cancelReturn(ctx: Ctx, trx: Tx, caller: Caller, id: string) {
  requirePermission(caller.principal, 'return.create');
  const row = await loadReturnRow(trx, caller.merchantId, id, true);
  if (row.status !== 'open')
    throw new DomainError(
      'return_not_open',
      `return ${id} is ${row.status}: only an open return can be withdrawn`,
    );
  const now = ctx.clock();
  await updateReturn(trx, row, { status: 'canceled', updated_at: now.toISOString() });
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'return.canceled',
    entity: 'return',
    entityId: id,
    data: {},
    at: now,
  });
  return returnView({ ...row, status: 'canceled', updated_at: now.toISOString() }, now);
}

/**
 * The return a consumer's link names, checked: signature (`return_link_invalid`), then the row's
 * state — withdrawn (`return_canceled`), used (`return_link_used`), expired (`return_link_expired`).
 * The expiry is the row's (the policy's at creation), the token's own is the same instant.
 */
async function returnOfLink(ctx: Ctx, trx: Tx, token: string, lock: boolean): Promise<ReturnRow> {
  const claims = verifyReturnLink(ctx.secrets, token);
  const invalid = () =>
    new DomainError(
      'return_link_invalid',
      'this return link is not valid: ask the shop to show the QR code again',
    );
  if (!claims) throw invalid();
  // A row that is not there is a made-up link; any other failure (the database) is not the link's.
  const row = await loadReturnRow(trx, claims.merchantId, claims.returnId, lock).catch((err) => {
    throw err instanceof DomainError && err.code === 'not_found' ? invalid() : err;
  });
  if (row.status === 'canceled')
    throw new DomainError('return_canceled', 'the shop withdrew this return; ask them to show a new QR code');
  if (row.status === 'submitted')
    throw new DomainError('return_link_used', 'this return was already submitted; a return link works once');
  if (isExpired(row, ctx.clock()) || claims.expiresAt * 1000 <= ctx.clock().getTime())
    throw new DomainError(
      'return_link_expired',
      'this return link has expired; ask the shop to show the QR code again',
      {
        expiredAt: row.expires_at,
      },
    );
  return row;
}

/** What the consumer's return page shows: the shop, the lines, the total, the policy text. */
export async function consumerReturn(ctx: Ctx, token: string) {
  const db = ctx.store.db;
  const row = await returnOfLink(ctx, db, token, false);
  const merchant = await db
    .selectFrom('merchants')
    .select(['name', 'policy_json'])
    .where('id', '=', row.merchant_id)
    .executeTakeFirstOrThrow();
  const payment = await db
    .selectFrom('payments')
    .select(['method', 'card_last4', 'created_at'])
    .where('merchant_id', '=', row.merchant_id)
    .where('id', '=', row.payment_id)
    .executeTakeFirstOrThrow();
  const policy = policyOf(merchant);
  return {
    merchant: { name: merchant.name },
    orderNo: row.order_no,
    paidAt: payment.created_at,
    route: { method: payment.method as PaymentMethod, last4: payment.card_last4 ?? null },
    items: (JSON.parse(row.items_json) as ReturnLine[]).map(({ sku, name, qty, unitAmount, amount }) => ({
      sku,
      name,
      qty,
      unitAmount,
      amount,
    })),
    amount: Number(row.amount_minor),
    // The fee as the submission will take it (decideRefund: the policy's handling fee, never the
    // whole refund — the QR was refused then).
    fee: Math.min(policy.feeRule.handlingFee, Number(row.amount_minor)),
    netAmount: Math.max(0, Number(row.amount_minor) - policy.feeRule.handlingFee),
    currency: row.currency,
    policyText: policy.returnPolicyText,
    reasons: policy.reasons,
    expiresAt: row.expires_at,
  };
}

export interface ReturnSubmission {
  reason: { code: ReasonCode; note?: string | undefined };
  contact: { phone?: string | undefined; email?: string | undefined };
  lang: ConsumerLang;
}

/**
 * The caller a consumer's submission acts as: the return's merchant, recorded as `return:<id>`,
 * at the terminal that showed the QR (or the sale's): the refund is that terminal's, in its batch
 * settlement, as the network books it.
 */
export function consumerCaller(
  merchantId: string,
  returnId: string,
  terminalId: string | null = null,
): Caller {
  return {
    merchantId,
    principal: 'merchant_system',
    actor: `return:${returnId}`,
    operatorId: null,
    operatorNo: null,
    terminalId,
  };
}

/** The return and merchant a link names, signature checked: the idempotency scope of its submission. */
export function linkClaims(ctx: Ctx, token: string) {
  const claims = verifyReturnLink(ctx.secrets, token);
  if (!claims)
    throw new DomainError(
      'return_link_invalid',
      'this return link is not valid: ask the shop to show the QR code again',
    );
  return claims;
}

/**
 * The consumer submits: under the return's lock the link is used up (`submitted`, its reservation
 * ended) and in the same transaction the refund is created from its lines (`requested`: it waits
 * for the merchant's inspection), with the consumer's contact sealed on it. A refusal of the refund
 * rolls the whole submission back: the link still works.
 */
export async function submitReturn(
  ctx: Ctx,
  trx: Tx,
  token: string,
  input: ReturnSubmission,
  origin: string,
) {
  const row = await returnOfLink(ctx, trx, token, true);
  const now = ctx.clock();
  const at = now.toISOString();
  if (!input.contact.phone && !input.contact.email)
    throw new DomainError(
      'validation_failed',
      'give a phone number or an e-mail address for updates on the refund',
    );
  await updateReturn(trx, row, { status: 'submitted', submitted_at: at, lang: input.lang, updated_at: at });
  const lines = JSON.parse(row.items_json) as ReturnLine[];
  const sale = await trx
    .selectFrom('payments')
    .select('terminal_id')
    .where('merchant_id', '=', row.merchant_id)
    .where('id', '=', row.payment_id)
    .executeTakeFirst();
  const caller = consumerCaller(row.merchant_id, row.id, row.terminal_id ?? sale?.terminal_id ?? null);
  const refund = await consumerRefusals(ctx, row.id, () =>
    createRefund(
      ctx,
      trx,
      caller,
      {
        paymentId: row.payment_id,
        items: lines.map((l) => ({ sku: l.sku, qty: l.qty })),
        reason: input.reason,
        method: 'original',
        consumer: {
          ...(input.contact.phone ? { phone: input.contact.phone } : {}),
          ...(input.contact.email ? { email: input.contact.email } : {}),
        },
        viaReturn: { returnId: row.id, lang: input.lang },
      },
      [],
    ),
  );
  await updateReturn(trx, row, { refund_id: refund.id });
  await queueConsumerMessages(
    trx,
    await loadRefundRow(trx, row.merchant_id, refund.id, false),
    'requested',
    now,
  );
  await appendAudit(trx, {
    merchantId: row.merchant_id,
    actor: caller.actor,
    action: 'return.submitted',
    entity: 'return',
    entityId: row.id,
    data: { refundId: refund.id, reason: input.reason.code, lang: input.lang },
    at: now,
  });
  const tracking = trackingToken(ctx.secrets, refund.id);
  return { returnId: row.id, refundId: refund.id, trackingUrl: trackingUrl(origin, tracking.token) };
}

/** Refusals that are about what the consumer typed: they see them as they are, to correct them. */
const CONSUMER_INPUT_CODES: ReadonlySet<string> = new Set([
  'validation_failed',
  'reason_required',
  'reason_not_allowed',
]);

/**
 * A refund rule refusing a consumer's submission speaks of the merchant's own figures (funds, daily
 * totals, caps): the consumer is told only that the shop cannot take the return now (nothing was
 * submitted, the link still works), and the log keeps the rule's code for the merchant.
 */
async function consumerRefusals<T>(ctx: Ctx, returnId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof DomainError) || CONSUMER_INPUT_CODES.has(err.code)) throw err;
    ctx.log.warn({ returnId, code: err.code }, 'a refund rule refused a QR return submission');
    throw new DomainError(
      'return_refused',
      'the shop cannot take this return now; nothing was submitted: please ask at the counter',
    );
  }
}

export interface Inspection {
  result: 'accepted' | 'rejected';
  note?: string | undefined;
}

/**
 * The merchant inspects the returned goods (验货). Accepted: the refund is taken into review
 * (受理, `under_review`) and goes on to the normal approval; rejected: the refund is rejected with
 * the note, which the consumer sees. Photos are the refund's evidence (`POST
 * /v1/refunds/:id/evidence`).
 */
export async function inspectReturn(ctx: Ctx, trx: Tx, caller: Caller, id: string, inspection: Inspection) {
  requirePermission(caller.principal, 'refund.review');
  const note = inspection.note?.trim() || undefined;
  if (inspection.result === 'rejected' && !note)
    throw new DomainError(
      'reason_required',
      'say why the returned goods are not accepted; the consumer sees it',
    );
  const row = await loadReturnRow(trx, caller.merchantId, id, true);
  if (row.status !== 'submitted' || !row.refund_id)
    throw new DomainError('return_not_open', `return ${id} has not been submitted by the consumer yet`);
  if (row.inspection)
    throw new DomainError(
      'invalid_state_transition',
      `the goods of return ${id} were already inspected (${row.inspection})`,
    );
  const refund = await loadRefundRow(trx, caller.merchantId, row.refund_id, false);
  if (refund.status !== 'requested')
    throw new DomainError(
      'invalid_state_transition',
      `refund ${refund.id} is ${refund.status}: nothing to inspect`,
    );
  const now = ctx.clock();
  const at = now.toISOString();
  await updateReturn(trx, row, {
    inspection: inspection.result,
    inspection_note: note ?? null,
    inspected_by: caller.actor,
    inspected_at: at,
    updated_at: at,
  });
  const to = inspection.result === 'accepted' ? 'under_review' : 'rejected';
  await moveRefund(trx, refund.id, to, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    at: now,
    note: inspection.result === 'accepted' ? `goods inspected: accepted${note ? ` — ${note}` : ''}` : note,
  });
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'return.inspected',
    entity: 'return',
    entityId: id,
    data: { result: inspection.result, note: note ?? null, refundId: refund.id },
    at: now,
  });
  return returnView(await loadReturnRow(trx, caller.merchantId, id, false), now);
}
