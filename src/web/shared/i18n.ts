import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Lang } from './api';

/**
 * Language support shared by the web apps (PRODUCT.md §8): 简体中文 (default), 繁體中文, English.
 * Each app's table is `{ ...common, ...its own words }`: one row per message, [zh-CN, zh-TW, en];
 * `{name}` is filled in by the translator. The words both apps use (buttons, reasons, statuses,
 * methods, the fields of a payment) live here once.
 */
export const langs: readonly Lang[] = ['zh-CN', 'zh-TW', 'en'];
export const langNames: Record<Lang, string> = { 'zh-CN': '简体中文', 'zh-TW': '繁體中文', en: 'English' };

export type Texts = readonly [string, string, string];
export type Table = Record<string, Texts>;

export const common = {
  terminal: ['终端', '終端', 'Terminal'],
  operator: ['操作员', '操作員', 'Operator'],
  networkUp: ['网络正常', '網路正常', 'Network up'],
  networkDown: ['网络中断', '網路中斷', 'Network down'],
  language: ['语言', '語言', 'Language'],
  back: ['返回', '返回', 'Back'],
  next: ['下一步', '下一步', 'Next'],
  ok: ['确定', '確定', 'OK'],
  cancel: ['取消', '取消', 'Cancel'],
  close: ['关闭', '關閉', 'Close'],
  retry: ['重试', '重試', 'Try again'],
  done: ['完成', '完成', 'Done'],
  loading: ['正在加载…', '正在載入…', 'Loading…'],
  working: ['正在处理，请稍候…', '正在處理，請稍候…', 'Working, please wait…'],
  clear: ['清除', '清除', 'Clear'],
  backspace: ['退格', '退格', 'Delete'],
  more: ['加载更多', '載入更多', 'Load more'],
  none: ['无', '無', 'None'],
  operatorNo: ['操作员号', '操作員號', 'Operator no.'],
  password: ['密码', '密碼', 'Password'],
  signIn: ['签到', '簽到', 'Sign in'],
  signOut: ['签退', '簽退', 'Sign out'],
  sessionExpired: [
    '登录已失效，请重新签到。',
    '登入已失效，請重新簽到。',
    'Your session ended: sign in again.',
  ],
  'reason.quality_issue': ['商品存在质量问题', '商品存在品質問題', 'Quality problem'],
  'reason.service_not_provided': ['未提供承诺的服务', '未提供承諾的服務', 'Service not as promised'],
  'reason.expired_goods': ['商品已过期', '商品已過期', 'Expired goods'],
  'reason.transaction_error': ['交易错误', '交易錯誤', 'Transaction error'],
  'reason.duplicate_payment': ['重复支付', '重複支付', 'Duplicate payment'],
  'reason.other': ['其它', '其他', 'Other'],
  'status.requested': ['已申请，等待受理', '已申請，等待受理', 'Requested, waiting to be accepted'],
  'status.under_review': ['审核中，等待授权', '審核中，等待授權', 'Under review, awaiting approval'],
  'status.approved': ['已授权，正在提交银行', '已授權，正在提交銀行', 'Approved, sending to the bank'],
  'status.processing': ['银行处理中', '銀行處理中', 'Processing at the bank'],
  'status.succeeded': ['退款成功', '退款成功', 'Refunded'],
  'status.failed': ['退款失败', '退款失敗', 'Refund failed'],
  'status.rejected': ['已驳回', '已駁回', 'Rejected'],
  'status.canceled': ['已取消', '已取消', 'Canceled'],
  'pay.captured': ['已支付', '已支付', 'Paid'],
  'pay.voided': ['已撤销', '已撤銷', 'Voided'],
  'pay.refunded': ['已全额退款', '已全額退款', 'Refunded'],
  'pay.partially_refunded': ['部分退款', '部分退款', 'Partly refunded'],
  'method.card': ['银行卡', '銀行卡', 'Card'],
  'method.qr': ['扫码支付', '掃碼支付', 'QR wallet'],
  'method.cash': ['现金', '現金', 'Cash'],
  'refundMethod.original': ['原路退回', '原路退回', 'Original route'],
  'refundMethod.cash': ['现金退款', '現金退款', 'Cash'],
  'refundMethod.bank_transfer': ['银行转账', '銀行轉帳', 'Bank transfer'],
  settled: ['已结算', '已結算', 'Settled'],
  search: ['查找', '查找', 'Find'],
  date: ['日期', '日期', 'Date'],
  amount: ['金额', '金額', 'Amount'],
  last4: ['卡号后四位', '卡號後四位', 'Card last 4'],
  results: ['查找结果', '查找結果', 'Results'],
  noResults: ['没有符合条件的交易。', '沒有符合條件的交易。', 'No payment matches.'],
  orderNo: ['订单号', '訂單號', 'Order no.'],
  original: ['原交易金额', '原交易金額', 'Original amount'],
  refunded: ['已退金额', '已退金額', 'Refunded'],
  inFlight: ['退款处理中', '退款處理中', 'Refunds in progress'],
  refundable: ['可退金额', '可退金額', 'Refundable'],
  // typed amounts, the consumer's contact and the approvals of a refund (terminal and back office)
  amountOver: [
    '超过可退金额 {max}，请改为 {max} 以内。',
    '超過可退金額 {max}，請改為 {max} 以內。',
    'More than the refundable {max}: enter {max} or less.',
  ],
  'amount.empty': ['请输入金额。', '請輸入金額。', 'Enter an amount.'],
  'amount.format': [
    '金额格式不对，例如 12.30。',
    '金額格式不對，例如 12.30。',
    'Not an amount: type e.g. 12.30.',
  ],
  'amount.decimals': ['金额最多两位小数（分）。', '金額最多兩位小數（分）。', 'At most two decimals (fen).'],
  'amount.zero': ['金额必须大于 0。', '金額必須大於 0。', 'The amount must be more than 0.'],
  'amount.too_large': ['金额太大。', '金額太大。', 'The amount is too large.'],
  phone: ['手机号', '手機號', 'Phone'],
  email: ['邮箱', '電郵', 'E-mail'],
  badPhone: ['手机号格式不对。', '手機號格式不對。', 'Not a phone number.'],
  badEmail: ['邮箱格式不对。', '電郵格式不對。', 'Not an e-mail address.'],
  refundAmount: ['退款金额', '退款金額', 'Refund amount'],
  fee: ['手续费', '手續費', 'Fee'],
  netAmount: ['实际应退金额', '實際應退金額', 'Amount returned'],
  largeRefund: [
    '大额退款（≥ {threshold}）需两位不同主管授权（双人核对）。',
    '大額退款（≥ {threshold}）需兩位不同主管授權（雙人核對）。',
    'Large refund (≥ {threshold}): two different supervisors must approve.',
  ],
  needDifferent: [
    '第二位主管必须是另一个人，请换一位主管。',
    '第二位主管必須是另一個人，請換一位主管。',
    'The second supervisor must be someone else.',
  ],
  // used by the terminal and the back office alike
  adjustDifference: ['差额', '差額', 'Difference'],
  count: ['笔数', '筆數', 'Count'],
  // QR-code scan returns (扫码退货) and the consumer's status page: terminal, office and consumer
  'return.open': ['等待顾客扫码', '等待顧客掃碼', 'Waiting for the customer'],
  'return.expired': ['二维码已过期', '二維碼已過期', 'QR code expired'],
  'return.submitted': ['顾客已提交', '顧客已提交', 'Submitted by the customer'],
  'return.canceled': ['已撤回', '已撤回', 'Withdrawn'],
  'inspection.accepted': ['验货通过', '驗貨通過', 'Goods accepted'],
  'inspection.rejected': ['验货不通过', '驗貨不通過', 'Goods rejected'],
  'stage.submitted': ['已提交', '已提交', 'Submitted'],
  'stage.reviewing': ['商家审核', '商家審核', 'Merchant review'],
  'stage.processing': ['退款处理中', '退款處理中', 'Refund in progress'],
  'stage.refunded': ['已退款', '已退款', 'Refunded'],
  'stage.rejected': ['已拒绝', '已拒絕', 'Rejected'],
  'stage.failed': ['退款失败', '退款失敗', 'Refund failed'],
  'stage.canceled': ['已取消', '已取消', 'Canceled'],
  'role.cashier': ['收银员', '收銀員', 'Cashier'],
  'role.supervisor': ['主管', '主管', 'Supervisor'],
  'role.admin': ['管理员', '管理員', 'Admin'],
} as const satisfies Table;

