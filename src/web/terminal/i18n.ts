import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Lang } from './api';

/**
 * The terminal's words in 简体中文 (default), 繁體中文 and English (PRODUCT.md §8).
 * One row per message: [zh-CN, zh-TW, en]; `{name}` is filled in by t().
 */
export const langs: readonly Lang[] = ['zh-CN', 'zh-TW', 'en'];
export const langNames: Record<Lang, string> = { 'zh-CN': '简体中文', 'zh-TW': '繁體中文', en: 'English' };
const LANG_KEY = 'rd.terminal.lang';

const m = {
  appName: ['退款收银台', '退款收銀台', 'Refund Desk'],
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
  home: ['返回首页', '返回首頁', 'Home'],
  loading: ['正在加载…', '正在載入…', 'Loading…'],
  working: ['正在处理，请稍候…', '正在處理，請稍候…', 'Working, please wait…'],
  clear: ['清除', '清除', 'Clear'],
  backspace: ['退格', '退格', 'Delete'],
  more: ['加载更多', '載入更多', 'Load more'],
  none: ['无', '無', 'None'],

  // sign in
  signInTitle: ['操作员签到', '操作員簽到', 'Operator sign-in'],
  terminalId: ['终端号', '終端號', 'Terminal ID'],
  operatorNo: ['操作员号', '操作員號', 'Operator no.'],
  password: ['密码', '密碼', 'Password'],
  signIn: ['签到', '簽到', 'Sign in'],
  signOut: ['签退', '簽退', 'Sign out'],
  sessionExpired: [
    '登录已失效，请重新签到。',
    '登入已失效，請重新簽到。',
    'Your session ended: sign in again.',
  ],

  // home
  homeTitle: ['请选择交易', '請選擇交易', 'Main menu'],
  sale: ['消费', '消費', 'Sale'],
  refund: ['退货', '退貨', 'Refund'],
  void: ['撤销', '撤銷', 'Void'],
  adjust: ['调整金额', '調整金額', 'Adjust amount'],
  transactions: ['交易查询', '交易查詢', 'Transactions'],
  settlement: ['结算', '結算', 'Settlement'],
  reprint: ['重打印', '重打印', 'Reprint'],
  saleHint: ['收款（演示、测试用）', '收款（示範、測試用）', 'Take a payment (demo / testing)'],
  refundHint: ['全额、部分或按商品退款', '全額、部分或按商品退款', 'Full, partial or by items'],
  voidHint: ['当天未结算的交易', '當天未結算的交易', 'Same day, before settlement'],
  adjustHint: ['改动订单金额，多退少补', '改動訂單金額，多退少補', 'Change an order amount'],
  transactionsHint: ['交易及退款记录', '交易及退款記錄', 'Payments and their refunds'],
  settlementHint: ['批结算并对账', '批結算並對帳', 'Close the batch, reconcile'],
  reprintHint: ['补打退款凭证', '補打退款憑證', 'Print a voucher again'],
  signOutHint: ['结束本班次', '結束本班次', 'End your shift'],
  operators: ['操作员', '操作員', 'Operators'],
  operatorsHint: ['查看并解除锁定（管理员）', '查看並解除鎖定（管理員）', 'See and lift lockouts (admin)'],

  // reasons and statuses
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

  // refund flow
  refundTitle: ['退货退款', '退貨退款', 'Refund'],
  stepReason: ['退款原因', '退款原因', 'Reason'],
  stepFind: ['原交易', '原交易', 'Original'],
  stepAmount: ['退款金额', '退款金額', 'Amount'],
  stepConfirm: ['确认', '確認', 'Confirm'],
  stepApprove: ['主管授权', '主管授權', 'Supervisor'],
  stepResult: ['结果', '結果', 'Result'],
  chooseReason: ['请选择退款原因', '請選擇退款原因', 'Why is the money going back?'],
  otherNote: ['请写明原因', '請寫明原因', 'Say why'],
  otherNoteRequired: [
    '选择"其它"时必须写明原因。',
    '選擇「其他」時必須寫明原因。',
    'Reason "Other" needs a note.',
  ],
  networkDownWarning: [
    '网络中断：可以继续办理，授权后的退款会在网络恢复后自动提交。',
    '網路中斷：可以繼續辦理，授權後的退款會在網路恢復後自動提交。',
    'The network is down: you can go on; approved refunds are sent when it is back.',
  ],
  findTitle: ['查找原交易', '查找原交易', 'Find the original payment'],
  scanHint: [
    '扫描小票条码，或输入订单号 / 凭证号 / 参考号后按确定',
    '掃描小票條碼，或輸入訂單號 / 憑證號 / 參考號後按確定',
    'Scan the receipt barcode, or type the order, voucher or reference number and press Enter',
  ],
  orderOrVoucher: ['订单号 / 凭证号', '訂單號 / 憑證號', 'Order / voucher no.'],
  search: ['查找', '查找', 'Find'],
  advancedSearch: ['按日期 / 金额 / 卡号查找', '按日期 / 金額 / 卡號查找', 'Search by date / amount / card'],
  date: ['日期', '日期', 'Date'],
  amount: ['金额', '金額', 'Amount'],
  last4: ['卡号后四位', '卡號後四位', 'Card last 4'],
  recentPayments: ['最近的交易', '最近的交易', 'Recent payments'],
  results: ['查找结果', '查找結果', 'Results'],
  noResults: ['没有符合条件的交易。', '沒有符合條件的交易。', 'No payment matches.'],
  orderNo: ['订单号', '訂單號', 'Order no.'],
  original: ['原交易金额', '原交易金額', 'Original amount'],
  refunded: ['已退金额', '已退金額', 'Refunded'],
  inFlight: ['退款处理中', '退款處理中', 'Refunds in progress'],
  refundable: ['可退金额', '可退金額', 'Refundable'],
  nothingRefundable: [
    '这笔交易已没有可退金额（已全部退款或正在退款中）。',
    '這筆交易已沒有可退金額（已全部退款或正在退款中）。',
    'Nothing is left to refund on this payment (refunded or being refunded).',
  ],
  modePartial: ['部分退款', '部分退款', 'Partial'],
  modeFull: ['全额退款', '全額退款', 'Full'],
  modeItems: ['按商品退', '按商品退', 'By items'],
  fullRefundOf: ['全额退款 {amount}', '全額退款 {amount}', 'Refund all {amount}'],
  enterAmount: ['输入退款金额（元）', '輸入退款金額（元）', 'Refund amount (yuan)'],
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
  itemsLeft: ['可退 {n} 件', '可退 {n} 件', '{n} left'],
  itemsNone: ['请至少选择一件商品。', '請至少選擇一件商品。', 'Choose at least one item.'],
  decrease: ['减少', '減少', 'Less'],
  increase: ['增加', '增加', 'More'],
  confirmTitle: ['请确认退款', '請確認退款', 'Confirm the refund'],
  refundAmount: ['退款金额', '退款金額', 'Refund amount'],
  fee: ['手续费', '手續費', 'Fee'],
  netAmount: ['实际应退金额', '實際應退金額', 'Amount returned'],
  refundMethod: ['退款方式', '退款方式', 'Refund method'],
  reason: ['退款原因', '退款原因', 'Reason'],
  items: ['退货商品', '退貨商品', 'Items'],
  consumerContact: [
    '顾客手机 / 邮箱（选填，用于接收退款凭证）',
    '顧客手機 / 電郵（選填，用於接收退款憑證）',
    "Customer's phone / e-mail (optional, for the voucher)",
  ],
  phone: ['手机号', '手機號', 'Phone'],
  email: ['邮箱', '電郵', 'E-mail'],
  badPhone: ['手机号格式不对。', '手機號格式不對。', 'Not a phone number.'],
  badEmail: ['邮箱格式不对。', '電郵格式不對。', 'Not an e-mail address.'],
  confirmRefund: ['确认退款', '確認退款', 'Confirm refund'],
  editAmount: ['修改金额', '修改金額', 'Change amount'],
  largeRefund: [
    '大额退款（≥ {threshold}）需两位不同主管授权（双人核对）。',
    '大額退款（≥ {threshold}）需兩位不同主管授權（雙人核對）。',
    'Large refund (≥ {threshold}): two different supervisors must approve.',
  ],
  approveTitle: ['请主管输入退款密码', '請主管輸入退款密碼', 'Supervisor: enter the refund password'],
  supervisorN: ['第 {n} 位主管（共 {of} 位）', '第 {n} 位主管（共 {of} 位）', 'Supervisor {n} of {of}'],
  supervisorNo: ['主管工号', '主管工號', 'Supervisor no.'],
  refundPassword: ['退款密码', '退款密碼', 'Refund password'],
  approve: ['授权', '授權', 'Approve'],
  needDifferent: [
    '第二位主管必须是另一个人，请换一位主管。',
    '第二位主管必須是另一個人，請換一位主管。',
    'The second supervisor must be someone else.',
  ],
  fillBoth: ['请输入主管工号和密码。', '請輸入主管工號和密碼。', 'Enter the supervisor number and password.'],
  statusTitle: ['退款进度', '退款進度', 'Refund progress'],
  statusWaitHint: [
    '可以返回首页，退款会继续处理；在交易查询中可看到结果。',
    '可以返回首頁，退款會繼續處理；在交易查詢中可看到結果。',
    'You may go home: the refund goes on, and Transactions shows its result.',
  ],
  successTitle: ['退款成功', '退款成功', 'Refund succeeded'],
  failedTitle: ['退款失败', '退款失敗', 'Refund failed'],
  delayedTitle: ['退款延迟', '退款延遲', 'Refund delayed'],
  pendingTitle: ['退款已提交，等待审核', '退款已提交，等待審核', 'Refund submitted, waiting for review'],
  expectedArrival: ['预计到账', '預計入帳', 'Expected arrival'],
  reference: ['参考号', '參考號', 'Reference'],
  refundNo: ['退款单号', '退款單號', 'Refund no.'],
  print: ['打印', '列印', 'Print'],
  send: ['发送', '發送', 'Send'],
  sent: ['凭证已发送', '憑證已發送', 'Voucher sent'],
  sendVoucher: ['发送凭证', '發送憑證', 'Send voucher'],
  'sendStatus.queued': ['排队发送中…', '排隊發送中…', 'Queued, sending…'],
  'sendStatus.sent': ['已发送', '已發送', 'Sent'],
  'sendStatus.failed': [
    '发送失败，请打印凭证',
    '發送失敗，請列印憑證',
    'Not delivered: print the voucher instead',
  ],
  contactRecorded: [
    '顾客联系方式已随退款登记：{contact}',
    '顧客聯絡方式已隨退款登記：{contact}',
    "Customer's contact recorded with the refund: {contact}",
  ],
  tryAgain: ['重新发起', '重新發起', 'Start again'],
  newRefund: ['再退一笔', '再退一筆', 'Another refund'],
  failedNothingMoved: [
    '没有发生资金变动，金额已回到可退余额。',
    '沒有發生資金異動，金額已回到可退餘額。',
    'No money moved; the amount is back in the refundable remainder.',
  ],

  // receipt
  receiptTitle: ['退款凭证', '退款憑證', 'Refund voucher'],
  paperWidth: ['纸宽', '紙寬', 'Paper'],
  printAgain: ['再次打印', '再次列印', 'Print again'],
  receiptUnavailable: [
    '暂时无法取得凭证。',
    '暫時無法取得憑證。',
    'The voucher cannot be fetched right now.',
  ],

  // void
  voidTitle: ['撤销交易', '撤銷交易', 'Void a payment'],
  voidConfirm: ['确认撤销这笔交易？', '確認撤銷這筆交易？', 'Void this payment?'],
  voidExplain: [
    '撤销会取消原交易，全额、不扣手续费；只限当天未结算的交易。',
    '撤銷會取消原交易，全額、不扣手續費；只限當天未結算的交易。',
    'A void cancels the whole payment, no fee; only same-day payments not yet settled.',
  ],
  voidDo: ['确认撤销', '確認撤銷', 'Void it'],
  voided: ['已撤销', '已撤銷', 'Voided'],
  voidedDone: [
    '交易已撤销，顾客不会被扣款。',
    '交易已撤銷，顧客不會被扣款。',
    'The payment is voided: the customer is not charged.',
  ],
  useRefundInstead: ['改为退货', '改為退貨', 'Refund instead'],

  // adjust
  adjustTitle: ['调整金额', '調整金額', 'Adjust an amount'],
  originalAmount: ['原金额（元）', '原金額（元）', 'Original amount (yuan)'],
  newAmount: ['新金额（元）', '新金額（元）', 'New amount (yuan)'],
  currentOrderAmount: ['订单当前金额', '訂單目前金額', 'Order stands at'],
  adjustDifference: ['差额', '差額', 'Difference'],
  adjustRefund: ['退还顾客 {amount}', '退還顧客 {amount}', 'Refund {amount} to the customer'],
  adjustCharge: ['向顾客补收 {amount}', '向顧客補收 {amount}', 'Charge the customer {amount} more'],
  adjustSame: ['新金额与原金额相同。', '新金額與原金額相同。', 'The new amount equals the original.'],
  adjustDo: ['确认调整', '確認調整', 'Adjust'],
  adjustDone: ['金额已调整', '金額已調整', 'Amount adjusted'],
  chargeDone: ['已补收 {amount}', '已補收 {amount}', 'Charged {amount}'],

  // transactions
  txTitle: ['交易查询', '交易查詢', 'Transactions'],
  txDetail: ['交易详情', '交易詳情', 'Payment details'],
  reverseHistory: ['退款 / 撤销记录', '退款 / 撤銷記錄', 'Refunds and voids'],
  revisions: ['金额调整记录', '金額調整記錄', 'Amount changes'],
  noRefunds: ['暂无退款记录。', '暫無退款記錄。', 'No refunds yet.'],
  time: ['时间', '時間', 'Time'],
  status: ['状态', '狀態', 'Status'],
  method: ['支付方式', '支付方式', 'Method'],

  // settlement
  stlTitle: ['批结算', '批結算', 'Batch settlement'],
  stlExplain: [
    '结算本终端当前批次的消费、撤销和退款，并与银联 / 收单机构对账。结算后当批交易不能再撤销。',
    '結算本終端目前批次的消費、撤銷和退款，並與銀聯 / 收單機構對帳。結算後當批交易不能再撤銷。',
    "Closes this terminal's batch of sales, voids and refunds and reconciles it with the network. Settled payments can no longer be voided.",
  ],
  stlDo: ['开始结算', '開始結算', 'Settle now'],
  batchNo: ['批次号', '批次號', 'Batch'],
  'bucket.sales': ['消费', '消費', 'Sales'],
  'bucket.voids': ['撤销', '撤銷', 'Voids'],
  'bucket.refunds': ['退款', '退款', 'Refunds'],
  'bucket.cash': ['其中现金', '其中現金', 'of which cash'],
  count: ['笔数', '筆數', 'Count'],
  total: ['金额', '金額', 'Amount'],
  balanced: ['对账平衡', '對帳平衡', 'Balanced'],
  unbalanced: ['对账不平', '對帳不平', 'Not balanced'],
  balancedHint: [
    '本地与网络的笔数和金额一致。',
    '本地與網路的筆數和金額一致。',
    'Counts and amounts match the network.',
  ],
  unbalancedHint: [
    '以下项目与网络不一致，请打印结算单并联系收单机构核对。',
    '以下項目與網路不一致，請列印結算單並聯絡收單機構核對。',
    'These buckets differ from the network: print the report and check with the acquirer.',
  ],
  local: ['本地', '本地', 'Ours'],
  network: ['网络', '網路', 'Network'],

  // reprint
  reprintTitle: ['重打印凭证', '重打印憑證', 'Reprint a voucher'],
  lastRefund: ['上一笔退款', '上一筆退款', 'Last refund'],
  byRefundNo: ['按退款单号', '按退款單號', 'By refund no.'],
  recentRefunds: ['最近的退款', '最近的退款', 'Recent refunds'],
  noRecentRefunds: ['还没有退款。', '還沒有退款。', 'No refunds yet.'],

  // operators (admin)
  opsTitle: ['操作员管理', '操作員管理', 'Operators'],
  opsExplain: [
    '密码连续输错会锁定签到或退款授权；确认是本人后可提前解除。',
    '密碼連續輸錯會鎖定簽到或退款授權；確認是本人後可提前解除。',
    'Wrong passwords lock sign-in or refund approval; lift a lock early once you know it was the operator.',
  ],
  opsStatus: ['状态', '狀態', 'Status'],
  opsRole: ['角色', '角色', 'Role'],
  opsName: ['姓名', '姓名', 'Name'],
  opsFree: ['正常', '正常', 'Not locked'],
  opsSignInLocked: ['签到锁定至 {time}', '簽到鎖定至 {time}', 'Sign-in locked until {time}'],
  opsApprovalLocked: ['授权锁定至 {time}', '授權鎖定至 {time}', 'Approvals locked until {time}'],
  opsUnlock: ['解除锁定', '解除鎖定', 'Unlock'],
  opsUnlocked: ['已解除 {no} 的锁定', '已解除 {no} 的鎖定', 'Operator {no} unlocked'],
  'role.cashier': ['收银员', '收銀員', 'Cashier'],
  'role.supervisor': ['主管', '主管', 'Supervisor'],
  'role.admin': ['管理员', '管理員', 'Admin'],

  // sale
  saleTitle: ['消费（演示）', '消費（示範）', 'Sale (demo)'],
  saleAmount: ['收款金额（元）', '收款金額（元）', 'Amount (yuan)'],
  saleMethod: ['支付方式', '支付方式', 'Paid by'],
  demoCard: ['演示卡 {card}', '示範卡 {card}', 'Demo card {card}'],
  charge: ['收款', '收款', 'Charge'],
  saleDone: ['收款成功', '收款成功', 'Payment taken'],
  refundThis: ['为此单退货', '為此單退貨', 'Refund this order'],
} as const satisfies Record<string, readonly [string, string, string]>;

