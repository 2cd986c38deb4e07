import { createHash } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import type { PaymentMethod } from '../domain/payment.js';
import { type TrackingStage, trackingStage } from '../domain/returns.js';
import { isTrackingToken, trackingHash, trackingToken, trackingUrl } from '../links.js';
import type { ReceiptLang } from '../receipts/model.js';
import { loadVoucherModel } from '../receipts/service.js';
import { KeyRingError, safeEqual } from '../security.js';
import type { Tx } from '../store/db.js';
import { loadRefundRow, type RefundRow } from '../store/repo.js';
import type { Ctx } from './context.js';
import { qrPng } from './returns.js';

/**
 * The consumer's status page of one refund (issue 12): whoever holds the link sees that refund's
 * stage, amounts, expected arrival and the network's reference — masked, nothing of the merchant's
 * other refunds, no contact details. The link is the only key: it is looked up by its hash, and a
 * token of the wrong shape is refused before the store is asked.
 */
const invalid = () =>
  new DomainError(
    'tracking_link_invalid',
    'this status link is not valid; check the link on your voucher or message',
  );

/** The refund's token under its own key; '' when that key has left the ring (its links are dead). */
function ownToken(ctx: Ctx, refundId: string, keyId: string): string {
  try {
    return trackingToken(ctx.secrets, refundId, keyId).token;
  } catch (err) {
    if (err instanceof KeyRingError && err.code === 'unknown_key') return '';
    throw err;
  }
}

async function refundOfLink(db: Tx, ctx: Ctx, token: string): Promise<RefundRow> {
  if (!isTrackingToken(token)) throw invalid();
  const rows = await db
    .selectFrom('refunds')
    .selectAll()
    .where('tracking_hash', '=', trackingHash(token))
    .limit(2)
    .execute();
  const [row] = rows;
  if (!row || rows.length > 1 || !row.tracking_key) throw invalid();
  // The hash matched; the token is also the one this refund's own key derives (never a stale row).
  if (!safeEqual(ownToken(ctx, row.id, row.tracking_key), token)) throw invalid();
  return row;
}

export async function trackRefund(ctx: Ctx, token: string) {
  const db = ctx.store.db;
  const row = await refundOfLink(db, ctx, token);
  const merchant = await db
    .selectFrom('merchants')
    .select('name')
    .where('id', '=', row.merchant_id)
    .executeTakeFirstOrThrow();
  const payment = await db
    .selectFrom('payments')
    .select(['method', 'card_last4'])
    .where('merchant_id', '=', row.merchant_id)
    .where('id', '=', row.payment_id)
    .executeTakeFirstOrThrow();
  const names = new Map(
    (
      await db
        .selectFrom('payment_items')
        .select(['sku', 'name'])
        .where('merchant_id', '=', row.merchant_id)
        .where('payment_id', '=', row.payment_id)
        .execute()
    ).map((i) => [i.sku, i.name]),
  );
  const events = await db
    .selectFrom('refund_events')
    .select(['to_status', 'note', 'at'])
    .where('merchant_id', '=', row.merchant_id)
    .where('refund_id', '=', row.id)
    .orderBy('id')
    .execute();
  const history: { stage: TrackingStage; at: string }[] = [];
  for (const e of events) {
    const stage = trackingStage(e.to_status);
    if (history[history.length - 1]?.stage !== stage) history.push({ stage, at: e.at });
  }
  if (history.length === 0) history.push({ stage: trackingStage(row.status), at: row.created_at });
  // Refunded: the date still says when the money reaches the account; stopped: no date at all.
  const stopped = row.status === 'rejected' || row.status === 'failed' || row.status === 'canceled';
  // The inspection's note was written for the consumer (the office says so); a supervisor's note
  // rejecting a counter refund is the merchant's own, and stays there.
  const rejectedNote =
    row.status === 'rejected' && row.return_id
      ? ([...events].reverse().find((e) => e.to_status === 'rejected')?.note ?? null)
      : null;
  const items = (JSON.parse(row.items_json) as { sku: string; qty: number; amountMinor: number }[]).map(
    (i) => ({
      sku: i.sku,
      name: names.get(i.sku) ?? i.sku,
      qty: i.qty,
      amount: i.amountMinor,
    }),
  );
  const view = {
    refundId: row.id,
    merchant: { name: merchant.name },
    orderNo: row.order_no,
    stage: trackingStage(row.status),
    amount: Number(row.amount_minor),
    netAmount: Number(row.net_amount_minor),
    currency: row.currency,
    route: {
      method: row.method,
      paymentMethod: payment.method as PaymentMethod,
      last4: row.method === 'original' ? (payment.card_last4 ?? null) : null,
    },
    items,
    expectedArrival: stopped ? null : row.expected_arrival,
    networkReference: row.network_reference,
    note: rejectedNote,
    history,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  const version = createHash('sha256')
    .update(JSON.stringify([row.status, row.updated_at, row.delayed, row.network_reference, history.length]))
    .digest('base64url')
    .slice(0, 16);
  return { ...view, version };
}

/** The voucher of the refund a status link names, for the consumer to download (not a counted print). */
export async function trackedVoucher(ctx: Ctx, token: string, lang: ReceiptLang, origin: string) {
  const row = await refundOfLink(ctx.store.db, ctx, token);
  return loadVoucherModel(ctx.store.db, row.merchant_id, row.id, {
    lock: false,
    reprint: false,
    printedAt: ctx.clock(),
    lang,
    tracking: { secrets: ctx.secrets, origin },
  });
}

/**
 * A refund's status link and its QR, for the merchant's screens and vouchers. A refund made before
 * status links existed gets its capability now (under the current token key).
 */
export async function ensureTracking(ctx: Ctx, merchantId: string, refundId: string, origin: string) {
  const row = await loadRefundRow(ctx.store.db, merchantId, refundId, false);
  let keyId = row.tracking_key;
  if (!keyId) {
    const made = trackingToken(ctx.secrets, row.id);
    await ctx.store.db
      .updateTable('refunds')
      .set({ tracking_hash: made.hash, tracking_key: made.keyId })
      .where('merchant_id', '=', merchantId)
      .where('id', '=', row.id)
      .where('tracking_key', 'is', null)
      .execute();
    keyId = made.keyId;
  }
  const url = trackingUrl(origin, trackingToken(ctx.secrets, row.id, keyId).token);
  return { url, qrPng: (await qrPng(url)).toString('base64') };
}