export type CommonKey = keyof typeof common;
export type Vars = Record<string, string | number>;

const index: Record<Lang, 0 | 1 | 2> = { 'zh-CN': 0, 'zh-TW': 1, en: 2 };

/** The translator of one app's table: a key the table lacks does not compile. */
export function translator<M extends Table>(table: M) {
  return (lang: Lang, key: keyof M & string, vars?: Vars): string => {
    const text: string = table[key]?.[index[lang]] ?? key;
    return vars ? text.replace(/\{(\w+)\}/g, (all, name: string) => String(vars[name] ?? all)) : text;
  };
}

export function isLang(v: unknown): v is Lang {
  return v === 'zh-CN' || v === 'zh-TW' || v === 'en';
}

/** `?lang=` wins (and is remembered), then the remembered choice, then 简体中文. */
export function initialLang(storageKey: string): Lang {
  const fromUrl = new URLSearchParams(location.search).get('lang');
  if (isLang(fromUrl)) {
    saveLang(storageKey, fromUrl);
    return fromUrl;
  }
  try {
    const saved = localStorage.getItem(storageKey);
    if (isLang(saved)) return saved;
  } catch {
    // storage switched off: the default is fine
  }
  return 'zh-CN';
}

export function saveLang(storageKey: string, lang: Lang): void {
  try {
    localStorage.setItem(storageKey, lang);
  } catch {
    // storage switched off: the choice lasts until reload
  }
}

export interface I18n<K extends string = CommonKey> {
  lang: Lang;
  t(key: K, vars?: Vars): string;
  setLang(lang: Lang): void;
}

const translateCommon = translator(common);

/** One context for every app; each app provides its own table's `t` (a superset of `common`). */
export const I18nContext = createContext<I18n<string>>({
  lang: 'zh-CN',
  t: (key, vars) => translateCommon('zh-CN', key as CommonKey, vars),
  setLang: () => {},
});

/** For shared components: only the common words. */
export const useCommonI18n = (): I18n<CommonKey> => useContext(I18nContext);
