/**
 * The one interface every payment network sits behind (Hyperswitch's connector idea): the
 * in-process acquirer today, ISO 8583 card hosts and QR wallets as further adapters.
 * Adapters turn our requests into their messages and their answers into these results.
 */
import type { PaymentMethod } from '../domain/payment.js';

export interface SaleRequest {
  /** Our payment id: the network deduplicates on it. */
  requestId: string;
  merchantId: string;
  terminalId: string | null;
  orderNo: string;
  amountMinor: number;
  currency: string;
  method: PaymentMethod;
  cardToken?: string | undefined;
  /** Card data for the authorisation message only: never stored, never logged. */
  pan?: string | undefined;
  expiry?: string | undefined;
}

export interface SaleResult {
  approved: boolean;
  reference: string;
  responseCode: string;
}

export interface VoidRequest {
  requestId: string;
  merchantId: string;
  terminalId: string | null;
  method: PaymentMethod;
  originalReference: string;
  amountMinor: number;
  currency: string;
}

export interface RefundSubmission {
  /** Our refund id: resubmitting the same id never refunds twice. */
  requestId: string;
  merchantId: string;
  terminalId: string | null;
  /** How the original was paid: decides which network gets the refund. */
  method: PaymentMethod;
  originalReference: string;
  amountMinor: number;
  currency: string;
  reason: { code: string; note: string | null };
}

export type SubmitAck =
  | { kind: 'accepted'; reference: string }
  | { kind: 'declined'; reference: string | null; responseCode: string };

export interface NetworkResult {
  requestId: string;
  reference: string;
  outcome: 'succeeded' | 'failed';
  responseCode: string;
  /** The amount the network says it refunded, when its message carries one (minor units). */
  amountMinor?: number;
}

/**
 * A result that does not fit the refund it names (another amount): it is not applied. The
 * refund stays `processing` until a status query or a correct message settles it.
 */
export class ResultMismatchError extends Error {}

export interface SettlementTotals {
  sales: { count: number; amountMinor: number };
  refunds: { count: number; amountMinor: number };
  voids: { count: number; amountMinor: number };
}

export interface SettlementRequest {
  merchantId: string;
  terminalId: string;
  batchNo: number;
  local: SettlementTotals;
  /** The same totals split by payment method, for ports that route to several networks. */
  byMethod?: Partial<Record<PaymentMethod, SettlementTotals>>;
}

/** Outbox kind of the reversals a card link queues when a request went unanswered. */
export const REVERSE_KIND = 'network.reverse';

/** 冲正 of one card attempt that got no usable answer (a 0400 for its trace number). */
export interface CardReversal {
  network: 'card';
  attemptId: string;
}

/** A QR sale that got no answer, cancelled by our payment id (the wallet refunds or closes it). */
export interface QrReversal {
  network: 'qr';
  requestId: string;
  merchantId: string;
}

/** What `reverse` undoes: the payload of a `network.reverse` outbox row. */
export type ReversalPayload = CardReversal | QrReversal;

/**
 * A `network.reverse` row's payload, checked. Rows queued before the payload was typed carry only
 * `{ attemptId }`: they are card reversals.
 */
export function parseReversal(payload: unknown): ReversalPayload {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  if (p.network === 'qr') {
    if (typeof p.requestId === 'string' && typeof p.merchantId === 'string')
      return { network: 'qr', requestId: p.requestId, merchantId: p.merchantId };
    throw new Error('a QR reversal needs { requestId, merchantId }');
  }
  if ((p.network === 'card' || p.network === undefined) && typeof p.attemptId === 'string')
    return { network: 'card', attemptId: p.attemptId };
  throw new Error(`not a reversal payload: ${JSON.stringify(payload)?.slice(0, 200)}`);
}

/** Which sale to look up: our payment id, and where it went. */
export interface SaleLookup {
  requestId: string;
  merchantId: string;
  method: PaymentMethod;
}

/**
 * What the network knows of a sale request:
 * - `approved` / `declined`: it answered (the approval stands at the network);
 * - `not_sent`: the request never reached it, or what reached it was undone (reversed, or the
 *   order closed) — nothing stands and nothing will;
 * - `pending`: it may still be working on it, or an unanswered attempt is being reversed: ask again later.
 */
export type SaleLookupResult =
  | { state: 'approved'; reference: string }
  | { state: 'declined'; responseCode: string }
  | { state: 'not_sent' }
  | { state: 'pending' };

/**
 * What the network may hold after a request that got no usable answer:
 * - `not_applied`: nothing was sent, or what was sent is being reversed (the card link reverses
 *   every unanswered request before anything else), so the network will not keep it;
 * - `unknown`: it may have been applied and cannot be reversed (a wallet's cancel is final) —
 *   the caller must ask the network again before it decides anything.
 */
export type UnavailableOutcome = 'not_applied' | 'unknown';

/** The network could not be reached or did not answer. */
export class NetworkUnavailableError extends Error {
  readonly outcome: UnavailableOutcome;
  constructor(message: string, outcome: UnavailableOutcome = 'unknown') {
    super(message);
    this.name = 'NetworkUnavailableError';
    this.outcome = outcome;
  }
}

/** The link as health shows it: `degraded` is connected but unable to transact (keys bad). */
export type LinkStatus = 'up' | 'degraded' | 'down';

export interface NetworkPort {
  readonly name: string;
  /** The link's state without sending anything that consumes a trace number (cached echo). */
  status?(): Promise<LinkStatus>;
  /** Echo test (0820): is the link up? */
  echo(): Promise<boolean>;
  authorizeSale(req: SaleRequest): Promise<SaleResult>;
  /**
   * What became of a sale request, without sending it again (no card number needed): for a sale
   * whose request died before it could record the answer.
   */
  lookupSale(req: SaleLookup): Promise<SaleLookupResult>;
  voidSale(req: VoidRequest): Promise<{ approved: boolean; responseCode: string }>;
  /** Hand a refund to the acquirer; the outcome arrives later through `onResult` or `queryRefund`. */
  submitRefund(req: RefundSubmission): Promise<SubmitAck>;
  /** The final outcome, or null while the network is still working on it. */
  queryRefund(requestId: string, method?: PaymentMethod): Promise<NetworkResult | null>;
  /**
   * Close a terminal's batch (批结算) on the network, telling it our totals; returns the network's
   * totals for the same batch.
   */
  settle(req: SettlementRequest): Promise<SettlementTotals>;
  /** Send a reversal (冲正) queued in the outbox; resolves once the network acknowledged it. */
  reverse?(payload: ReversalPayload): Promise<void>;
  onResult(handler: (r: NetworkResult) => Promise<void>): void;
  close(): Promise<void>;
}

/** ISO 8583 response codes used across adapters, and what they mean for a refund. */
export const responseCodes = {
  approved: '00',
  invalidTransaction: '12',
  invalidAmount: '13',
  originalNotFound: '25',
  insufficientFunds: '51',
  notPermitted: '57',
  issuerUnavailable: '91',
  systemError: '96',
} as const;
