/**
 * The QR wallet wire format, modelled on Alipay's open gateway (alipay.trade.pay / .refund /
 * .fastpay.refund.query, RSA2) and WeChat Pay's refund API (out_refund_no, refund notifications).
 *
 * A request is one JSON POST to the gateway:
 *   { method, appId, merchantId, timestamp, nonce, bizContent: {...}, signType: 'RSA2', sign }
 * and the answer is
 *   { code, msg, subCode?, nonce, bizContent, sign }
 * Both are signed with RSA-SHA256 ("RSA2", 2048-bit keys) over the canonical string: every
 * parameter except `sign`, sorted by key, `key=value` joined by `&`, with `bizContent` written as
 * canonical JSON (keys sorted at every level). Requests are signed with the merchant's key,
 * answers and notifications with the wallet's.
 *
 * Deliberate differences from Alipay, each for a reason:
 * - Amounts are integer fen (`refundAmount: 1050`), not decimal yuan strings ("10.50"): no
 *   floating point near money. Canonical JSON refuses any number that is not a safe integer.
 * - `signType` is inside the signed string (Alipay leaves it out), so it cannot be downgraded.
 * - The answer echoes the request's `nonce` under the wallet's signature, binding the answer to
 *   the question: an old signed answer replayed to a new request is refused by the client.
 * - `timestamp` is ISO 8601 UTC rather than Beijing-time "yyyy-MM-dd HH:mm:ss".
 * - Notifications are JSON, not form-encoded; the merchant answers the text `success`.
 * - `trade.refund.query` answers PROCESSING / SUCCESS / FAIL explicitly, as WeChat Pay does,
 *   instead of Alipay's "REFUND_SUCCESS or nothing".
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { type Static, Type } from 'typebox';
import { Compile } from 'typebox/compile';

// ---------------------------------------------------------------------------------------------
// Codes

/** Gateway codes (Alipay's `code`): the class of the answer. */
export const gatewayCodes = {
  success: '10000',
  /** Service unavailable: nothing was applied; retry with the same parameters. */
  unavailable: '20000',
  /** The request itself is wrong (signature, parameters): nothing was applied. */
  invalidRequest: '40002',
  /** A business rule refused it: nothing was applied. */
  businessFailed: '40004',
} as const;
export type GatewayCode = (typeof gatewayCodes)[keyof typeof gatewayCodes];
const gatewayCodeList = ['10000', '20000', '40002', '40004'] as const satisfies readonly GatewayCode[];

/**
 * Stable sub-codes (Alipay's `sub_code` without the `ACQ.` prefix). Where Alipay's name is clear
 * it is kept; the Alipay equivalent is noted where the name differs.
 */
export const qrErrorCodes = [
  // 40002: the request
  'INVALID_PARAMETER',
  'INVALID_SIGNATURE', // isv.invalid-signature
  'INVALID_MERCHANT', // isv.invalid-app-id: no key registered for this merchant
  'INVALID_TIMESTAMP', // too far from the wallet's clock
  'NONCE_REUSED', // a replayed request
  'METHOD_NOT_SUPPORTED',
  // 20000: the wallet
  'SYSTEM_ERROR',
  // 40004: business rules
  'TRADE_NOT_EXIST',
  'TRADE_STATUS_ERROR', // the trade is not paid, or was cancelled
  'TRADE_HAS_FINISHED', // past the 365-day refund window
  'TRADE_CANCEL_NOT_ALLOWED', // the trade is in a settled batch, or has refunds: refund instead
  'REFUND_AMOUNT_INVALID', // REASON_TRADE_REFUND_FEE_ERR: not positive, or over the refundable remainder
  'REFUND_REASON_REQUIRED',
  'SELLER_BALANCE_NOT_ENOUGH',
  'OUT_REQUEST_NO_REUSED', // same outRequestNo, different trade or amount
  'OUT_TRADE_NO_USED', // same outTradeNo, different amount or currency
  'CURRENCY_NOT_SUPPORTED',
  'PAYMENT_AUTH_CODE_INVALID',
  'BUYER_BALANCE_NOT_ENOUGH',
  'BUYER_ACCOUNT_ABNORMAL', // also the failCode of a refund whose consumer account was closed
  'REFUND_NOT_EXIST',
] as const;
export type QrErrorCode = (typeof qrErrorCodes)[number];

const requestCodes: ReadonlySet<QrErrorCode> = new Set([
  'INVALID_PARAMETER',
  'INVALID_SIGNATURE',
  'INVALID_MERCHANT',
  'INVALID_TIMESTAMP',
  'NONCE_REUSED',
  'METHOD_NOT_SUPPORTED',
]);

