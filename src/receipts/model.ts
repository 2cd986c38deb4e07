import { invariant } from '../domain/errors.js';
import { assertAmountMinor, formatMoney } from '../domain/money.js';

/**
 * The refund voucher (退款凭证) as data: one model, rendered as plain text, a printable page and
 * ESC/POS bytes. Laid out like a UnionPay POS slip (bilingual labels, masked card, original
 * voucher and reference numbers, signature line). Pure: no I/O, no clock (the print time is passed
 * in), and it sees consumer data only in the masked form the store keeps for screens and receipts.
 */

export const receiptLanguages = ['zh-CN', 'zh-TW', 'en'] as const;
export type ReceiptLang = (typeof receiptLanguages)[number];

/** What the voucher needs of a refund: a subset of the public refund JSON (`refundView`). */
export interface ReceiptRefund {
  id: string;
  orderNo: string;
  amount: number;
  fee: number;
  netAmount: number;
  currency: string;
  reason: { code: string; note: string | null };
  method: string;
  status: string;
  delayed: boolean;
  expectedArrival: string | null;
  network: { reference: string | null };
  /** Already masked at rest (`consumer_masked_json`): never the plain contact. */
  consumer: Record<string, string> | null;
  terminalId: string | null;
  createdAt: string;
}

/** What the voucher needs of the original payment: a subset of `paymentView`. */
export interface ReceiptPayment {
  method: string;
  terminalId: string | null;
  network: { reference: string | null };
  /** Only BIN and last four are ever stored; the full card number never is. */
  card?: { bin: string | null; last4: string } | undefined;
}

export interface ReceiptMerchant {
  id: string;
  name: string;
}

export interface ReceiptTerminal {
  id: string;
}

export interface ReceiptOperator {
  no: string;
}

export interface ReceiptOptions {
  reprint: boolean;
  printedAt: Date;
  lang: ReceiptLang;
  /** Voucher (trace, 凭证号) numbers the card link gave the sale and the refund, when it did. */
  trace?: { sale?: string | null; refund?: string | null } | undefined;
  /** The refund's status link for its consumer (issue 12): the QR encodes it when given. */
  trackingUrl?: string | null | undefined;
}

export type FieldKey =
  | 'merchant_name'
  | 'merchant_no'
  | 'terminal_no'
  | 'operator_no'
  | 'trans_type'
  | 'card_no'
  | 'paid_by'
  | 'order_no'
  | 'orig_voucher_no'
  | 'orig_ref_no'
  | 'voucher_no'
  | 'ref_no'
  | 'refund_no'
  | 'date_time'
  | 'amount'
  | 'fee'
  | 'net_amount'
  | 'refund_to'
  | 'reason'
  | 'status'
  | 'expected_arrival'
  | 'phone'
  | 'printed_at';

export type ReceiptLine =
  | { kind: 'title'; text: string }
  /** A line that must stand out, centred: the reprint mark. */
  | { kind: 'notice'; text: string }
  | { kind: 'field'; key: FieldKey; label: string; value: string; emphasis: boolean }
  | { kind: 'rule' }
  | { kind: 'qr'; payload: string; caption: string }
  | { kind: 'signature'; label: string }
  | { kind: 'text'; text: string };

export interface ReceiptModel {
  lang: ReceiptLang;
  reprint: boolean;
  refundId: string;
  /**
   * What the QR code encodes: the refund's status link (the consumer follows the money with it), or
   * without one the refund's id, which finds it in the API and the back office.
   */
  qrPayload: string;
  lines: ReceiptLine[];
}

type Text = Readonly<Record<ReceiptLang, string>>;
const t = (zhCN: string, zhTW: string, en: string): Text => ({ 'zh-CN': zhCN, 'zh-TW': zhTW, en });

