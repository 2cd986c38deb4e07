import { DomainError } from './errors.js';
import type { PaymentMethod } from './payment.js';

export const reasonCodes = [
  'quality_issue',
  'service_not_provided',
  'expired_goods',
  'transaction_error',
  'duplicate_payment',
  'other',
] as const;
export type ReasonCode = (typeof reasonCodes)[number];

export const refundMethods = ['original', 'cash', 'bank_transfer'] as const;
export type RefundMethod = (typeof refundMethods)[number];

export interface FeeRule {
  /** The acquirer fee (MDR) on the original sale: returned to the merchant pro rata, or kept. */
  originalFee: 'prorata' | 'kept';
  /** Fixed handling fee in minor units charged to the consumer per refund (0 = none). */
  handlingFee: number;
}

export interface Policy {
  refundsEnabled: boolean;
  refundWindowDays: Record<PaymentMethod, number>;
  /** Per-refund cap in minor units. */
  maxRefundAmount: number;
  /** Cap on the sum of a merchant's refunds created per Shanghai calendar day. */
  dailyRefundLimit: number;
  /** At or above this amount a second, different supervisor must approve (双人核对). */
  largeRefundThreshold: number;
  feeRule: FeeRule;
  methods: RefundMethod[];
  reasons: ReasonCode[];
  /** Business days until money reaches the consumer, per refund route. */
  arrivalBusinessDays: { card: number; qr: number; cash: number; bank_transfer: number };
  /** Wrong refund passwords before a supervisor is locked, and for how long. */
  lockout: { maxAttempts: number; minutes: number };
}

export const defaultPolicy: Policy = {
  refundsEnabled: true,
  refundWindowDays: { card: 30, qr: 365, cash: 7 },
  maxRefundAmount: 5_000_000, // ¥50,000
  dailyRefundLimit: 20_000_000, // ¥200,000
  largeRefundThreshold: 500_000, // ¥5,000
  feeRule: { originalFee: 'prorata', handlingFee: 0 },
  methods: ['original', 'cash', 'bank_transfer'],
  reasons: [...reasonCodes],
  arrivalBusinessDays: { card: 3, qr: 1, cash: 0, bank_transfer: 2 },
  lockout: { maxAttempts: 5, minutes: 15 },
};

/** Cross-field rules the schema alone cannot say. */
export function validatePolicy(p: Policy): Policy {
  const fail = (detail: string) => {
    throw new DomainError('validation_failed', detail);
  };
  if (p.maxRefundAmount > p.dailyRefundLimit) fail('maxRefundAmount cannot exceed dailyRefundLimit');
  if (p.methods.length === 0) fail('at least one refund method must be allowed');
  if (p.reasons.length === 0) fail('at least one reason must be in use');
  if (new Set(p.methods).size !== p.methods.length) fail('methods must not repeat');
  if (new Set(p.reasons).size !== p.reasons.length) fail('reasons must not repeat');
  if (p.lockout.maxAttempts < 1) fail('lockout.maxAttempts must be at least 1');
  return p;
}

export function requiredApprovals(policy: Policy, amountMinor: number): 1 | 2 {
  return amountMinor >= policy.largeRefundThreshold ? 2 : 1;
}
