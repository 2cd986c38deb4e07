import {
  type NetworkPort,
  type NetworkResult,
  NetworkUnavailableError,
  type RefundSubmission,
  type ReversalPayload,
  responseCodes,
  type SaleLookup,
  type SaleLookupResult,
  type SaleRequest,
  type SaleResult,
  type SettlementRequest,
  type SettlementTotals,
  type SubmitAck,
  type VoidRequest,
} from '../port.js';
import {
  assertSigned,
  type CancelResult,
  firstError,
  type GatewayResponse,
  gatewayCodes,
  gatewayResponseValidator,
  type KeyLike,
  type MethodTypes,
  newNonce,
  type PayBiz,
  type QrErrorCode,
  type QrMethod,
  QrWalletError,
  type RefundBiz,
  type RefundResult,
  refundNotificationValidator,
  resultValidators,
  type SettleBiz,
  type SettleResult,
  signParams,
  type TradeBiz,
  type TradeRef,
  toPrivateKey,
  toPublicKey,
  verifyParams,
} from './protocol.js';

/**
 * The merchant side of the QR wallet link: signs requests with the merchant's key, verifies every
 * answer and notification with the wallet's key.
 *
 * Failure classes, and what the caller should do:
 * - `NetworkUnavailableError`: no answer (connection refused or cut, timeout, HTTP error) or the
 *   wallet said 20000 SYSTEM_ERROR — nothing is known to have happened; retry with the same
 *   outRequestNo / outTradeNo, the wallet deduplicates on them.
 * - `QrAnswerRejectedError` (a NetworkUnavailableError too): an answer came but cannot be
 *   trusted (bad signature, not bound to our nonce, malformed) — treated as no answer.
 * - `QrWalletError`: the wallet refused the request with a code; nothing was applied.
 */

export interface QrWalletClientOptions {
  /** e.g. http://127.0.0.1:3902/gateway */
  gatewayUrl: string;
  appId: string;
  merchantId: string;
  merchantPrivateKey: KeyLike;
  walletPublicKey: KeyLike;
  /** Whole request, answer included. */
  timeoutMs: number;
  clock?: () => Date;
}

export type AnswerProblem = 'INVALID_SIGNATURE' | 'NONCE_MISMATCH' | 'MALFORMED_ANSWER';

/** An answer arrived but cannot be trusted: as good as none. */
export class QrAnswerRejectedError extends NetworkUnavailableError {
  readonly code: AnswerProblem;
  constructor(code: AnswerProblem, message: string) {
    super(`${code}: ${message}`);
    this.name = 'QrAnswerRejectedError';
    this.code = code;
  }
}

/** A refund notification whose signature checked out. */
export interface VerifiedRefundNotification {
  notifyId: string;
  merchantId: string;
  outRequestNo: string;
  refundNo: string;
  tradeNo: string;
  status: 'SUCCESS' | 'FAIL';
  /** fen */
  amount: number;
  currency: string;
  failCode: QrErrorCode | null;
  gmtRefund: string;
}

const MAX_TIMEOUT_MS = 120_000;

export class QrWalletClient {
  readonly merchantId: string;
  private readonly opts: QrWalletClientOptions;
  private readonly privateKey;
  private readonly walletKey;
  private readonly clock: () => Date;

  constructor(opts: QrWalletClientOptions) {
    if (!Number.isInteger(opts.timeoutMs) || opts.timeoutMs < 1 || opts.timeoutMs > MAX_TIMEOUT_MS) {
      throw new Error(`timeoutMs must be within 1..${MAX_TIMEOUT_MS}`);
    }
    this.opts = opts;
    this.merchantId = opts.merchantId;
    this.privateKey = toPrivateKey(opts.merchantPrivateKey);
    this.walletKey = toPublicKey(opts.walletPublicKey);
    this.clock = opts.clock ?? (() => new Date());
  }