export function gatewayCodeOf(code: QrErrorCode): GatewayCode {
  if (code === 'SYSTEM_ERROR') return gatewayCodes.unavailable;
  return requestCodes.has(code) ? gatewayCodes.invalidRequest : gatewayCodes.businessFailed;
}

/** A refusal by the wallet (or a message that failed verification), with its stable code. */
export class QrWalletError extends Error {
  readonly code: QrErrorCode;
  constructor(code: QrErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'QrWalletError';
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------
// Canonical string and signatures

export type KeyLike = KeyObject | string;

export function toPrivateKey(key: KeyLike): KeyObject {
  return typeof key === 'string' ? createPrivateKey(key) : key;
}

export function toPublicKey(key: KeyLike): KeyObject {
  if (typeof key !== 'string') return key.type === 'private' ? createPublicKey(key) : key;
  return createPublicKey(key);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** JSON with object keys sorted at every level; numbers must be safe integers (fen, counts). */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      // JSON.stringify escapes lone surrogates, so distinct strings stay distinct.
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value))
        throw new QrWalletError('INVALID_PARAMETER', `number ${value} is not an integer`);
      return String(value === 0 ? 0 : value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
    }
    default:
      throw new QrWalletError('INVALID_PARAMETER', `a ${typeof value} cannot be signed`);
  }
}

/**
 * The string that is signed: parameters except `sign` (and undefined ones), sorted by key,
 * `key=value` joined by `&`; objects (bizContent) as canonical JSON, strings verbatim.
 * Strings with lone surrogates are refused: UTF-8 would turn two different ones into the same bytes.
 */
