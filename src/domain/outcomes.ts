import type { RefundStatus } from './refund-state.js';

/**
 * Outcomes for people (seed 004 遇到问题时的解决方法): every network response code as a plain
 * message for the cashier and the consumer, with what to do about it, in the three UI languages.
 *
 * Keyed by the ISO 8583 field 39 codes our adapters report (network/port.ts `responseCodes`, the
 * card link's 98 / A0 / 77, the host's 03). QR wallet errors need no entries of their own: the
 * wallet client maps every wallet code to one of these (qr-wallet/client.ts `walletResponseCodes`),
 * so one table serves cards and wallets. The pseudo-code `delayed` explains a refund that is past
 * its processing SLA and has no response code yet (退款延迟).
 *
 * Pure data and functions: no I/O, no clock (the arrival date is passed in).
 */

export const outcomeLanguages = ['zh-CN', 'zh-TW', 'en'] as const;
export type OutcomeLanguage = (typeof outcomeLanguages)[number];
export type Localized = Readonly<Record<OutcomeLanguage, string>>;

/** success: money goes back; failure: nothing happened, someone must act; delay: retried by itself. */
export type OutcomeKind = 'success' | 'failure' | 'delay';

export interface Outcome {
  readonly code: string;
  readonly kind: OutcomeKind;
  /** What happened, in the seed's words (退款金额超限, 商户资金不足 …). */
  readonly message: Localized;
  /** What to do about it. */
  readonly fix: Localized;
}

/** Pseudo-code for a refund past its SLA that has no response code yet (not sent by any network). */
export const DELAYED_CODE = 'delayed';

/** Codes are two characters in ISO 8583; anything longer from a host is cut to this in messages. */
export const MAX_CODE_LENGTH = 16;

interface Row extends Outcome {
  /** The fix ends by saying when the money should arrive (filled in from the refund's date). */
  readonly arrives?: true;
}

/** When the money arrives, and whom to ask if it does not (seed 004: 联系银联或发卡行). */
function arrivalBy(date: string | null): Localized {
  return date
    ? {
        'zh-CN': `预计 ${date} 前到账；到期仍未到账，请持退款凭证联系发卡行（扫码支付则联系钱包客服）查询。`,
        'zh-TW': `預計 ${date} 前入帳；到期仍未入帳，請持退款憑證聯絡發卡銀行（掃碼支付則聯絡錢包客服）查詢。`,
        en: `The money should arrive by ${date}; if it has not by then, ask the card issuer (or the wallet's support, for QR payments), showing the refund voucher.`,
      }
    : {
        'zh-CN':
          '预计到账日期见退款详情；到期仍未到账，请持退款凭证联系发卡行（扫码支付则联系钱包客服）查询。',
        'zh-TW':
          '預計入帳日期請見退款明細；到期仍未入帳，請持退款憑證聯絡發卡銀行（掃碼支付則聯絡錢包客服）查詢。',
        en: "The money should arrive by the expected arrival date shown on the refund; if it has not by then, ask the card issuer (or the wallet's support, for QR payments), showing the refund voucher.",
      };
}

const retriedAutomatically: Localized = {
  'zh-CN': '无需处理：系统会自动重试。',
  'zh-TW': '無需處理：系統會自動重試。',
  en: 'Nothing to do: the refund is retried automatically.',
};

/** A delay-kind code on a refund that ended `failed`: the network gave up, nothing moved. */
const gaveUp: Localized = {
  'zh-CN':
    '这笔退款没有完成，也没有发生资金变动，金额已回到原交易的可退余额。请稍后重新发起退款；一直出现时，请联系银联、发卡行或 POS 服务商查询。',
  'zh-TW':
    '這筆退款沒有完成，也沒有發生資金異動，金額已回到原交易的可退餘額。請稍後重新發起退款；持續出現時，請聯絡銀聯、發卡銀行或 POS 服務商查詢。',
  en: "The refund did not go through and no money moved; the amount is back in the original payment's refundable remainder. Make the refund again later; if this keeps happening, contact UnionPay, the card issuer or the POS service provider.",
};