  /** One signed request; the verified bizContent of a 10000 answer. */
  async call<M extends QrMethod>(method: M, biz: MethodTypes[M]['biz']): Promise<MethodTypes[M]['result']> {
    const unsigned = {
      method,
      appId: this.opts.appId,
      merchantId: this.opts.merchantId,
      timestamp: this.clock().toISOString(),
      nonce: newNonce(),
      bizContent: biz as Record<string, unknown>,
      signType: 'RSA2' as const,
    };
    const body = JSON.stringify({ ...unsigned, sign: signParams(unsigned, this.privateKey) });
    const text = await this.post(body);
    const answer = this.verifyAnswer(text, unsigned.nonce);
    if (answer.code === gatewayCodes.unavailable) {
      throw new NetworkUnavailableError(
        `wallet unavailable: ${answer.subCode ?? 'SYSTEM_ERROR'} ${answer.msg}`,
      );
    }
    if (answer.code !== gatewayCodes.success) {
      throw new QrWalletError(answer.subCode ?? 'SYSTEM_ERROR', answer.msg);
    }
    const validator = resultValidators[method];
    if (!validator.Check(answer.bizContent)) {
      throw new QrAnswerRejectedError(
        'MALFORMED_ANSWER',
        `${method}: ${firstError(validator, answer.bizContent)}`,
      );
    }
    return answer.bizContent as MethodTypes[M]['result'];
  }

  private async post(body: string): Promise<string> {
    try {
      const res = await fetch(this.opts.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      const text = await res.text();
      if (res.status !== 200) throw new NetworkUnavailableError(`wallet gateway answered HTTP ${res.status}`);
      return text;
    } catch (err) {
      if (err instanceof NetworkUnavailableError) throw err;
      const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new NetworkUnavailableError(`wallet gateway unreachable or silent (${why})`);
    }
  }

  private verifyAnswer(text: string, nonce: string): GatewayResponse {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new QrAnswerRejectedError('MALFORMED_ANSWER', 'the answer is not JSON');
    }
    if (!gatewayResponseValidator.Check(parsed)) {
      throw new QrAnswerRejectedError('MALFORMED_ANSWER', firstError(gatewayResponseValidator, parsed));
    }
    if (!verifyParams(parsed, this.walletKey)) {
      throw new QrAnswerRejectedError('INVALID_SIGNATURE', "the answer is not signed by the wallet's key");
    }
    // Only a refusal of a request the wallet could not read may come without our nonce.
    if (parsed.nonce !== nonce && !(parsed.nonce === '' && parsed.code === gatewayCodes.invalidRequest)) {
      throw new QrAnswerRejectedError('NONCE_MISMATCH', 'the answer is not for this request');
    }
    return parsed;
  }

  pay(biz: PayBiz): Promise<TradeBiz> {
    return this.call('trade.pay', biz);
  }

  queryTrade(ref: TradeRef): Promise<TradeBiz> {
    return this.call('trade.query', ref);
  }

  cancel(ref: TradeRef): Promise<CancelResult> {
    return this.call('trade.cancel', ref);
  }

  refund(biz: RefundBiz): Promise<RefundResult> {
    return this.call('trade.refund', biz);
  }

  /** The refund's state, or null when the wallet never accepted a refund with this number. */
  async queryRefund(outRequestNo: string): Promise<RefundResult | null> {
    try {
      return await this.call('trade.refund.query', { outRequestNo });
    } catch (err) {
      if (err instanceof QrWalletError && err.code === 'REFUND_NOT_EXIST') return null;
      throw err;
    }
  }

  settle(biz: SettleBiz): Promise<SettleResult> {
    return this.call('settle.batch', biz);
  }

