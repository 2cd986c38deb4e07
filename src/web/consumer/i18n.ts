import { useContext } from 'preact/hooks';
import type { Lang } from '../shared/api';
import {
  common,
  type I18n,
  I18nContext,
  initialLang as initial,
  saveLang as save,
  type Table,
  translator,
} from '../shared/i18n';

export { I18nContext, langNames, langs } from '../shared/i18n';

/**
 * The consumer's words on top of the shared ones (src/web/shared/i18n.ts): [zh-CN, zh-TW, en].
 * Spoken to a shopper, not a cashier: short, plain, no internal steps.
 */
const own = {
  appName: ['退货退款', '退貨退款', 'Return & refund'],
  footer: ['无需下载 App，无需登录', '無需下載 App，無需登入', 'No app and no sign-in needed'],
  landing: [
    '请用手机扫描商家出示的退货二维码。',
    '請用手機掃描商家出示的退貨二維碼。',
    'Scan the return QR code the shop shows you with your phone.',
  ],
  // return page
  returnTitle: ['申请退货退款', '申請退貨退款', 'Return and refund'],
  refundTo: ['退回至', '退回至', 'Refunded to'],
  'route.card': [
    '原路退回 · 银行卡（尾号 {last4}）',
    '原路退回 · 銀行卡（尾號 {last4}）',
    'Back to your card ending {last4}',
  ],
  'route.cardNoLast4': ['原路退回 · 付款银行卡', '原路退回 · 付款銀行卡', 'Back to the card you paid with'],
  'route.qr': ['原路退回 · 付款钱包', '原路退回 · 付款錢包', 'Back to the wallet you paid with'],
  'route.cash': [
    '退回现金 · 请在收银台领取',
    '退回現金 · 請在收銀台領取',
    'Cash · collect it at the counter',
  ],
  items: ['退货商品', '退貨商品', 'Items returned'],
  qty: ['×{qty}', '×{qty}', '×{qty}'],
  paidAt: ['付款时间', '付款時間', 'Paid at'],
  policy: ['商家退货政策', '商家退貨政策', 'Shop’s return policy'],
  expiresAt: ['二维码有效期至 {time}', '二維碼有效期至 {time}', 'This QR code works until {time}'],
  reasonTitle: ['退货原因', '退貨原因', 'Why are you returning it?'],
  reasonNote: ['请说明具体原因', '請說明具體原因', 'Tell the shop what happened'],
  needReason: ['请选择退货原因。', '請選擇退貨原因。', 'Choose a reason.'],
  needNote: [
    '选择“其它”时请填写具体原因。',
    '選擇「其他」時請填寫具體原因。',
    'Say what happened when you choose Other.',
  ],
  contactTitle: ['接收退款进度', '接收退款進度', 'Updates on your refund'],
  contactHint: [
    '填写手机号或邮箱（至少一项），退款每一步都会通知您。',
    '填寫手機號或電郵（至少一項），退款每一步都會通知您。',
    'Give a phone number or an e-mail address (at least one): we tell you at each step.',
  ],
  phonePlaceholder: ['例如 138 0013 8000', '例如 0912 345 678', 'e.g. +86 138 0013 8000'],
  emailPlaceholder: ['例如 name@example.com', '例如 name@example.com', 'e.g. name@example.com'],
  needContact: [
    '请至少填写手机号或邮箱中的一项。',
    '請至少填寫手機號或電郵中的一項。',
    'Give a phone number or an e-mail address.',
  ],
  submit: ['提交退货申请', '提交退貨申請', 'Submit the return'],
  submitNote: [
    '提交后商家会验货审核，审核通过后原路退款。每个二维码只能提交一次。',
    '提交後商家會驗貨審核，審核通過後原路退款。每個二維碼只能提交一次。',
    'The shop checks the goods, then refunds by the original route. Each QR code can be submitted once.',
  ],
  openStatus: ['查看退款进度', '查看退款進度', 'See your refund'],
  // status page
  statusTitle: ['退款进度', '退款進度', 'Refund status'],
  'hint.submitted': [
    '退货申请已提交，等待商家验货审核。',
    '退貨申請已提交，等待商家驗貨審核。',
    'Your return is in. The shop will check the goods.',
  ],
  'hint.reviewing': [
    '商家已验货，正在审核退款。',
    '商家已驗貨，正在審核退款。',
    'The shop checked the goods and is approving the refund.',
  ],
  'hint.processing': [
    '退款已提交银行处理，请耐心等待。',
    '退款已提交銀行處理，請耐心等待。',
    'The refund is with the bank.',
  ],
  'hint.refunded': [
    '退款已原路退回，到账时间以银行为准。',
    '退款已原路退回，到帳時間以銀行為準。',
    'Refunded. When it shows on your account depends on your bank.',
  ],
  'hint.rejected': ['商家未同意这笔退款。', '商家未同意這筆退款。', 'The shop did not accept this refund.'],
  'hint.failed': [
    '退款未能完成，钱没有退出。请联系商家处理。',
    '退款未能完成，錢沒有退出。請聯絡商家處理。',
    'The refund could not be made; no money moved. Contact the shop.',
  ],
  'hint.canceled': ['这笔退款已取消。', '這筆退款已取消。', 'This refund was canceled.'],
  merchantNote: ['商家说明', '商家說明', 'Shop’s note'],
  arrivalBy: ['预计 {date} 前到账', '預計 {date} 前到帳', 'Expected by {date}'],
  expectedArrival: ['预计到账', '預計到帳', 'Expected arrival'],
  refundNo: ['退款编号', '退款編號', 'Refund number'],
  networkRef: ['银行参考号', '銀行參考號', 'Bank reference'],
  networkRefHint: [
    '可凭此号向发卡银行或钱包查询这笔退款',
    '可憑此號向發卡銀行或錢包查詢這筆退款',
    'Your bank or wallet can trace the refund by this number',
  ],
  notYet: ['处理后生成', '處理後產生', 'Given once processed'],
  historyTitle: ['进度记录', '進度記錄', 'History'],
  voucher: ['下载退款凭证', '下載退款憑證', 'Download the refund voucher'],
  live: ['本页会自动更新，无需刷新', '本頁會自動更新，無需重新整理', 'This page updates by itself'],
  reconnecting: ['网络不稳定，正在重新连接…', '網路不穩定，正在重新連線…', 'Connection lost, reconnecting…'],
  // the shared `offline` words speak to a cashier about the terminal's cable
  'offline.message': ['网络连接失败', '網路連線失敗', 'No connection'],
  'offline.fix': [
    '请检查手机网络后重试。重试是安全的，同一申请不会重复提交。',
    '請檢查手機網路後重試。重試是安全的，同一申請不會重複提交。',
    'Check your phone’s connection and try again; it is safe, nothing is submitted twice.',
  ],
} as const satisfies Table;

const m = { ...common, ...own };

const LANG_KEY = 'rd.consumer.lang';

export type MessageKey = keyof typeof m;
export const translate = translator(m);
export const initialLang = (): Lang => initial(LANG_KEY);
export const saveLang = (lang: Lang): void => save(LANG_KEY, lang);
export const useI18n = (): I18n<MessageKey> => useContext(I18nContext);
