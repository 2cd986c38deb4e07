import type { PaymentMethod } from '../domain/payment.js';
import {
  type LinkStatus,
  type NetworkPort,
  type NetworkResult,
  NetworkUnavailableError,
  type QrReversal,
  type RefundSubmission,
  type ReversalPayload,
  type SaleLookup,
  type SaleLookupResult,
  type SaleRequest,
  type SaleResult,
  type SettlementRequest,
  type SettlementTotals,
  type SubmitAck,
  type VoidRequest,
} from './port.js';

const zero = () => ({ count: 0, amountMinor: 0 });

export type { QrReversal } from './port.js';

/**
 * One port in front of several networks: card payments go to the card link (ISO 8583), QR
 * payments to the wallet. Adding a network is a new entry here, not edits across the code.
 */
export class RoutingPort implements NetworkPort {
  readonly name: string;

  constructor(
    private readonly routes: {
      card: NetworkPort;
      qr: NetworkPort;
      /** Queue a reversal (outbox) for a QR sale that got no answer: it may have been applied. */
      queueReversal?: (payload: QrReversal) => Promise<void>;
    },
  ) {
    this.name = `card:${routes.card.name}+qr:${routes.qr.name}`;
  }

  private of(method: PaymentMethod): NetworkPort {
    return method === 'qr' ? this.routes.qr : this.routes.card;
  }

  echo(): Promise<boolean> {
    return this.routes.card.echo();
  }

  /** The card link's state decides (the wallet is reached per request over HTTPS). */
  async status(): Promise<LinkStatus> {
    const card = this.routes.card;
    if (card.status) return card.status();
    return (await card.echo()) ? 'up' : 'down';
  }

  /**
   * The card link reverses every request it got no answer to before it sends anything else, so
   * whatever it could not finish will not stand at the network: say so to the caller.
   */
  private async viaCard<T>(method: PaymentMethod, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (method !== 'qr' && err instanceof NetworkUnavailableError && err.outcome !== 'not_applied')
        throw new NetworkUnavailableError(err.message, 'not_applied');
      throw err;
    }
  }

  async authorizeSale(req: SaleRequest): Promise<SaleResult> {
    try {
      return await this.viaCard(req.method, () => this.of(req.method).authorizeSale(req));
    } catch (err) {
      // A QR sale that got no answer is cancelled by its id (the wallet closes or refunds it).
      if (req.method === 'qr' && err instanceof NetworkUnavailableError && this.routes.queueReversal) {
        await this.routes.queueReversal({
          network: 'qr',
          requestId: req.requestId,
          merchantId: req.merchantId,
        });
        throw new NetworkUnavailableError(err.message, 'not_applied');
      }
      throw err;
    }
  }

  lookupSale(req: SaleLookup): Promise<SaleLookupResult> {
    return this.of(req.method).lookupSale(req);
  }

  /** A QR void (the wallet's cancel) that got no answer may have happened: `unknown`. */
  voidSale(req: VoidRequest) {
    return this.viaCard(req.method, () => this.of(req.method).voidSale(req));
  }

  submitRefund(req: RefundSubmission): Promise<SubmitAck> {
    return this.of(req.method).submitRefund(req);
  }

  async queryRefund(requestId: string, method?: PaymentMethod): Promise<NetworkResult | null> {
    if (method) return this.of(method).queryRefund(requestId, method);
    return (await this.routes.card.queryRefund(requestId)) ?? this.routes.qr.queryRefund(requestId);
  }

  /** Each network settles its own part of the batch; their totals are added up. */
  async settle(req: SettlementRequest): Promise<SettlementTotals> {
    const total: SettlementTotals = { sales: zero(), refunds: zero(), voids: zero() };
    for (const method of ['card', 'qr'] as const) {
      const local = req.byMethod?.[method] ?? { sales: zero(), refunds: zero(), voids: zero() };
      const part = await this.of(method).settle({ ...req, local });
      for (const b of ['sales', 'refunds', 'voids'] as const) {
        total[b].count += part[b].count;
        total[b].amountMinor += part[b].amountMinor;
      }
    }
    return total;
  }

  async reverse(payload: ReversalPayload): Promise<void> {
    const target = payload.network === 'qr' ? this.routes.qr : this.routes.card;
    if (!target.reverse) throw new Error(`network ${target.name} has no reversals`);
    await target.reverse(payload);
  }

  onResult(handler: (r: NetworkResult) => Promise<void>): void {
    this.routes.card.onResult(handler);
    this.routes.qr.onResult(handler);
  }

  async close(): Promise<void> {
    await this.routes.card.close();
    await this.routes.qr.close();
  }
}
