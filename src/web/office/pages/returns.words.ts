import type { Table } from '../../shared/i18n';

/**
 * Words of QR-code scan returns (扫码退货) in the office: the order page's return QR, the returns
 * page and the inspection (验货): [zh-CN, zh-TW, en]. The statuses of a return and of an
 * inspection are shared with the other apps (src/web/shared/i18n.ts `return.*`, `inspection.*`).
 */
export const returnsWords = {
  'nav.returns': ['退货', '退貨', 'Returns'],

  // the order page's return QR
  returnQrAction: ['生成退货二维码', '產生退貨二維碼', 'Return QR'],
  returnQrTitle: [
    '退货二维码 · 订单 {orderNo}',
    '退貨二維碼 · 訂單 {orderNo}',
    'Return QR · order {orderNo}',
  ],
  returnQrHint: [
    '选择顾客退回的商品和数量。顾客在柜台扫描二维码，或在电话中打开链接，核对后提交退货。',
    '選擇顧客退回的商品和數量。顧客在櫃台掃描二維碼，或在電話中打開連結，核對後提交退貨。',
    'Choose the items and quantities coming back. The customer scans the QR at the desk, or opens the link during a call, checks it and submits.',
  ],
  returnNoItems: [
    '这笔订单没有商品明细，不能扫码退货；请按金额退款。',
    '這筆訂單沒有商品明細，不能掃碼退貨；請按金額退款。',
    'This order has no line items: a return QR is for goods. Refund an amount instead.',
  ],
  itemCol: ['商品', '商品', 'Item'],
  unitPriceCol: ['单价', '單價', 'Unit price'],
  boughtCol: ['购买', '購買', 'Bought'],
  returnableCol: ['可退', '可退', 'Can return'],
  returnQtyCol: ['退回数量', '退回數量', 'Returning'],
  returnHeld: [
    '已去掉已退、退款中和未使用的退货二维码占用的数量。',
    '已扣除已退、退款中和未使用的退貨二維碼佔用的數量。',
    'Refunded units, refunds in progress and unused return QRs are already taken off.',
  ],
  returnTotal: ['退货金额', '退貨金額', 'Return amount'],
  returnQtyTooMany: [
    '{item}：请填 0 到 {n} 之间的整数。',
    '{item}：請填 0 到 {n} 之間的整數。',
    '{item}: a whole number from 0 to {n}.',
  ],
  returnNoLines: ['请至少选择一件商品。', '請至少選擇一件商品。', 'Choose at least one item.'],
  returnQrMake: ['生成二维码', '產生二維碼', 'Show the QR'],
  returnQrScan: [
    '请顾客用手机扫描二维码，核对商品和金额后提交退货。二维码只能使用一次。',
    '請顧客用手機掃描二維碼，核對商品和金額後提交退貨。二維碼只能使用一次。',
    'Ask the customer to scan it with a phone, check the items and amount, and submit. It works once.',
  ],
  returnQrAlt: ['退货二维码', '退貨二維碼', 'Return QR code'],
  returnLink: ['退货链接', '退貨連結', 'Return link'],
  copyLink: ['复制链接', '複製連結', 'Copy link'],
  linkCopied: ['已复制。', '已複製。', 'Copied.'],
  linkCopyByHand: [
    '无法自动复制：链接已选中，请按 Ctrl+C。',
    '無法自動複製：連結已選取，請按 Ctrl+C。',
    'Could not copy: the link is selected, press Ctrl+C.',
  ],
  expiresAtCol: ['有效期至', '有效期至', 'Expires'],

  // the returns page
  returnsTitle: ['扫码退货', '掃碼退貨', 'QR returns'],
  returnsHint: [
    '生成的退货二维码及其结果，最新的在前。顾客提交后先验货，验货通过的退款再到退款审核中批准。',
    '產生的退貨二維碼及其結果，最新的在前。顧客提交後先驗貨，驗貨通過的退款再到退款審核中批准。',
    'Return QRs and what became of them, newest first. Inspect the goods once submitted; accepted refunds are then approved in the review queue.',
  ],
  returnsEmpty: ['没有符合条件的退货。', '沒有符合條件的退貨。', 'No return matches.'],
  returnsAll: ['全部', '全部', 'All'],
  itemsCol: ['退回商品', '退回商品', 'Items'],
  createdCol: ['生成时间', '產生時間', 'Created'],
  submittedCol: ['提交时间', '提交時間', 'Submitted'],
  inspectionCol: ['验货', '驗貨', 'Inspection'],
  inspectionPending: ['待验货', '待驗貨', 'To inspect'],
  withdraw: ['撤回', '撤回', 'Withdraw'],
  withdrawTitle: ['撤回退货二维码？', '撤回退貨二維碼？', 'Withdraw the return QR?'],
  withdrawText: [
    '订单 {orderNo} 的退货二维码（{amount}）将失效，占用的商品可以再次退货。',
    '訂單 {orderNo} 的退貨二維碼（{amount}）將失效，佔用的商品可以再次退貨。',
    'The return QR of order {orderNo} ({amount}) stops working and its items can be returned again.',
  ],
  toQueue: ['去审核', '去審核', 'Review it'],

  // inspection (验货)
  inspect: ['验货', '驗貨', 'Inspect'],
  inspectFirst: ['扫码退货 · 请先验货', '掃碼退貨 · 請先驗貨', 'QR return · inspect goods first'],
  inspectFirstHint: [
    '这笔退款来自扫码退货：先验货。验货通过后再按审核清单批准；不通过则退款被驳回。',
    '這筆退款來自掃碼退貨：先驗貨。驗貨通過後再按審核清單批准；不通過則退款被駁回。',
    'This refund comes from a QR return: inspect the goods first. Accepted, it is approved with the checklist; rejected, the refund is rejected.',
  ],
  inspectTitle: ['验货 · 订单 {orderNo}', '驗貨 · 訂單 {orderNo}', 'Inspect the goods · order {orderNo}'],
  inspectResult: ['验货结果', '驗貨結果', 'Result'],
  inspectAccept: [
    '通过：商品无误，进入退款审核',
    '通過：商品無誤，進入退款審核',
    'Accepted: on to the refund review',
  ],
  inspectReject: ['不通过：驳回这笔退款', '不通過：駁回這筆退款', 'Rejected: the refund is rejected'],
  inspectNote: ['验货备注', '驗貨備註', 'Inspection note'],
  inspectNoteHint: [
    '不通过时必填，顾客会看到。',
    '不通過時必填，顧客會看到。',
    'Required when rejected; the customer sees it.',
  ],
  inspectNoteRequired: [
    '请写明验货不通过的原因。',
    '請寫明驗貨不通過的原因。',
    'Say why the goods are not accepted.',
  ],
  inspectSubmit: ['提交验货结果', '提交驗貨結果', 'Record the inspection'],
  inspectAccepted: [
    '验货通过：退款已进入审核，请按审核清单批准。',
    '驗貨通過：退款已進入審核，請按審核清單批准。',
    'Goods accepted: the refund is under review. Approve it with the checklist.',
  ],
  inspectRejected: [
    '验货不通过：退款已驳回，顾客会收到通知。',
    '驗貨不通過：退款已駁回，顧客會收到通知。',
    'Goods rejected: the refund is rejected and the customer is told.',
  ],
} as const satisfies Table;