export type MessageKey = keyof typeof m;
export type Vars = Record<string, string | number>;
export type T = (key: MessageKey, vars?: Vars) => string;

const index: Record<Lang, 0 | 1 | 2> = { 'zh-CN': 0, 'zh-TW': 1, en: 2 };

export function translate(lang: Lang, key: MessageKey, vars?: Vars): string {
  const text: string = m[key][index[lang]];
  return vars ? text.replace(/\{(\w+)\}/g, (all, name: string) => String(vars[name] ?? all)) : text;
}

export function isLang(v: unknown): v is Lang {
  return v === 'zh-CN' || v === 'zh-TW' || v === 'en';
}

/** `?lang=` wins (and is remembered), then the remembered choice, then 简体中文. */
export function initialLang(): Lang {
  const fromUrl = new URLSearchParams(location.search).get('lang');
  if (isLang(fromUrl)) {
    saveLang(fromUrl);
    return fromUrl;
  }
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (isLang(saved)) return saved;
  } catch {
    // storage switched off: the default is fine
  }
  return 'zh-CN';
}

export function saveLang(lang: Lang): void {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // storage switched off: the choice lasts until reload
  }
}

export interface I18n {
  lang: Lang;
  t: T;
  setLang(lang: Lang): void;
}

export const I18nContext = createContext<I18n>({
  lang: 'zh-CN',
  t: (key, vars) => translate('zh-CN', key, vars),
  setLang: () => {},
});

export const useI18n = (): I18n => useContext(I18nContext);
