import type { Logger } from 'pino';
import { monotonicFactory } from 'ulid';
import { requirePermission } from '../domain/auth.js';
import { DomainError } from '../domain/errors.js';
import { ulid } from '../ids.js';
import { trackingToken, trackingUrl } from '../links.js';
import { mask, phoneSearchHash, type Secrets, seal, unseal } from '../security.js';
import type { Caller, Ctx } from '../service/context.js';
import { appendAudit } from '../store/audit.js';
import type { ConsumerMessagePayload } from '../store/consumer-messages.js';
import type { Store, Tx } from '../store/db.js';
import { enqueueOutbox, loadRefundRow } from '../store/repo.js';
import type { OutboxTable, ReceiptSendTable } from '../store/schema.js';
import { escapeHtml, renderHtml } from './html.js';
import type { ReceiptLang } from './model.js';
import type { ReceiptSenders } from './senders.js';
import { loadVoucherModel } from './service.js';
import { isMessageStep, statusMessage } from './status-messages.js';
import { renderText } from './text.js';

/** Send ids of one request sort in the order the channels were given (same millisecond). */
const sendId = monotonicFactory();

/** Outbox kind of one voucher delivery (one channel, one destination). */
export const RECEIPT_SEND_KIND = 'receipt.send';
/** Deliveries tried this many times are given up (`failed`). */
export const RECEIPT_SEND_MAX_ATTEMPTS = 8;

export interface SendRequest {
  email?: string | undefined;
  phone?: string | undefined;
  lang?: ReceiptLang | undefined;
}

export interface ReceiptSendView {
  id: string;
  channel: 'email' | 'sms';
  destination: string;
  status: 'queued' | 'sent' | 'failed';
  attempts: number;
  createdAt: string;
  sentAt: string | null;
}

interface SendPayload {
  sendId: string;
  merchantId: string;
  lang: ReceiptLang;
}

function view(r: ReceiptSendTable): ReceiptSendView {
  return {
    id: r.id,
    channel: r.channel,
    destination: r.destination_masked,
    status: r.status,
    attempts: Number(r.attempts),
    createdAt: r.created_at,
    sentAt: r.sent_at,
  };
}

/**
 * Queue the voucher for the consumer's e-mail and/or phone: per channel a `receipt_sends` row (the
 * destination sealed, and masked beside it) and an outbox row, plus one audit entry with the masked
 * destinations only — all in the caller's transaction (`mutate`: one Idempotency-Key, one send).
 */
export async function requestReceiptSend(
  ctx: Ctx,
  trx: Tx,
  caller: Caller,
  refundId: string,
  req: SendRequest,
): Promise<{ data: Pick<ReceiptSendView, 'id' | 'channel' | 'destination' | 'status'>[] }> {
  requirePermission(caller.principal, 'refund.read');
  const targets: { channel: 'email' | 'sms'; to: string; masked: string }[] = [];
  if (req.email) targets.push({ channel: 'email', to: req.email, masked: mask.email(req.email) });
  if (req.phone) targets.push({ channel: 'sms', to: req.phone, masked: mask.phone(req.phone) });
  if (targets.length === 0)
    throw new DomainError(
      'validation_failed',
      'give the consumer’s email or phone (or both) to send the voucher to',
    );
  await loadRefundRow(trx, caller.merchantId, refundId, false);
  const now = ctx.clock();
  const at = now.toISOString();
  const data = [];
  for (const t of targets) {
    const id = `rs_${sendId()}`;
    await trx
      .insertInto('receipt_sends')
      .values({
        id,
        refund_id: refundId,
        merchant_id: caller.merchantId,
        channel: t.channel,
        destination_enc: seal(ctx.secrets, t.to),
        destination_masked: t.masked,
        // The phone's search hash (order search by phone, migration 0019); none for e-mail.
        destination_phone_hash: t.channel === 'sms' ? phoneSearchHash(ctx.secrets, t.to) : null,
        status: 'queued',
        attempts: 0,
        last_error: null,
        created_at: at,
        sent_at: null,
      })
      .execute();
    const payload: SendPayload = { sendId: id, merchantId: caller.merchantId, lang: req.lang ?? 'zh-CN' };
    await enqueueOutbox(trx, { id: `ob_${ulid()}`, kind: RECEIPT_SEND_KIND, refId: id, payload, at: now });
    data.push({ id, channel: t.channel, destination: t.masked, status: 'queued' as const });
  }
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'receipt.send_requested',
    entity: 'refund',
    entityId: refundId,
    data: { sends: data.map((d) => ({ id: d.id, channel: d.channel, destination: d.destination })) },
    at: now,
  });
  return { data };
}