const rows: readonly Row[] = [
  {
    code: '00',
    kind: 'success',
    message: {
      'zh-CN': '退款成功：款项按原路退回消费者的原付款账户（现金、银行转账退款由商户直接支付）。',
      'zh-TW': '退款成功：款項依原路退回消費者的原付款帳戶（現金、銀行轉帳退款由商戶直接支付）。',
      en: 'Refund approved: the money goes back by the original route to the account the consumer paid from (cash and bank-transfer refunds are paid by the merchant directly).',
    },
    fix: {
      'zh-CN': '无需处理；原路退款只会退回原付款账户，不会退到其他账户。',
      'zh-TW': '無需處理；原路退款只會退回原付款帳戶，不會退到其他帳戶。',
      en: 'Nothing to do; an original-route refund can only go back to the account that paid, never to another one.',
    },
    arrives: true,
  },
  {
    code: '03',
    kind: 'failure',
    message: {
      'zh-CN': '无效商户：收单机构不认可本商户号或终端号，这笔交易没有处理。',
      'zh-TW': '無效商戶：收單機構不認可本商戶編號或終端機編號，這筆交易沒有處理。',
      en: 'Invalid merchant: the acquirer does not recognise this merchant or terminal number; nothing was processed.',
    },
    fix: {
      'zh-CN':
        '核对终端设置里的商户号和终端号；无误仍被拒绝时，请联系收单机构（POS 服务商）开通或更正，然后重试。',
      'zh-TW':
        '核對終端機設定中的商戶編號和終端機編號；確認無誤仍被拒絕時，請聯絡收單機構（POS 服務商）開通或更正，然後重試。',
      en: "Check the merchant and terminal numbers in the terminal's settings; if they are right and it is still refused, ask the acquirer (POS service provider) to enable or correct them, then retry.",
    },
  },
  {
    code: '12',
    kind: 'failure',
    message: {
      'zh-CN':
        '无效交易：这笔交易不能这样处理，例如原交易已结算不能撤销、已有退款，或同一请求号已用于另一笔交易。',
      'zh-TW':
        '無效交易：這筆交易無法這樣處理，例如原交易已結算不能撤銷、已有退款，或同一請求編號已用於另一筆交易。',
      en: 'Invalid transaction: it cannot be done this way, e.g. the original is settled and can no longer be voided, already has refunds, or the same request number was used for another transaction.',
    },
    fix: {
      'zh-CN':
        '已结算或已有退款的交易请改做退款（不是撤销）；核对原交易后发起一笔新的退款，不要重复提交同一笔。',
      'zh-TW':
        '已結算或已有退款的交易請改做退款（不是撤銷）；核對原交易後發起一筆新的退款，不要重複送出同一筆。',
      en: 'For a settled payment, or one that already has refunds, make a refund instead of a void; check the original and start a new refund rather than resubmitting the same one.',
    },
  },
  {
    code: '13',
    kind: 'failure',
    message: {
      'zh-CN': '退款金额超限：退款金额超过了原交易还可以退的金额。',
      'zh-TW': '退款金額超限：退款金額超過原交易尚可退還的金額。',
      en: 'Refund amount over the limit: the amount is more than is left to refund on the original payment.',
    },
    fix: {
      'zh-CN': '查看原交易的可退金额，按不超过该金额重新发起退款。',
      'zh-TW': '查看原交易的可退金額，以不超過該金額重新發起退款。',
      en: "Check the original payment's refundable amount and refund at most that.",
    },
  },
  {
    code: '25',
    kind: 'failure',
    message: {
      'zh-CN': '原交易未完成：找不到这笔原交易，或它没有支付成功、已被撤销。',
      'zh-TW': '原交易未完成：找不到這筆原交易，或它未付款成功、已被撤銷。',
      en: 'Original not completed: the original payment cannot be found, never went through, or was voided.',
    },
    fix: {
      'zh-CN': '核对订单号或小票凭证，确认原交易已支付成功且未被撤销后再退款；没有支付成功的交易无需退款。',
      'zh-TW':
        '核對訂單編號或收據憑證，確認原交易已付款成功且未被撤銷後再退款；沒有付款成功的交易不需要退款。',
      en: 'Check the order number or the receipt, and refund only an original that was paid and not voided; a payment that never went through needs no refund.',
    },
  },
  {
    code: '51',
    kind: 'failure',
    message: {
      'zh-CN': '商户资金不足：商户结算账户的余额不够支付这笔退款（收款时此码表示付款方余额不足）。',
      'zh-TW': '商戶資金不足：商戶結算帳戶的餘額不足以支付這筆退款（收款時此碼表示付款方餘額不足）。',
      en: "Insufficient merchant funds: the merchant settlement account cannot pay this refund (on a sale, this code means the payer's balance is too low).",
    },
    fix: {
      'zh-CN': '先为商户结算账户充值（或等当天收款入账），再重试退款。',
      'zh-TW': '先為商戶結算帳戶儲值（或等當天收款入帳），再重試退款。',
      en: "Top up the merchant settlement account (or wait for today's takings to arrive), then retry the refund.",
    },
  },
  {
    code: '57',
    kind: 'failure',
    message: {
      'zh-CN':
        '退款原因不符规定：银联或钱包不接受这笔退款，例如退款原因说明不清、已超过退款期限，或消费者账户异常。',
      'zh-TW':
        '退款原因不符規定：銀聯或錢包不接受這筆退款，例如退款原因說明不清、已超過退款期限，或消費者帳戶異常。',
      en: "Refund reason not compliant: the scheme or wallet will not accept this refund, e.g. the reason is unclear, the refund window has passed, or the consumer's account is blocked.",
    },
    fix: {
      'zh-CN':
        '选择准确的退款原因；选“其它”时写清具体原因（至少 4 个字），再重新发起退款。已过退款期限或消费者账户异常时，改用现金或银行转账退款。',
      'zh-TW':
        '選擇正確的退款原因；選「其他」時寫清楚具體原因（至少 4 個字），再重新發起退款。已超過退款期限或消費者帳戶異常時，改用現金或銀行轉帳退款。',
      en: 'Choose the reason that fits; for "other", say what happened in a few words (at least 4 characters), then refund again. Past the refund window, or with a blocked consumer account, refund in cash or by bank transfer instead.',
    },
  },
  {
    code: '77',
    kind: 'delay',
    message: {
      'zh-CN': '终端需要重新签到：收单机构不再接受终端当前的工作密钥，这次请求没有处理。',
      'zh-TW': '終端機需要重新簽到：收單機構不再接受終端機目前的工作金鑰，這次請求沒有處理。',
      en: "Terminal must sign in again: the acquirer no longer accepts the terminal's working key; nothing was processed.",
    },
    fix: {
      'zh-CN': '无需处理：终端会自动重新签到并重试；一直出现时，请在终端上手动签到或联系 POS 服务商。',
      'zh-TW': '無需處理：終端機會自動重新簽到並重試；持續出現時，請在終端機上手動簽到或聯絡 POS 服務商。',
      en: 'Nothing to do: the terminal signs in again and retries by itself; if this keeps happening, sign in on the terminal by hand or call the POS service provider.',
    },
  },
  {
    code: '91',
    kind: 'delay',
    message: {
      'zh-CN': '发卡行处理故障：发卡行（或钱包）暂时无法处理，没有发生资金变动。',
      'zh-TW': '發卡行處理故障：發卡銀行（或錢包）暫時無法處理，沒有發生資金異動。',
      en: 'Issuer processing fault: the card issuer (or wallet) cannot process it right now; no money has moved.',
    },
    fix: retriedAutomatically,
    arrives: true,
  },
  {
    code: '96',
    kind: 'delay',
    message: {
      'zh-CN': '银联系统繁忙：银联或收单机构的系统暂时出错，没有发生资金变动。',
      'zh-TW': '銀聯系統忙碌：銀聯或收單機構的系統暫時出錯，沒有發生資金異動。',
      en: 'Scheme system busy: UnionPay or the acquirer had a temporary system error; no money has moved.',
    },
    fix: retriedAutomatically,
    arrives: true,
  },
  {
    code: '98',
    kind: 'failure',
    message: {
      'zh-CN': '无应答，已自动冲正：多次提交都没有收到收单机构的应答，每一次都已自动冲正，没有发生资金变动。',
      'zh-TW': '無回應，已自動沖正：多次送出都沒有收到收單機構的回應，每一次都已自動沖正，沒有發生資金異動。',
      en: 'No answer, reversed automatically: the acquirer did not answer several attempts; each was reversed, so no money has moved.',
    },
    fix: {
      'zh-CN': '金额已回到原交易的可退余额。检查终端网络（链路检测），恢复后重新发起退款。',
      'zh-TW': '金額已回到原交易的可退餘額。檢查終端機網路（連線測試），恢復後重新發起退款。',
      en: "The amount is back in the original payment's refundable remainder. Check the terminal's network link (echo test) and, once it is up, make the refund again.",
    },
  },
  {
    code: 'A0',
    kind: 'delay',
    message: {
      'zh-CN': 'MAC 校验错：收单机构核对报文校验码（MAC）失败，这次请求没有处理。',
      'zh-TW': 'MAC 驗證錯誤：收單機構核對訊息驗證碼（MAC）失敗，這次請求沒有處理。',
      en: 'MAC error: the acquirer could not verify the message authentication code (MAC); nothing was processed.',
    },
    fix: {
      'zh-CN':
        '无需处理：终端会自动重新签到、换用新密钥后重试；一直出现时，终端主密钥可能与收单机构不一致，请联系 POS 服务商。',
      'zh-TW':
        '無需處理：終端機會自動重新簽到、換用新金鑰後重試；持續出現時，終端機主金鑰可能與收單機構不一致，請聯絡 POS 服務商。',
      en: "Nothing to do: the terminal signs in again for fresh keys and retries; if this keeps happening, its master key may not match the acquirer's: call the POS service provider.",
    },
  },
  {
    code: DELAYED_CODE,
    kind: 'delay',
    message: {
      'zh-CN': '退款延迟：退款已提交，但超过正常处理时间仍未完成，可能是银联系统繁忙或发卡行处理故障。',
      'zh-TW': '退款延遲：退款已送出，但超過正常處理時間仍未完成，可能是銀聯系統忙碌或發卡銀行處理故障。',
      en: 'Refund delayed: the refund was submitted but is taking longer than usual, e.g. the scheme is busy or the issuer is down.',
    },
    fix: retriedAutomatically,
    arrives: true,
  },
];

