import { decimalAmount } from '../domain/money.js';
import type { RefundStatus } from '../domain/refund-state.js';
import type { ConsumerLang } from '../domain/returns.js';

/**
 * What a consumer who left a phone or an e-mail is told at each step of their refund (issue 12),
 * in their language, through the senders vouchers use: short enough for one SMS, the amount and the
 * refund number to quote, the status link to follow. Never a card number, an account or a contact.
 */
export interface StatusFacts {
  merchantName: string;
  refundId: string;
  amountMinor: number;
  currency: string;
  /** YYYY-MM-DD, the business-day calendar's expected arrival. */
  expectedArrival: string;
  networkReference: string | null;
  /** The merchant's note when the return was rejected. */
  note: string | null;
  url: string;
}

/** The moments a message goes out: the submission (`requested`) and each move a consumer cares about. */
export type MessageStep = Extract<
  RefundStatus,
  'requested' | 'under_review' | 'processing' | 'succeeded' | 'failed' | 'rejected' | 'canceled'
>;

export const messageSteps: readonly MessageStep[] = [
  'requested',
  'under_review',
  'processing',
  'succeeded',
  'failed',
  'rejected',
  'canceled',
];

export const isMessageStep = (s: string): s is MessageStep => (messageSteps as readonly string[]).includes(s);

const yuan = (f: StatusFacts) =>
  f.currency === 'CNY'
    ? `¥${decimalAmount(f.amountMinor, 'CNY')}`
    : `${decimalAmount(f.amountMinor, f.currency)} ${f.currency}`;

type Template = (f: StatusFacts) => { subject: string; body: string };

const templates: Readonly<Record<ConsumerLang, Readonly<Record<MessageStep, Template>>>> = {
  'zh-CN': {
    requested: (f) => ({
      subject: '已收到您的退货申请',
      body: `【${f.merchantName}】已收到您的退货申请，退款单号 ${f.refundId}，金额 ${yuan(f)}。商家验货后为您办理退款。查看进度：${f.url}`,
    }),
    under_review: (f) => ({
      subject: '商家已验收退货，正在审核退款',
      body: `【${f.merchantName}】商家已验收您退回的商品，正在审核退款 ${f.refundId}（${yuan(f)}）。查看进度：${f.url}`,
    }),
    processing: (f) => ({
      subject: '退款处理中',
      body: `【${f.merchantName}】退款 ${f.refundId}（${yuan(f)}）已提交银行/支付机构处理，预计 ${f.expectedArrival} 前到账。查看进度：${f.url}`,
    }),
    succeeded: (f) => ({
      subject: '已退款',
      body: `【${f.merchantName}】退款 ${f.refundId}（${yuan(f)}）已退回原支付账户${f.networkReference ? `，参考号 ${f.networkReference}` : ''}，预计 ${f.expectedArrival} 前到账。查看详情：${f.url}`,
    }),
    failed: (f) => ({
      subject: '退款未能完成',
      body: `【${f.merchantName}】退款 ${f.refundId}（${yuan(f)}）未能完成，商家将与您联系处理。查看详情：${f.url}`,
    }),
    rejected: (f) => ({
      subject: '退货申请未通过',
      body: `【${f.merchantName}】您的退货申请未通过${f.note ? `：${f.note}` : ''}。查看详情：${f.url}`,
    }),
    canceled: (f) => ({
      subject: '退款已取消',
      body: `【${f.merchantName}】退款 ${f.refundId}（${yuan(f)}）已取消。查看详情：${f.url}`,
    }),
  },
  'zh-TW': {
    requested: (f) => ({
      subject: '已收到您的退貨申請',
      body: `【${f.merchantName}】已收到您的退貨申請，退款單號 ${f.refundId}，金額 ${yuan(f)}。商家驗貨後為您辦理退款。查看進度：${f.url}`,
    }),
    under_review: (f) => ({
      subject: '商家已驗收退貨，正在審核退款',
      body: `【${f.merchantName}】商家已驗收您退回的商品，正在審核退款 ${f.refundId}（${yuan(f)}）。查看進度：${f.url}`,
    }),
    processing: (f) => ({
      subject: '退款處理中',
      body: `【${f.merchantName}】退款 ${f.refundId}（${yuan(f)}）已提交銀行/支付機構處理，預計 ${f.expectedArrival} 前到帳。查看進度：${f.url}`,
    }),
    succeeded: (f) => ({
      subject: '已退款',
      body: `【${f.merchantName}】退款 ${f.refundId}（${yuan(f)}）已退回原支付帳戶${f.networkReference ? `，參考號 ${f.networkReference}` : ''}，預計 ${f.expectedArrival} 前到帳。查看詳情：${f.url}`,
    }),
    failed: (f) => ({
      subject: '退款未能完成',
      body: `【${f.merchantName}】退款 ${f.refundId}（${yuan(f)}）未能完成，商家將與您聯絡處理。查看詳情：${f.url}`,
    }),
    rejected: (f) => ({
      subject: '退貨申請未通過',
      body: `【${f.merchantName}】您的退貨申請未通過${f.note ? `：${f.note}` : ''}。查看詳情：${f.url}`,
    }),
    canceled: (f) => ({
      subject: '退款已取消',
      body: `【${f.merchantName}】退款 ${f.refundId}（${yuan(f)}）已取消。查看詳情：${f.url}`,
    }),
  },
  en: {
    requested: (f) => ({
      subject: 'We received your return',
      body: `[${f.merchantName}] We received your return. Refund ${f.refundId}, ${yuan(f)}. The shop refunds you once it has checked the goods. Track it: ${f.url}`,
    }),
    under_review: (f) => ({
      subject: 'Goods accepted, refund in review',
      body: `[${f.merchantName}] The shop accepted the goods you returned and is reviewing refund ${f.refundId} (${yuan(f)}). Track it: ${f.url}`,
    }),
    processing: (f) => ({
      subject: 'Refund on its way',
      body: `[${f.merchantName}] Refund ${f.refundId} (${yuan(f)}) is with the bank or wallet; expected by ${f.expectedArrival}. Track it: ${f.url}`,
    }),
    succeeded: (f) => ({
      subject: 'Refunded',
      body: `[${f.merchantName}] Refund ${f.refundId} (${yuan(f)}) went back to your original payment${f.networkReference ? `, reference ${f.networkReference}` : ''}; expected by ${f.expectedArrival}. Details: ${f.url}`,
    }),
    failed: (f) => ({
      subject: 'Refund not completed',
      body: `[${f.merchantName}] Refund ${f.refundId} (${yuan(f)}) could not be completed; the shop will contact you. Details: ${f.url}`,
    }),
    rejected: (f) => ({
      subject: 'Return not accepted',
      body: `[${f.merchantName}] Your return was not accepted${f.note ? `: ${f.note}` : ''}. Details: ${f.url}`,
    }),
    canceled: (f) => ({
      subject: 'Refund canceled',
      body: `[${f.merchantName}] Refund ${f.refundId} (${yuan(f)}) was canceled. Details: ${f.url}`,
    }),
  },
};

export function statusMessage(lang: ConsumerLang, step: MessageStep, facts: StatusFacts) {
  return templates[lang][step](facts);
}