/** A refund's voucher sends, newest last, destinations masked. */
export async function listReceiptSends(
  ctx: Ctx,
  caller: Caller,
  refundId: string,
): Promise<ReceiptSendView[]> {
  requirePermission(caller.principal, 'refund.read');
  await loadRefundRow(ctx.store.db, caller.merchantId, refundId, false);
  const rows = await ctx.store.db
    .selectFrom('receipt_sends')
    .selectAll()
    .where('merchant_id', '=', caller.merchantId)
    .where('refund_id', '=', refundId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(view);
}

/**
 * The worker's step for a `receipt.send` outbox row: unseal the destination, render the voucher
 * (text, and HTML for e-mail; a send is not a print, so no print is counted), deliver, mark `sent`.
 * A throw leaves the row for the worker's retry; `giveUp` marks it `failed`.
 */
export class ReceiptDelivery {
  constructor(
    private readonly store: Store,
    private readonly secrets: Secrets,
    private readonly senders: ReceiptSenders,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
    /** The origin of the status links in messages (PUBLIC_URL, or this server on localhost). */
    private readonly linkOrigin = 'http://localhost:3000',
  ) {}

  /**
   * The worker's step for a `consumer.message` row: the refund's step told to its consumer on one
   * channel, in the language they chose, with the status link (issue 12). The address is unsealed
   * here only; logs and errors carry the masked one. A throw leaves the row for the retry.
   */
  async message(row: OutboxTable): Promise<void> {
    const p = JSON.parse(row.payload_json) as ConsumerMessagePayload;
    const refund = await loadRefundRow(this.store.db, p.merchantId, p.refundId, false);
    if (!refund.notify_lang || !refund.consumer_enc || !refund.tracking_key || !isMessageStep(p.step)) return;
    const merchant = await this.store.db
      .selectFrom('merchants')
      .select('name')
      .where('id', '=', p.merchantId)
      .executeTakeFirstOrThrow();
    const note =
      p.step === 'rejected'
        ? ((
            await this.store.db
              .selectFrom('refund_events')
              .select('note')
              .where('merchant_id', '=', p.merchantId)
              .where('refund_id', '=', p.refundId)
              .where('to_status', '=', 'rejected')
              .executeTakeFirst()
          )?.note ?? null)
        : null;
    const message = statusMessage(refund.notify_lang, p.step, {
      merchantName: merchant.name,
      refundId: refund.id,
      amountMinor: Number(refund.amount_minor),
      currency: refund.currency,
      expectedArrival: refund.expected_arrival,
      networkReference: refund.network_reference,
      note,
      url: trackingUrl(this.linkOrigin, trackingToken(this.secrets, refund.id, refund.tracking_key).token),
    });
    const contact = JSON.parse(unseal(this.secrets, refund.consumer_enc)) as {
      phone?: string;
      email?: string;
    };
    const to = p.channel === 'sms' ? contact.phone : contact.email;
    if (!to) return;
    const masked = p.channel === 'sms' ? mask.phone(to) : mask.email(to);
    try {
      if (p.channel === 'sms') await this.senders.sms(to, message.body);
      else
        await this.senders.email(
          to,
          `${message.subject} · ${merchant.name}`,
          message.body,
          `<p>${escapeHtml(message.body)}</p>`,
        );
    } catch (err) {
      const raw = err instanceof Error ? err.message : String(err);
      const error = raw.split(to).join(masked).slice(0, 500);
      this.log.warn(
        { refundId: refund.id, step: p.step, channel: p.channel, to: masked, err: error },
        'status message failed',
      );
      throw new Error(error);
    }
    this.log.info(
      { refundId: refund.id, step: p.step, channel: p.channel, to: masked },
      'status message sent',
    );
  }

  async deliver(row: OutboxTable): Promise<void> {
    const payload = JSON.parse(row.payload_json) as SendPayload;
    const send = await this.store.db
      .selectFrom('receipt_sends')
      .selectAll()
      .where('merchant_id', '=', payload.merchantId)
      .where('id', '=', payload.sendId)
      .executeTakeFirst();
    if (send?.status !== 'queued') return;
    const ctx = { id: send.id, refundId: send.refund_id, channel: send.channel, to: send.destination_masked };
    let to = '';
    try {
      const model = await loadVoucherModel(this.store.db, payload.merchantId, send.refund_id, {
        lock: false,
        reprint: false,
        printedAt: this.clock(),
        lang: payload.lang,
        tracking: { secrets: this.secrets, origin: this.linkOrigin },
      });
      to = unseal(this.secrets, send.destination_enc);
      const text = renderText(model, 58);
      if (send.channel === 'email') {
        const subject = `${payload.lang === 'en' ? 'Refund voucher' : payload.lang === 'zh-TW' ? '退款憑證' : '退款凭证'} ${send.refund_id}`;
        await this.senders.email(to, subject, text, await renderHtml(model, 80));
      } else {
        await this.senders.sms(to, text);
      }
    } catch (err) {
      // A server's refusal may quote the address: keep it out of the row and the log.
      const raw = err instanceof Error ? err.message : String(err);
      const message = (to ? raw.split(to).join(send.destination_masked) : raw).slice(0, 500);
      await this.store.db
        .updateTable('receipt_sends')
        .set({ attempts: Number(row.attempts), last_error: message })
        .where('merchant_id', '=', send.merchant_id)
        .where('id', '=', send.id)
        .execute();
      this.log.warn({ send: ctx, attempts: row.attempts, err: message }, 'voucher send failed');
      throw new Error(message);
    }
    await this.store.db
      .updateTable('receipt_sends')
      .set({
        status: 'sent',
        attempts: Number(row.attempts),
        last_error: null,
        sent_at: this.clock().toISOString(),
      })
      .where('merchant_id', '=', send.merchant_id)
      .where('id', '=', send.id)
      .execute();
    this.log.info({ send: ctx }, 'voucher sent');
  }

  async giveUp(row: OutboxTable, error: string): Promise<void> {
    const payload = JSON.parse(row.payload_json) as SendPayload;
    await this.store.db
      .updateTable('receipt_sends')
      .set({ status: 'failed', attempts: Number(row.attempts), last_error: error.slice(0, 500) })
      .where('merchant_id', '=', payload.merchantId)
      .where('id', '=', payload.sendId)
      .where('status', '=', 'queued')
      .execute();
    this.log.error({ sendId: payload.sendId, attempts: row.attempts, err: error }, 'voucher send given up');
  }
}