const byCode: ReadonlyMap<string, Row> = new Map(rows.map((r) => [r.code, r]));

function join(a: Localized, b: Localized): Localized {
  return { 'zh-CN': a['zh-CN'] + b['zh-CN'], 'zh-TW': a['zh-TW'] + b['zh-TW'], en: `${a.en} ${b.en}` };
}

function render(row: Row, arrival: string | null): Outcome {
  return {
    code: row.code,
    kind: row.kind,
    message: row.message,
    fix: row.arrives ? join(row.fix, arrivalBy(arrival)) : row.fix,
  };
}

/** A code the table does not know (it may come from a real host): still named, never hidden. */
function generic(code: string): Outcome {
  const c = code.slice(0, MAX_CODE_LENGTH);
  return {
    code: c,
    kind: 'failure',
    message: {
      'zh-CN': `未知应答码 ${c}：网络返回了本系统没有说明的应答码，这笔交易没有完成。`,
      'zh-TW': `未知回應碼 ${c}：網路回傳了本系統沒有說明的回應碼，這筆交易沒有完成。`,
      en: `Unknown response code ${c}: the network answered with a code this system has no description for; the transaction did not go through.`,
    },
    fix: {
      'zh-CN': `记下应答码 ${c}，联系收单机构或 POS 服务商查询原因，确认后再决定是否重新发起。`,
      'zh-TW': `記下回應碼 ${c}，聯絡收單機構或 POS 服務商查詢原因，確認後再決定是否重新發起。`,
      en: `Note the code ${c} and ask the acquirer or the POS service provider what it means before trying again.`,
    },
  };
}

