import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  bizValidators,
  firstError,
  type GatewayRequest,
  type GatewayResponse,
  gatewayCodeOf,
  gatewayCodes,
  gatewayRequestValidator,
  type KeyLike,
  type MethodTypes,
  NOTIFY_ACK,
  type QrErrorCode,
  type QrMethod,
  QrWalletError,
  type RefundNotification,
  signParams,
  toPrivateKey,
  toPublicKey,
  verifyParams,
} from '../../network/qr-wallet/protocol.js';
import type { QrLedger } from './ledger.js';

/**
 * The QR wallet simulator's gateway as a Fastify plugin: `POST /gateway` takes every method,
 * checks the merchant's RSA2 signature first, applies the method to the ledger, and answers
 * signed with the wallet's key. A background loop finishes refunds whose processing delay is over
 * and delivers their notifications (persisted in the ledger, so a restart resumes them).
 *
 * Faults (the same shape as the card simulator's control API, `PUT /faults`):
 * - `delayMs`: every answer waits this long before the request is handled;
 * - `dropRate`: the connection is cut with no answer — with equal chance before the wallet saw
 *   the request or after it applied it; the merchant cannot tell which, which is the point;
 * - `timeoutRate`: the request is applied, the answer withheld for `timeoutHoldMs` (past any
 *   client timeout);
 * - `issuerDown`: answered 20000 SYSTEM_ERROR, nothing applied.
 * Whatever the faults, a refund is applied at most once per (merchant, outRequestNo): the ledger
 * answers a repeat with the first result.
 */

export interface QrFaults {
  dropRate: number;
  delayMs: number;
  timeoutRate: number;
  issuerDown: boolean;
}

export interface QrWalletServerOptions {
  ledger: QrLedger;
  walletPrivateKey: KeyLike;
  /** The merchants the wallet knows, by merchantId, with the public key their requests are signed with. */
  merchantPublicKeys: Map<string, KeyLike>;
  /** Where each merchant receives refund notifications. A merchant without one gets none (it must query). */
  merchantNotifyUrls?: Map<string, string>;
  /** How long an accepted refund stays PROCESSING. */
  refundDelayMs: number;
  /** Deliver one notification; resolve when the merchant answered `success`, throw otherwise. */
  notify?: (url: string, body: RefundNotification) => Promise<void>;
  faults?: () => QrFaults;
  /** Seedable random source for the faults (default Math.random). */
  random?: () => number;
  clock?: () => Date;
  /** Requests whose timestamp is further than this from the wallet's clock are refused. Default 5 min. */
  maxClockSkewMs?: number;
  /** How long a "timeout" fault withholds the answer. Default 30 s. */
  timeoutHoldMs?: number;
  /** Period of the finish-and-notify loop. Default 50 ms. */
  tickMs?: number;
  /** Notification attempts before giving up (the merchant then relies on trade.refund.query). Default 8. */
  maxNotifyAttempts?: number;
  /** Wait before notification attempt n+1 (n ≥ 1). Default 200 ms · 2^(n−1), at most 60 s. */
  notifyBackoffMs?: (attempt: number) => number;
  /** Timeout of one notification POST with the default `notify`. Default 5 s. */
  notifyTimeoutMs?: number;
}

const BODY_LIMIT_BYTES = 64 * 1024;
const NONCE_CACHE_MAX = 100_000;

/** Default `notify`: one JSON POST; anything but a 200 `success` answer is a failed attempt. */
export function postNotification(timeoutMs = 5_000) {
  return async (url: string, body: RefundNotification): Promise<void> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = (await res.text()).trim();
    if (res.status !== 200 || text !== NOTIFY_ACK) {
      throw new Error(`notify ${url}: HTTP ${res.status} ${text.slice(0, 80)}`);
    }
  };
}

export function defaultNotifyBackoffMs(attempt: number): number {
  return Math.min(60_000, 200 * 2 ** Math.min(attempt - 1, 20));
}

