import { requirePermission } from '../domain/auth.js';
import { ulid } from '../ids.js';
import { trackingToken, trackingUrl } from '../links.js';
import type { Secrets } from '../security.js';
import type { Caller, Ctx } from '../service/context.js';
import { paymentView, refundView } from '../service/views.js';
import { appendAudit } from '../store/audit.js';
import type { Tx } from '../store/db.js';
import { loadPaymentRow, loadRefundRow, paymentState } from '../store/repo.js';
import { renderEscPos } from './escpos.js';
import { renderHtml } from './html.js';
import type { PaperWidth } from './layout.js';
import { type ReceiptLang, type ReceiptModel, receiptModel } from './model.js';
import { renderText } from './text.js';

export const receiptFormats = ['text', 'html', 'escpos'] as const;
export type ReceiptFormat = (typeof receiptFormats)[number];

export const receiptContentTypes: Readonly<Record<ReceiptFormat, string>> = {
  text: 'text/plain; charset=utf-8',
  html: 'text/html; charset=utf-8',
  escpos: 'application/octet-stream',
};

export interface PrintRequest {
  format: ReceiptFormat;
  width: PaperWidth;
  lang: ReceiptLang;
  /** The origin of the consumer's status link printed (as a QR) on the voucher. */
  origin?: string | undefined;
}

export interface PrintedReceipt {
  contentType: string;
  body: string | Buffer;
  printNo: number;
  reprint: boolean;
}

/** The operator number in a refund's `created_by` (`op:01`); merchant systems (`key:…`) have none. */
function operatorOf(createdBy: string): { no: string } | null {
  return createdBy.startsWith('op:') ? { no: createdBy.slice(3) } : null;
}

/**
 * The voucher's model for one refund, read in `trx`: the refund, its payment, merchant, terminal,
 * operator and trace numbers. Counts nothing: printing and sending decide what a copy is.
 */
export async function loadVoucherModel(
  trx: Tx,
  merchantId: string,
  refundId: string,
  opts: {
    lock: boolean;
    reprint: boolean;
    printedAt: Date;
    lang: ReceiptLang;
    /** Put the refund's status link on the voucher (its QR), made with these keys at this origin. */
    tracking?: { secrets: Secrets; origin: string } | undefined;
  },
): Promise<ReceiptModel> {
  const refundRow = await loadRefundRow(trx, merchantId, refundId, opts.lock);
  const paymentRow = await loadPaymentRow(trx, merchantId, { paymentId: refundRow.payment_id }, false);
  const payment = paymentView(paymentRow, await paymentState(trx, paymentRow));
  const refund = refundView(refundRow);
  const merchant = await trx
    .selectFrom('merchants')
    .select(['id', 'name'])
    .where('id', '=', merchantId)
    .executeTakeFirstOrThrow();
  // Trace (voucher) numbers exist when the card link carried the sale or the refund.
  const traces = await trx
    .selectFrom('link_attempts')
    .select(['ref_id', 'stan'])
    .where('merchant_id', '=', merchantId)
    .where('ref_id', 'in', [payment.id, refund.id])
    .where('state', '=', 'answered')
    .execute();
  const terminalId = refund.terminalId ?? payment.terminalId;
  return receiptModel(
    refund,
    payment,
    merchant,
    terminalId ? { id: terminalId } : null,
    operatorOf(refundRow.created_by),
    {
      reprint: opts.reprint,
      printedAt: opts.printedAt,
      lang: opts.lang,
      trace: {
        sale: traces.find((t) => t.ref_id === payment.id)?.stan ?? null,
        refund: traces.find((t) => t.ref_id === refund.id)?.stan ?? null,
      },
      trackingUrl:
        opts.tracking && refundRow.tracking_key
          ? trackingUrl(
              opts.tracking.origin,
              trackingToken(opts.tracking.secrets, refundRow.id, refundRow.tracking_key).token,
            )
          : null,
    },
  );
}

/**
 * Print a refund's voucher: one transaction that locks the refund, counts its earlier prints (the
 * first print is the original, every later one a reprint), renders, and records the print and its
 * audit entry. Rendering inside the transaction means a print is counted only if it was produced.
 *
 * Only the refund row is locked (not merchant → payment → refund): this reads the payment and the
 * merchant without changing them, so nothing here can wait on a lock held by a refund mover.
 */
export async function printReceipt(
  ctx: Ctx,
  caller: Caller,
  refundId: string,
  req: PrintRequest,
): Promise<PrintedReceipt> {
  requirePermission(caller.principal, 'refund.read');
  return ctx.store.tx(async (trx) => {
    // Lock the refund before counting its prints: two prints at once cannot both be the first.
    await loadRefundRow(trx, caller.merchantId, refundId, true);
    const previous = await trx
      .selectFrom('receipt_prints')
      .select((eb) => eb.fn.max('print_no').as('last'))
      .where('merchant_id', '=', caller.merchantId)
      .where('refund_id', '=', refundId)
      .executeTakeFirst();
    const printNo = Number(previous?.last ?? 0) + 1;
    const now = ctx.clock();
    const model = await loadVoucherModel(trx, caller.merchantId, refundId, {
      lock: false,
      reprint: printNo > 1,
      printedAt: now,
      lang: req.lang,
      tracking: req.origin ? { secrets: ctx.secrets, origin: req.origin } : undefined,
    });
    const body =
      req.format === 'text'
        ? renderText(model, req.width)
        : req.format === 'html'
          ? await renderHtml(model, req.width)
          : Buffer.from(renderEscPos(model, req.width));
    await trx
      .insertInto('receipt_prints')
      .values({
        id: `rp_${ulid()}`,
        refund_id: refundId,
        merchant_id: caller.merchantId,
        print_no: printNo,
        format: req.format,
        width_mm: req.width,
        actor: caller.actor,
        printed_at: now.toISOString(),
      })
      .execute();
    await appendAudit(trx, {
      merchantId: caller.merchantId,
      actor: caller.actor,
      action: printNo > 1 ? 'receipt.reprinted' : 'receipt.printed',
      entity: 'refund',
      entityId: refundId,
      data: { printNo, format: req.format, widthMm: req.width, lang: req.lang },
      at: now,
    });
    return { contentType: receiptContentTypes[req.format], body, printNo, reprint: printNo > 1 };
  });
}