const labels = {
  title: t('退款凭证', '退款憑證', 'REFUND VOUCHER'),
  reprint: t('重打印', '重列印', 'REPRINT'),
  merchant_name: t('商户名称', '商戶名稱', 'MERCHANT NAME'),
  merchant_no: t('商户编号', '商戶編號', 'MERCHANT NO.'),
  terminal_no: t('终端编号', '終端編號', 'TERMINAL NO.'),
  operator_no: t('操作员', '操作員', 'OPERATOR NO.'),
  trans_type: t('交易类型', '交易類型', 'TRANS TYPE'),
  card_no: t('卡号', '卡號', 'CARD NO.'),
  paid_by: t('支付方式', '支付方式', 'PAID BY'),
  order_no: t('订单号', '訂單號', 'ORDER NO.'),
  orig_voucher_no: t('原凭证号', '原憑證號', 'ORIG VOUCHER NO.'),
  orig_ref_no: t('原参考号', '原參考號', 'ORIG REF NO.'),
  voucher_no: t('凭证号', '憑證號', 'VOUCHER NO.'),
  ref_no: t('参考号', '參考號', 'REF NO.'),
  refund_no: t('退款单号', '退款單號', 'REFUND NO.'),
  date_time: t('日期时间', '日期時間', 'DATE/TIME'),
  amount: t('退款金额', '退款金額', 'REFUND AMOUNT'),
  fee: t('手续费', '手續費', 'FEE'),
  net_amount: t('实际应退金额', '實際應退金額', 'NET REFUND'),
  refund_to: t('退款方式', '退款方式', 'REFUND TO'),
  reason: t('退款原因', '退款原因', 'REASON'),
  status: t('状态', '狀態', 'STATUS'),
  expected_arrival: t('预计到账', '預計到帳', 'EXPECTED ARRIVAL'),
  phone: t('联系电话', '聯絡電話', 'PHONE'),
  printed_at: t('打印时间', '列印時間', 'PRINTED AT'),
  signature_card: t('持卡人签名', '持卡人簽名', 'CARDHOLDER SIGNATURE'),
  signature_other: t('顾客签名', '顧客簽名', 'CUSTOMER SIGNATURE'),
  qr_caption: t('扫码查询退款', '掃碼查詢退款', 'SCAN FOR REFUND'),
  confirm: t('本人确认以上退货交易', '本人確認以上退貨交易', 'I CONFIRM THE ABOVE REFUND'),
  api: t('接口', '介面', 'API'),
} satisfies Record<string, Text>;

const transType = t('退货', '退貨', 'REFUND');

/** The six reasons of PRODUCT.md §3 step 2, in the seed's words. */
export const reasonLabels: Readonly<Record<string, Text>> = {
  quality_issue: t('商品存在质量问题', '商品存在質量問題', 'Quality issue'),
  service_not_provided: t('未提供承诺的服务', '未提供承諾的服務', 'Service not provided'),
  expired_goods: t('商品已过期', '商品已過期', 'Expired goods'),
  transaction_error: t('交易错误', '交易錯誤', 'Transaction error'),
  duplicate_payment: t('重复支付', '重複支付', 'Duplicate payment'),
  other: t('其它', '其它', 'Other'),
};

export const statusLabels: Readonly<Record<string, Text>> = {
  requested: t('申请中', '申請中', 'REQUESTED'),
  under_review: t('审核中', '審核中', 'UNDER REVIEW'),
  approved: t('已批准', '已核准', 'APPROVED'),
  processing: t('处理中', '處理中', 'PROCESSING'),
  succeeded: t('已退款', '已退款', 'REFUNDED'),
  failed: t('退款失败', '退款失敗', 'FAILED'),
  rejected: t('已拒绝', '已拒絕', 'REJECTED'),
  canceled: t('已取消', '已取消', 'CANCELED'),
};
const delayedLabel = t('延迟', '延遲', 'DELAYED');

export const refundMethodLabels: Readonly<Record<string, Text>> = {
  original: t('原路退回', '原路退回', 'ORIGINAL ROUTE'),
  cash: t('现金', '現金', 'CASH'),
  bank_transfer: t('银行转账', '銀行轉帳', 'BANK TRANSFER'),
};

export const paymentMethodLabels: Readonly<Record<string, Text>> = {
  card: t('银行卡', '銀行卡', 'CARD'),
  qr: t('扫码支付', '掃碼支付', 'QR WALLET'),
  cash: t('现金', '現金', 'CASH'),
};

/** Statuses after which no money will move: no arrival date to promise. */
const noArrival = new Set(['failed', 'rejected', 'canceled']);

/** Longest free-text note printed (the API already caps it at 200). */
export const MAX_NOTE_CHARS = 200;

/** A field label as on UnionPay slips: `退款金额(REFUND AMOUNT)`; English alone in English. */
function label(text: Text, lang: ReceiptLang): string {
  return lang === 'en' ? text.en : `${text[lang]}(${text.en})`;
}

/** A banner or an enumerated value: `退货/REFUND`; English alone in English. */
function pair(text: Text, lang: ReceiptLang): string {
  return lang === 'en' ? text.en : `${text[lang]}/${text.en}`;
}

/** A line of its own, spaced like the slips: `重打印 / REPRINT`; English alone in English. */
function banner(text: Text, lang: ReceiptLang): string {
  return lang === 'en' ? text.en : `${text[lang]} / ${text.en}`;
}

function lookup(table: Readonly<Record<string, Text>>, code: string, lang: ReceiptLang): string {
  const entry = table[code];
  return entry ? pair(entry, lang) : code;
}

/**
 * Free text (the reason note, names) made safe for every renderer: control characters would be
 * printer commands in ESC/POS (ESC p opens the cash drawer) and break lines in text, so they
 * become spaces; the length is bounded.
 */