  /** Is the link up: does a signed echo come back signed? */
  async echo(): Promise<boolean> {
    try {
      await this.call('system.echo', {});
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Check a refund notification POSTed by the wallet: its shape, that it is for this merchant, and
   * the wallet's signature. Throws QrWalletError (INVALID_PARAMETER, INVALID_MERCHANT,
   * INVALID_SIGNATURE) otherwise. Notifications repeat: the caller must apply them idempotently.
   */
  verifyNotification(body: unknown): VerifiedRefundNotification {
    if (!refundNotificationValidator.Check(body)) {
      throw new QrWalletError(
        'INVALID_PARAMETER',
        `notification ${firstError(refundNotificationValidator, body)}`,
      );
    }
    if (body.merchantId !== this.merchantId) {
      throw new QrWalletError('INVALID_MERCHANT', `notification for merchant ${body.merchantId}`);
    }
    assertSigned(body, this.walletKey, 'notification');
    return {
      notifyId: body.notifyId,
      merchantId: body.merchantId,
      outRequestNo: body.outRequestNo,
      refundNo: body.refundNo,
      tradeNo: body.tradeNo,
      status: body.refundStatus,
      amount: body.refundAmount,
      currency: body.currency,
      failCode: body.failCode ?? null,
      gmtRefund: body.gmtRefund,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Mapping wallet answers onto the NetworkPort

/**
 * Wallet codes → our ISO 8583-style response codes (port.ts `responseCodes`), so one table of
 * plain messages serves cards and wallets. The wallet's own code goes to the log, not the port.
 */
export const walletResponseCodes: Readonly<Record<QrErrorCode, string>> = {
  INVALID_PARAMETER: responseCodes.systemError,
  INVALID_SIGNATURE: responseCodes.systemError,
  INVALID_MERCHANT: responseCodes.systemError,
  INVALID_TIMESTAMP: responseCodes.systemError,
  NONCE_REUSED: responseCodes.systemError,
  METHOD_NOT_SUPPORTED: responseCodes.systemError,
  SYSTEM_ERROR: responseCodes.issuerUnavailable,
  TRADE_NOT_EXIST: responseCodes.originalNotFound,
  TRADE_STATUS_ERROR: responseCodes.originalNotFound,
  TRADE_HAS_FINISHED: responseCodes.notPermitted,
  TRADE_CANCEL_NOT_ALLOWED: responseCodes.invalidTransaction,
  REFUND_AMOUNT_INVALID: responseCodes.invalidAmount,
  REFUND_REASON_REQUIRED: responseCodes.notPermitted,
  SELLER_BALANCE_NOT_ENOUGH: responseCodes.insufficientFunds,
  OUT_REQUEST_NO_REUSED: responseCodes.invalidTransaction,
  OUT_TRADE_NO_USED: responseCodes.invalidTransaction,
  CURRENCY_NOT_SUPPORTED: responseCodes.invalidTransaction,
  PAYMENT_AUTH_CODE_INVALID: responseCodes.invalidTransaction,
  BUYER_BALANCE_NOT_ENOUGH: responseCodes.insufficientFunds,
  BUYER_ACCOUNT_ABNORMAL: responseCodes.notPermitted,
  REFUND_NOT_EXIST: responseCodes.originalNotFound,
};

/** 40002 codes: our request or our keys are wrong — a link problem, not a decision about the refund. */
const linkProblems: ReadonlySet<QrErrorCode> = new Set([
  'INVALID_PARAMETER',
  'INVALID_SIGNATURE',
  'INVALID_MERCHANT',
  'INVALID_TIMESTAMP',
  'NONCE_REUSED',
  'METHOD_NOT_SUPPORTED',
  'SYSTEM_ERROR',
]);

/**
 * A business refusal stays a QrWalletError (the caller turns it into a decline); anything that is
 * a problem of the link itself becomes NetworkUnavailableError, so the outbox retries it and the
 * worker's polling loop never trips over it.
 */
export function asLinkError(err: unknown): unknown {
  if (err instanceof QrWalletError && linkProblems.has(err.code)) {
    return new NetworkUnavailableError(`wallet refused the request: ${err.message}`);
  }
  return err;
}

/** A finished refund (query answer or notification) as the port's result; null while PROCESSING. */
export function refundToNetworkResult(
  r: Pick<RefundResult, 'outRequestNo' | 'refundNo' | 'refundStatus' | 'failCode'>,
): NetworkResult | null {
  if (r.refundStatus === 'PROCESSING') return null;
  return {
    requestId: r.outRequestNo,
    reference: r.refundNo,
    outcome: r.refundStatus === 'SUCCESS' ? 'succeeded' : 'failed',
    responseCode:
      r.refundStatus === 'SUCCESS'
        ? responseCodes.approved
        : walletResponseCodes[r.failCode ?? 'SYSTEM_ERROR'],
  };
}

export function notificationToNetworkResult(n: VerifiedRefundNotification): NetworkResult {
  const result = refundToNetworkResult({
    outRequestNo: n.outRequestNo,
    refundNo: n.refundNo,
    refundStatus: n.status,
    failCode: n.failCode ?? undefined,
  });
  if (!result) throw new Error('a notification is always final');
  return { ...result, amountMinor: n.amount };
}

/** The wallet's refund reason: the scheme wants words, so the code is kept and the note added. */
export function refundReasonText(reason: RefundSubmission['reason']): string {
  const note = reason.note?.trim();
  return (note ? `${reason.code}: ${note}` : reason.code).slice(0, 256);
}

export interface QrWalletPortOptions {
  /** One client per merchant that takes QR payments. */
  clients: QrWalletClient[];
  /**
   * The consumer's payment code for a sale. Default: the card token when it is a 16–24 digit
   * payment code scanned at the counter, else `demoAuthCode`.
   */
  authCodeFor?: (req: SaleRequest) => string | null;
  /** The demo consumer's payment code, used when a sale carries none. */
  demoAuthCode?: string;
}

/**
 * The QR wallet behind the NetworkPort: sale = trade.pay (outTradeNo = our payment id), void =
 * trade.cancel, refund = trade.refund (outRequestNo = our refund id, tradeNo = the sale's
 * reference), results by trade.refund.query and signed notifications, batch = settle.batch.
 */
export class QrWalletPort implements NetworkPort {
  readonly name = 'qr-wallet';
  private readonly clients = new Map<string, QrWalletClient>();
  private readonly handlers: ((r: NetworkResult) => Promise<void>)[] = [];
  private readonly authCodeFor: (req: SaleRequest) => string | null;

  constructor(opts: QrWalletPortOptions) {
    if (opts.clients.length === 0) throw new Error('QrWalletPort needs at least one merchant client');
    for (const c of opts.clients) this.clients.set(c.merchantId, c);
    this.authCodeFor =
      opts.authCodeFor ??
      ((req) =>
        req.cardToken && /^[0-9]{16,24}$/.test(req.cardToken) ? req.cardToken : (opts.demoAuthCode ?? null));
  }

  client(merchantId: string): QrWalletClient {
    const c = this.clients.get(merchantId);
    if (!c) throw new NetworkUnavailableError(`no QR wallet account configured for merchant ${merchantId}`);
    return c;
  }

  async echo(): Promise<boolean> {
    const first = this.clients.values().next().value;
    return first ? first.echo() : false;
  }

  async authorizeSale(req: SaleRequest): Promise<SaleResult> {
    const authCode = this.authCodeFor(req);
    if (!authCode) return { approved: false, reference: '', responseCode: responseCodes.invalidTransaction };
    try {
      const trade = await this.client(req.merchantId).pay({
        outTradeNo: req.requestId,
        authCode,
        totalAmount: req.amountMinor,
        currency: req.currency,
        subject: `order ${req.orderNo}`.slice(0, 256),
        ...(req.terminalId ? { terminalId: req.terminalId } : {}),
      });
      return { approved: true, reference: trade.tradeNo, responseCode: responseCodes.approved };
    } catch (err) {
      const e = asLinkError(err);
      if (e instanceof QrWalletError)
        return { approved: false, reference: '', responseCode: walletResponseCodes[e.code] };
      throw e;
    }
  }

  /**
   * 冲正 for a sale that got no answer: cancel it by our payment id (outTradeNo). Idempotent.
   * If the sale never reached the wallet the order is closed (action `close`), so the lost
   * request, arriving late, is refused. Resolves with the wallet's action; a refusal
   * (e.g. TRADE_CANCEL_NOT_ALLOWED) throws QrWalletError.
   */
  async reverseSale(req: { requestId: string; merchantId: string }): Promise<'refund' | 'close'> {
    try {
      return (await this.client(req.merchantId).cancel({ outTradeNo: req.requestId })).action;
    } catch (err) {
      throw asLinkError(err);
    }
  }

  /**
   * The outbox's reversal entry point: a QR sale that got no answer (see reverseSale). QR refunds
   * need no reversal: they are retried with the same outRequestNo instead, which the wallet
   * deduplicates.
   */
  async reverse(payload: ReversalPayload): Promise<void> {
    if (payload.network !== 'qr')
      throw new Error(`the QR wallet cannot reverse a ${payload.network} request`);
    await this.reverseSale(payload);
  }

  /**
   * What became of a sale: trade.query by our payment id (outTradeNo). A paid trade stands
   * (`approved`, its tradeNo), a cancelled one does not. A trade the wallet does not know is closed
   * by the same id first (trade.cancel), so the lost trade.pay is refused should it still arrive
   * — or, had it arrived in between, refunded — and nothing of it stands: `not_sent`. A sale is
   * answered at once (trade.pay is synchronous), so the wallet never leaves one `pending`.
   */
  async lookupSale(req: SaleLookup): Promise<SaleLookupResult> {
    try {
      const trade = await this.client(req.merchantId).queryTrade({ outTradeNo: req.requestId });
      return trade.cancelled ? { state: 'not_sent' } : { state: 'approved', reference: trade.tradeNo };
    } catch (err) {
      const e = asLinkError(err);
      if (!(e instanceof QrWalletError && e.code === 'TRADE_NOT_EXIST')) throw e;
    }
    await this.reverseSale(req);
    return { state: 'not_sent' };
  }

  async voidSale(req: VoidRequest): Promise<{ approved: boolean; responseCode: string }> {
    try {
      await this.client(req.merchantId).cancel({ tradeNo: req.originalReference });
      return { approved: true, responseCode: responseCodes.approved };
    } catch (err) {
      const e = asLinkError(err);
      if (e instanceof QrWalletError) return { approved: false, responseCode: walletResponseCodes[e.code] };
      throw e;
    }
  }

  async submitRefund(req: RefundSubmission): Promise<SubmitAck> {
    try {
      const r = await this.client(req.merchantId).refund({
        tradeNo: req.originalReference,
        outRequestNo: req.requestId,
        refundAmount: req.amountMinor,
        currency: req.currency,
        refundReason: refundReasonText(req.reason),
        ...(req.terminalId ? { terminalId: req.terminalId } : {}),
      });
      // PROCESSING, or already final on a retry: either way the result comes by notify or query.
      return { kind: 'accepted', reference: r.refundNo };
    } catch (err) {
      const e = asLinkError(err);
      if (e instanceof QrWalletError) {
        return { kind: 'declined', reference: null, responseCode: walletResponseCodes[e.code] };
      }
      throw e;
    }
  }

  /** Final outcome, or null while PROCESSING (or unknown to the wallet). Throws only NetworkUnavailableError. */
  async queryRefund(requestId: string): Promise<NetworkResult | null> {
    for (const c of this.clients.values()) {
      let r: RefundResult | null;
      try {
        r = await c.queryRefund(requestId);
      } catch (err) {
        const e = asLinkError(err);
        throw e instanceof NetworkUnavailableError ? e : new NetworkUnavailableError(String(e));
      }
      if (r) return refundToNetworkResult(r);
    }
    return null;
  }

  /** settle.batch: the wallet's totals for the terminal's open QR batch, which it then closes (repeatable). */
  async settle(req: SettlementRequest): Promise<SettlementTotals> {
    try {
      const t = await this.client(req.merchantId).settle({
        terminalId: req.terminalId,
        batchNo: req.batchNo,
      });
      const bucket = (b: { count: number; amount: number }) => ({ count: b.count, amountMinor: b.amount });
      return { sales: bucket(t.sales), refunds: bucket(t.refunds), voids: bucket(t.voids) };
    } catch (err) {
      const e = asLinkError(err);
      throw e instanceof NetworkUnavailableError ? e : new NetworkUnavailableError(String(e));
    }
  }

  onResult(handler: (r: NetworkResult) => Promise<void>): void {
    this.handlers.push(handler);
  }

  /**
   * Verify a notification POSTed by the wallet and hand its result to every handler. Throws
   * QrWalletError when it does not verify; a handler's error propagates (the wallet redelivers).
   */
  async handleNotification(body: unknown): Promise<NetworkResult> {
    const merchantId = (body as { merchantId?: unknown } | null)?.merchantId;
    const c = typeof merchantId === 'string' ? this.clients.get(merchantId) : undefined;
    if (!c) throw new QrWalletError('INVALID_MERCHANT', 'notification for an unknown merchant');
    const result = notificationToNetworkResult(c.verifyNotification(body));
    for (const h of this.handlers) await h(result);
    return result;
  }

  async close(): Promise<void> {}
}