/** Replay protection: nonces seen within the clock-skew window; bounded, oldest evicted first. */
class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly ttlMs: number) {}

  /** False when the nonce was already used. */
  add(key: string, nowMs: number): boolean {
    for (const [k, at] of this.seen) {
      if (at > nowMs - this.ttlMs && this.seen.size < NONCE_CACHE_MAX) break;
      this.seen.delete(k);
    }
    if (this.seen.has(key)) return false;
    this.seen.set(key, nowMs);
    return true;
  }
}

export function qrWalletRoutes(opts: QrWalletServerOptions): FastifyPluginAsync {
  const walletKey = toPrivateKey(opts.walletPrivateKey);
  const merchantKeys = new Map([...opts.merchantPublicKeys].map(([id, k]) => [id, toPublicKey(k)]));
  const clock = opts.clock ?? (() => new Date());
  const random = opts.random ?? Math.random;
  const skewMs = opts.maxClockSkewMs ?? 5 * 60_000;
  const holdMs = opts.timeoutHoldMs ?? 30_000;
  const tickMs = opts.tickMs ?? 50;
  const maxNotifyAttempts = opts.maxNotifyAttempts ?? 8;
  const backoff = opts.notifyBackoffMs ?? defaultNotifyBackoffMs;
  const notify = opts.notify ?? postNotification(opts.notifyTimeoutMs);
  const faults = opts.faults ?? (() => ({ dropRate: 0, delayMs: 0, timeoutRate: 0, issuerDown: false }));
  const nonces = new NonceCache(2 * skewMs);
  if (!Number.isInteger(opts.refundDelayMs) || opts.refundDelayMs < 0)
    throw new Error('refundDelayMs must be ≥ 0');

  return async (app) => {
    let closing = false;
    const sleepers = new Set<() => void>();
    /** A wait that ends early when the server closes. */
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          sleepers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        sleepers.add(done);
      });

    // The body is parsed here, not by Fastify, so a malformed one still gets a signed answer.
    app.addContentTypeParser(
      ['application/json', 'text/plain'],
      { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
      (_req, body, done) => done(null, body),
    );

    const answer = (reply: FastifyReply, nonce: string, res: Omit<GatewayResponse, 'sign' | 'nonce'>) => {
      const unsigned = { ...res, nonce };
      const signed: GatewayResponse = { ...unsigned, sign: signParams(unsigned, walletKey) };
      return reply
        .code(200)
        .header('content-type', 'application/json; charset=utf-8')
        .send(JSON.stringify(signed));
    };
    const refuse = (reply: FastifyReply, nonce: string, code: QrErrorCode, msg: string) =>
      answer(reply, nonce, {
        code: gatewayCodeOf(code),
        msg: msg.slice(0, 256),
        subCode: code,
        bizContent: {},
      });

    const cut = (req: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      req.raw.socket.destroy();
    };

    app.post('/gateway', async (req, reply) => {
      const f = faults();
      if (f.delayMs > 0) await sleep(f.delayMs);
      const dropped = random() < f.dropRate;
      const dropAfter = dropped && random() < 0.5;
      if (closing || (dropped && !dropAfter)) return cut(req, reply);

      let parsed: unknown;
      try {
        parsed = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        return refuse(reply, '', 'INVALID_PARAMETER', 'the body is not JSON');
      }
      const nonceOf = (p: unknown) => {
        const n = (p as { nonce?: unknown } | null)?.nonce;
        return typeof n === 'string' && n.length <= 64 ? n : '';
      };
      if (!gatewayRequestValidator.Check(parsed)) {
        return refuse(
          reply,
          nonceOf(parsed),
          'INVALID_PARAMETER',
          firstError(gatewayRequestValidator, parsed),
        );
      }
      const request: GatewayRequest = parsed;
      const key = merchantKeys.get(request.merchantId);
      if (!key)
        return refuse(
          reply,
          request.nonce,
          'INVALID_MERCHANT',
          `merchant ${request.merchantId} is not registered`,
        );
      if (!verifyParams(request, key))
        return refuse(reply, request.nonce, 'INVALID_SIGNATURE', 'signature invalid');
      const nowMs = clock().getTime();
      if (Math.abs(Date.parse(request.timestamp) - nowMs) > skewMs) {
        return refuse(reply, request.nonce, 'INVALID_TIMESTAMP', 'timestamp too far from the wallet clock');
      }
      if (!nonces.add(`${request.merchantId}:${request.nonce}`, nowMs)) {
        return refuse(reply, request.nonce, 'NONCE_REUSED', 'this request was already received');
      }
      if (f.issuerDown)
        return refuse(reply, request.nonce, 'SYSTEM_ERROR', 'the wallet is unavailable; retry later');

      let res: Omit<GatewayResponse, 'sign' | 'nonce'>;
      try {
        const bizContent = apply(request);
        res = { code: gatewayCodes.success, msg: 'Success', bizContent };
      } catch (err) {
        if (err instanceof QrWalletError) {
          res = {
            code: gatewayCodeOf(err.code),
            msg: err.message.slice(0, 256),
            subCode: err.code,
            bizContent: {},
          };
        } else {
          // A bug or a busy database: the transaction rolled back, nothing was applied.
          req.log.error({ err, method: request.method }, 'qr wallet gateway failed');
          res = {
            code: gatewayCodes.unavailable,
            msg: 'system error',
            subCode: 'SYSTEM_ERROR',
            bizContent: {},
          };
        }
      }
      if (dropAfter) return cut(req, reply);
      if (random() < f.timeoutRate) {
        await sleep(holdMs);
        if (closing) return cut(req, reply);
      }
      return answer(reply, request.nonce, res);
    });

    function apply(request: GatewayRequest): Record<string, unknown> {
      const method: QrMethod = request.method;
      const validator = bizValidators[method];
      if (!validator.Check(request.bizContent)) {
        throw new QrWalletError(
          'INVALID_PARAMETER',
          `bizContent ${firstError(validator, request.bizContent)}`,
        );
      }
      const m = request.merchantId;
      const biz = request.bizContent as never;
      const { ledger } = opts;
      const handlers: { [K in QrMethod]: (b: MethodTypes[K]['biz']) => MethodTypes[K]['result'] } = {
        'trade.pay': (b) => ledger.pay(m, b),
        'trade.query': (b) => ledger.queryTrade(m, b),
        'trade.cancel': (b) => ledger.cancel(m, b),
        'trade.refund': (b) => ledger.refund(m, b, opts.refundDelayMs),
        'trade.refund.query': (b) => ledger.queryRefund(m, b.outRequestNo),
        'settle.batch': (b) => ledger.settleBatch(m, b),
        'system.echo': () => ({ time: clock().toISOString() }),
      };
      return handlers[method](biz) as unknown as Record<string, unknown>;
    }

    // The finish-and-notify loop. One pass at a time; notifications are at-least-once.
    let running = false;
    const tick = async () => {
      if (running || closing) return;
      running = true;
      try {
        opts.ledger.finishDueRefunds();
        await deliverDue();
      } catch (err) {
        app.log.error({ err }, 'qr wallet tick failed');
      } finally {
        running = false;
      }
    };
    const deliverDue = async () => {
      const due = opts.ledger.dueNotifications();
      await Promise.all(
        due.map(async (n) => {
          const url = opts.merchantNotifyUrls?.get(n.merchantId);
          if (!url) {
            opts.ledger.markNotifyFailed(n.id, 'no notify url registered', null);
            return;
          }
          const unsigned = { ...n.payload, notifyTime: clock().toISOString(), signType: 'RSA2' as const };
          const body: RefundNotification = { ...unsigned, sign: signParams(unsigned, walletKey) };
          try {
            await notify(url, body);
            opts.ledger.markNotified(n.id);
          } catch (err) {
            const attempt = n.attempts + 1;
            const next = attempt >= maxNotifyAttempts ? null : new Date(clock().getTime() + backoff(attempt));
            opts.ledger.markNotifyFailed(n.id, err instanceof Error ? err.message : String(err), next);
          }
        }),
      );
    };
    let timer: NodeJS.Timeout | null = null;
    app.addHook('onReady', async () => {
      timer = setInterval(() => void tick(), tickMs);
    });
    app.addHook('preClose', async () => {
      closing = true;
      if (timer) clearInterval(timer);
      for (const wake of [...sleepers]) wake();
    });
    app.addHook('onClose', async () => {
      while (running) await new Promise((r) => setTimeout(r, 5));
    });
  };
}
