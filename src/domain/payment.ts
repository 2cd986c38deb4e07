import { invariant } from './errors.js';

export const paymentMethods = ['card', 'qr', 'cash'] as const;
export type PaymentMethod = (typeof paymentMethods)[number];

export type PaymentStatus = 'captured' | 'voided' | 'refunded' | 'partially_refunded';

export interface LineItem {
  sku: string;
  name: string;
  qty: number;
  unitAmountMinor: number;
  /** Units already refunded or reserved by refunds in flight. */
  refundedQty: number;
}

/** What the domain needs to know about a payment to decide on a reverse transaction. */
export interface PaymentState {
  id: string;
  merchantId: string;
  orderNo: string;
  kind: 'sale' | 'charge';
  amountMinor: number;
  currency: string;
  method: PaymentMethod;
  /** Acquirer fee on the sale (MDR), in minor units. */
  feeMinor: number;
  voided: boolean;
  settled: boolean;
  capturedAt: Date;
  /** Sum of succeeded refunds. */
  refundedMinor: number;
  /** Sum of refunds requested, under review, approved or processing. */
  inFlightMinor: number;
  items: LineItem[];
}

/** captured − succeeded − in flight: the most any new refund may take. */
export function refundableMinor(p: PaymentState): number {
  if (p.voided) return 0;
  const remaining = p.amountMinor - p.refundedMinor - p.inFlightMinor;
  assertTotals(p);
  return remaining;
}

export function paymentStatus(p: PaymentState): PaymentStatus {
  if (p.voided) return 'voided';
  if (p.refundedMinor === 0) return 'captured';
  return p.refundedMinor >= p.amountMinor ? 'refunded' : 'partially_refunded';
}

/** The ledger's central invariant, asserted wherever totals are read or written. */
export function assertTotals(p: Pick<PaymentState, 'amountMinor' | 'refundedMinor' | 'inFlightMinor'>): void {
  invariant(p.refundedMinor >= 0, `refunded total is negative (${p.refundedMinor})`);
  invariant(p.inFlightMinor >= 0, `in-flight total is negative (${p.inFlightMinor})`);
  invariant(
    p.refundedMinor + p.inFlightMinor <= p.amountMinor,
    `refunds ${p.refundedMinor} + in flight ${p.inFlightMinor} exceed captured ${p.amountMinor}`,
  );
}

export function maskPan(pan: string): { last4: string; masked: string; bin: string } {
  const digits = pan.replace(/\D/g, '');
  invariant(digits.length >= 12 && digits.length <= 19, 'a PAN has 12 to 19 digits');
  const bin = digits.slice(0, 6);
  const last4 = digits.slice(-4);
  return { bin, last4, masked: `${bin}${'*'.repeat(digits.length - 10)}${last4}` };
}

/** Luhn check digit validation of a card number. */
export function luhnValid(pan: string): boolean {
  if (!/^\d{12,19}$/.test(pan)) return false;
  let sum = 0;
  for (let i = 0; i < pan.length; i++) {
    let d = pan.charCodeAt(pan.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The acquirer's merchant discount rate per method, in basis points (card 0.6 %, QR 0.38 %). */
export const acquirerFeeBps: Readonly<Record<PaymentMethod, number>> = { card: 60, qr: 38, cash: 0 };

/** The fee the acquirer keeps on a sale, rounded down to the fen. */
export function acquirerFeeMinor(amountMinor: number, method: PaymentMethod): number {
  return Math.floor((amountMinor * acquirerFeeBps[method]) / 10_000);
}