/** The table's own entry for a code, or undefined when it has none. */
export function knownOutcome(code: string): Outcome | undefined {
  const row = byCode.get(code);
  return row ? render(row, null) : undefined;
}

/** The entry for a code; a code the table does not know gets the generic failure naming it. */
export function outcomeFor(code: string): Outcome {
  return knownOutcome(code) ?? generic(code);
}

/** Every entry of the table, the pseudo-code `delayed` included, in code order. */
export function listOutcomes(): Outcome[] {
  return rows.map((r) => render(r, null));
}

const inFlight: ReadonlySet<RefundStatus> = new Set(['approved', 'processing']);

/**
 * What a refund's response code means for the people waiting on it, given where the refund is.
 * - no code yet: the `delayed` entry when the refund is past its SLA and still in flight, else null;
 * - a delay-kind code on a refund that ended `failed` (the network gave up): a failure whose fix
 *   says nothing moved and the refund can be made again — "retried automatically" would be a lie;
 * - success and delay fixes name the expected arrival date when it is given.
 */
export function explainOutcome(
  code: string | null,
  status: RefundStatus,
  refund: { delayed?: boolean; expectedArrival?: string | null } = {},
): Outcome | null {
  const arrival = refund.expectedArrival ?? null;
  if (code === null) {
    const delayed = byCode.get(DELAYED_CODE);
    return refund.delayed && inFlight.has(status) && delayed ? render(delayed, arrival) : null;
  }
  const row = byCode.get(code);
  if (!row) return generic(code);
  if (row.kind === 'delay' && status === 'failed') {
    return { code: row.code, kind: 'failure', message: row.message, fix: gaveUp };
  }
  return render(row, arrival);
}