export function printable(value: string, maxChars = MAX_NOTE_CHARS): string {
  const cleaned = value
    .replace(/\p{Cc}/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
  const chars = [...cleaned];
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : cleaned;
}

/** `622202******1234`: the stored BIN and last four; the digits between were never stored. */
export function maskCard(card: { bin: string | null; last4: string }): string {
  invariant(/^\d{4}$/.test(card.last4), 'card last4 is four digits');
  const bin = card.bin && /^\d{6,8}$/.test(card.bin) ? card.bin : '';
  return `${bin}${'*'.repeat(bin ? 6 : 12)}${card.last4}`;
}

/** `2025-01-02 13:45:06` in Asia/Shanghai (UTC+8 all year, no DST, as in domain/calendar.ts). */
export function shanghaiDateTime(instant: Date | string): string {
  const ms = new Date(instant).getTime();
  invariant(Number.isFinite(ms), 'receipt time is a valid instant');
  return new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** Amounts are formatted from the integer minor units, never through a float. */
function amountText(amountMinor: number, currency: string): string {
  assertAmountMinor(amountMinor, 'receipt amount');
  return formatMoney({ amountMinor, currency });
}

export function receiptModel(
  refund: ReceiptRefund,
  payment: ReceiptPayment,
  merchant: ReceiptMerchant,
  terminal: ReceiptTerminal | null,
  operator: ReceiptOperator | null,
  opts: ReceiptOptions,
): ReceiptModel {
  const { lang } = opts;
  invariant(refund.amount - refund.fee === refund.netAmount, 'net amount is the amount less the fee');
  const lines: ReceiptLine[] = [];
  const field = (key: FieldKey, value: string, emphasis = false) =>
    lines.push({ kind: 'field', key, label: label(labels[key], lang), value, emphasis });

  lines.push({
    kind: 'title',
    text: lang === 'en' ? labels.title.en : `${labels.title[lang]} ${labels.title.en}`,
  });
  if (opts.reprint) lines.push({ kind: 'notice', text: banner(labels.reprint, lang) });
  lines.push({ kind: 'rule' });
  field('merchant_name', printable(merchant.name, 60));
  field('merchant_no', merchant.id);
  field('terminal_no', terminal?.id ?? '-');
  field('operator_no', operator?.no ?? pair(labels.api, lang));
  lines.push({ kind: 'rule' });
  field('trans_type', pair(transType, lang));
  if (payment.method === 'card' && payment.card) field('card_no', maskCard(payment.card));
  else field('paid_by', lookup(paymentMethodLabels, payment.method, lang));
  field('order_no', refund.orderNo);
  if (opts.trace?.sale) field('orig_voucher_no', opts.trace.sale);
  field('orig_ref_no', payment.network.reference ?? '-');
  if (opts.trace?.refund) field('voucher_no', opts.trace.refund);
  if (refund.network.reference) field('ref_no', refund.network.reference);
  field('refund_no', refund.id);
  field('date_time', shanghaiDateTime(refund.createdAt));
  lines.push({ kind: 'rule' });
  field('amount', amountText(refund.amount, refund.currency), true);
  field('fee', amountText(refund.fee, refund.currency), true);
  field('net_amount', amountText(refund.netAmount, refund.currency), true);
  lines.push({ kind: 'rule' });
  field('refund_to', lookup(refundMethodLabels, refund.method, lang));
  const reason = reasonLabels[refund.reason.code];
  const note = refund.reason.note ? printable(refund.reason.note) : '';
  const reasonText = reason ? reason[lang] : refund.reason.code;
  field('reason', note ? `${reasonText}${lang === 'en' ? ': ' : '：'}${note}` : reasonText);
  const status = lookup(statusLabels, refund.status, lang);
  field('status', refund.delayed ? `${status} (${pair(delayedLabel, lang)})` : status);
  if (refund.expectedArrival && !noArrival.has(refund.status))
    field('expected_arrival', refund.expectedArrival);
  const phone = refund.consumer?.phone;
  // Stored masked (138****5678); anything that does not look masked is not printed at all.
  if (phone?.includes('*')) field('phone', printable(phone, 20));
  if (opts.reprint) field('printed_at', shanghaiDateTime(opts.printedAt));
  lines.push({ kind: 'rule' });
  lines.push({
    kind: 'qr',
    payload: opts.trackingUrl ?? refund.id,
    caption: banner(labels.qr_caption, lang),
  });
  const signature = payment.method === 'card' ? labels.signature_card : labels.signature_other;
  lines.push({ kind: 'signature', label: banner(signature, lang) });
  lines.push({ kind: 'text', text: banner(labels.confirm, lang) });
  return {
    lang,
    reprint: opts.reprint,
    refundId: refund.id,
    qrPayload: opts.trackingUrl ?? refund.id,
    lines,
  };
}
