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
}

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
  /** Send a reversal (冲正) queued in the outbox; resolves once the host acknowledged it. */
  reverse?(payload: unknown): Promise<void>;
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