export function canonicalString(params: Record<string, unknown>): string {
  const keys = Object.keys(params)
    .filter((k) => k !== 'sign' && params[k] !== undefined)
    .sort();
  return keys
    .map((k) => {
      const v = params[k];
      if (typeof v === 'string') {
        if (LONE_SURROGATE.test(v)) throw new QrWalletError('INVALID_PARAMETER', `${k} is not valid text`);
        return `${k}=${v}`;
      }
      return `${k}=${canonicalJson(v)}`;
    })
    .join('&');
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** RSA-SHA256 over the canonical string, base64. */
export function signParams(params: Record<string, unknown>, privateKey: KeyLike): string {
  return sign('sha256', Buffer.from(canonicalString(params), 'utf8'), toPrivateKey(privateKey)).toString(
    'base64',
  );
}

/** True when `sign` is a canonical base64 RSA2 signature of the other parameters under `publicKey`. */
export function verifyParams(params: Record<string, unknown>, publicKey: KeyLike): boolean {
  const signature = params.sign;
  if (typeof signature !== 'string' || signature.length > 1024 || !BASE64.test(signature)) return false;
  const bytes = Buffer.from(signature, 'base64');
  // Node's base64 decoder skips what it does not understand: insist on the one canonical spelling.
  if (bytes.toString('base64') !== signature) return false;
  try {
    return verify('sha256', Buffer.from(canonicalString(params), 'utf8'), toPublicKey(publicKey), bytes);
  } catch {
    return false;
  }
}

/** Throws INVALID_SIGNATURE unless `params` carry a valid RSA2 signature. */
export function assertSigned(params: Record<string, unknown>, publicKey: KeyLike, what: string): void {
  if (params.signType !== 'RSA2')
    throw new QrWalletError('INVALID_SIGNATURE', `${what}: signType must be RSA2`);
  if (!verifyParams(params, publicKey))
    throw new QrWalletError('INVALID_SIGNATURE', `${what}: signature invalid`);
}

// ---------------------------------------------------------------------------------------------
// Schemas: every string and number is bounded.

/** Up to ¥100 billion in fen. */
const MAX_AMOUNT = 10_000_000_000_000;
export const Amount = Type.Integer({ minimum: 1, maximum: MAX_AMOUNT, description: 'fen' });
const AmountOrZero = Type.Integer({ minimum: 0, maximum: MAX_AMOUNT });
const Count = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });
const RefNo = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const Time = Type.String({
  minLength: 20,
  maxLength: 30,
  pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$',
});
const TerminalId = Type.Optional(Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' }));
const Sign = Type.String({ minLength: 1, maxLength: 1024 });

export const qrMethods = [
  'trade.pay',
  'trade.query',
  'trade.cancel',
  'trade.refund',
  'trade.refund.query',
  'settle.batch',
  'system.echo',
] as const;
export type QrMethod = (typeof qrMethods)[number];

export const GatewayRequestSchema = Type.Object(
  {
    method: Type.Enum(qrMethods),
    appId: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' }),
    merchantId: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' }),
    timestamp: Time,
    nonce: Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
    bizContent: Type.Record(Type.String(), Type.Unknown()),
    signType: Type.Literal('RSA2'),
    sign: Sign,
  },
  { additionalProperties: false },
);
export type GatewayRequest = Static<typeof GatewayRequestSchema>;

export const GatewayResponseSchema = Type.Object(
  {
    code: Type.Enum(gatewayCodeList),
    msg: Type.String({ maxLength: 256 }),
    subCode: Type.Optional(Type.Enum(qrErrorCodes)),
    nonce: Type.String({ maxLength: 64 }),
    bizContent: Type.Record(Type.String(), Type.Unknown()),
    sign: Sign,
  },
  { additionalProperties: false },
);
export type GatewayResponse = Static<typeof GatewayResponseSchema>;

// trade.pay — the merchant scans the consumer's payment code (付款码, 当面付 bar code pay).
export const PayBizSchema = Type.Object(
  {
    outTradeNo: RefNo,
    authCode: Type.String({ pattern: '^[0-9]{16,24}$' }),
    totalAmount: Amount,
    currency: Currency,
    subject: Type.String({ minLength: 1, maxLength: 256 }),
    terminalId: TerminalId,
  },
  { additionalProperties: false },
);
export type PayBiz = Static<typeof PayBizSchema>;

export const tradeStatuses = ['TRADE_SUCCESS', 'TRADE_CLOSED', 'TRADE_FINISHED'] as const;
export type TradeStatus = (typeof tradeStatuses)[number];

export const TradeBizSchema = Type.Object(
  {
    tradeNo: RefNo,
    outTradeNo: RefNo,
    /** TRADE_CLOSED: cancelled or fully refunded; TRADE_FINISHED: past the refund window. */
    status: Type.Enum(tradeStatuses),
    totalAmount: Amount,
    /** Sum of succeeded refunds, fen. */
    refundedAmount: AmountOrZero,
    currency: Currency,
    buyerId: Type.String({ maxLength: 32 }),
    cancelled: Type.Boolean(),
    gmtPayment: Time,
  },
  { additionalProperties: false },
);
export type TradeBiz = Static<typeof TradeBizSchema>;

/** trade.query / trade.cancel: one of tradeNo (preferred) or outTradeNo. */
export const TradeRefSchema = Type.Object(
  { tradeNo: Type.Optional(RefNo), outTradeNo: Type.Optional(RefNo) },
  { additionalProperties: false },
);
export type TradeRef = Static<typeof TradeRefSchema>;

// trade.refund — idempotent by (merchantId, outRequestNo).
export const RefundBizSchema = Type.Object(
  {
    tradeNo: Type.Optional(RefNo),
    outTradeNo: Type.Optional(RefNo),
    outRequestNo: RefNo,
    refundAmount: Amount,
    /** When given, must be the trade's currency. */
    currency: Type.Optional(Currency),
    /** Required and non-empty; refused with REFUND_REASON_REQUIRED otherwise. */
    refundReason: Type.String({ maxLength: 256 }),
    terminalId: TerminalId,
  },
  { additionalProperties: false },
);
export type RefundBiz = Static<typeof RefundBizSchema>;

export const refundStatuses = ['PROCESSING', 'SUCCESS', 'FAIL'] as const;
export type RefundStatus = (typeof refundStatuses)[number];

export const RefundResultSchema = Type.Object(
  {
    outRequestNo: RefNo,
    /** The wallet's own id for the refund (WeChat's refund_id). */
    refundNo: RefNo,
    tradeNo: RefNo,
    outTradeNo: RefNo,
    refundAmount: Amount,
    currency: Currency,
    refundStatus: Type.Enum(refundStatuses),
    /** Alipay's refund_fee: the trade's total of succeeded refunds after this answer, fen. */
    refundFee: AmountOrZero,
    /** Part of the wallet's fee (MDR) given back to the merchant with this refund, fen. */
    feeReturned: AmountOrZero,
    /** Set when refundStatus is FAIL. */
    failCode: Type.Optional(Type.Enum(qrErrorCodes)),
    /** Alipay's fund_change: 'N' when this answer repeats an earlier one for the same outRequestNo. */
    fundChange: Type.Union([Type.Literal('Y'), Type.Literal('N')]),
    gmtCreate: Time,
    /** When the refund finished (SUCCESS or FAIL). */
    gmtRefund: Type.Optional(Time),
  },
  { additionalProperties: false },
);
export type RefundResult = Static<typeof RefundResultSchema>;

export const RefundQueryBizSchema = Type.Object({ outRequestNo: RefNo }, { additionalProperties: false });
export type RefundQueryBiz = Static<typeof RefundQueryBizSchema>;

/**
 * Alipay's trade.cancel answer: `refund` when a paid trade was undone (money back to the buyer),
 * `close` when the order had not been paid — it is then closed so a late trade.pay for the same
 * outTradeNo is refused (what makes cancel usable as the reversal of an unanswered sale).
 */
export const CancelResultSchema = Type.Object(
  {
    tradeNo: Type.Optional(RefNo),
    outTradeNo: RefNo,
    action: Type.Union([Type.Literal('refund'), Type.Literal('close')]),
    cancelledAt: Time,
  },
  { additionalProperties: false },
);
export type CancelResult = Static<typeof CancelResultSchema>;

// settle.batch — our extension: wallets settle T+1 by statement, terminals close batches (批结算).
export const SettleBizSchema = Type.Object(
  { terminalId: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' }), batchNo: Count },
  { additionalProperties: false },
);
export type SettleBiz = Static<typeof SettleBizSchema>;

const Bucket = Type.Object({ count: Count, amount: AmountOrZero }, { additionalProperties: false });
export const SettleResultSchema = Type.Object(
  {
    terminalId: Type.String({ maxLength: 32 }),
    batchNo: Count,
    sales: Bucket,
    refunds: Bucket,
    voids: Bucket,
  },
  { additionalProperties: false },
);
export type SettleResult = Static<typeof SettleResultSchema>;

export const EchoBizSchema = Type.Object({}, { additionalProperties: false });
export const EchoResultSchema = Type.Object({ time: Time }, { additionalProperties: false });

/** What each method takes and gives. */
export interface MethodTypes {
  'trade.pay': { biz: PayBiz; result: TradeBiz };
  'trade.query': { biz: TradeRef; result: TradeBiz };
  'trade.cancel': { biz: TradeRef; result: CancelResult };
  'trade.refund': { biz: RefundBiz; result: RefundResult };
  'trade.refund.query': { biz: RefundQueryBiz; result: RefundResult };
  'settle.batch': { biz: SettleBiz; result: SettleResult };
  'system.echo': { biz: Record<string, never>; result: { time: string } };
}

export const bizValidators = {
  'trade.pay': Compile(PayBizSchema),
  'trade.query': Compile(TradeRefSchema),
  'trade.cancel': Compile(TradeRefSchema),
  'trade.refund': Compile(RefundBizSchema),
  'trade.refund.query': Compile(RefundQueryBizSchema),
  'settle.batch': Compile(SettleBizSchema),
  'system.echo': Compile(EchoBizSchema),
} as const;

export const resultValidators = {
  'trade.pay': Compile(TradeBizSchema),
  'trade.query': Compile(TradeBizSchema),
  'trade.cancel': Compile(CancelResultSchema),
  'trade.refund': Compile(RefundResultSchema),
  'trade.refund.query': Compile(RefundResultSchema),
  'settle.batch': Compile(SettleResultSchema),
  'system.echo': Compile(EchoResultSchema),
} as const;

export const gatewayRequestValidator = Compile(GatewayRequestSchema);
export const gatewayResponseValidator = Compile(GatewayResponseSchema);

// ---------------------------------------------------------------------------------------------
// The asynchronous refund notification (WeChat Pay's 退款结果通知; Alipay's notify_url POST).

export const RefundNotificationSchema = Type.Object(
  {
    notifyType: Type.Literal('refund'),
    /** Stable across redeliveries of the same notification. */
    notifyId: RefNo,
    notifyTime: Time,
    merchantId: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' }),
    outRequestNo: RefNo,
    refundNo: RefNo,
    tradeNo: RefNo,
    outTradeNo: RefNo,
    refundStatus: Type.Union([Type.Literal('SUCCESS'), Type.Literal('FAIL')]),
    refundAmount: Amount,
    currency: Currency,
    refundFee: AmountOrZero,
    failCode: Type.Optional(Type.Enum(qrErrorCodes)),
    gmtRefund: Time,
    signType: Type.Literal('RSA2'),
    sign: Sign,
  },
  { additionalProperties: false },
);
export type RefundNotification = Static<typeof RefundNotificationSchema>;
export const refundNotificationValidator = Compile(RefundNotificationSchema);

/** The merchant's answer that stops redelivery (Alipay and WeChat v2 both want exactly this). */
export const NOTIFY_ACK = 'success';

/** First validation error of a compiled validator, for messages. */
export function firstError(
  validator: { Errors(v: unknown): { instancePath: string; message: string }[] },
  value: unknown,
) {
  const e = validator.Errors(value)[0];
  return e ? `${e.instancePath || '/'} ${e.message}` : 'invalid';
}

/** A fresh request nonce (22 characters, 128 random bits). */
export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}
