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
  /** Patterns that send a refund to the review queue even with valid counter approvals. */
  riskRules: RiskRules;
  /** How long a return QR's link works, in minutes (扫码退货; issue 12). */
  returnLinkMinutes: number;
  /** The merchant's return policy, shown to the consumer on the return page. */
  returnPolicyText: string;
}

/** The longest return policy text the return page shows. */
export const MAX_RETURN_POLICY_TEXT = 1_000;

/**
 * Risk rules (issue 11): a refund that trips one is created `requested` — it waits in the review
 * queue, its counter approvals kept — whatever approvals it brought. Whole numbers; null: the rule
 * is off. Decided in domain/risk.ts.
 */
export interface RiskRules {
  /** An operator who already created this many refunds in the last 60 minutes has the next one held. */
  operatorRefundsPerHour: number | null;
  /** Refunds on one card across more than this many different orders in a business day are held. */
  cardRefundsPerDay: number | null;
  /** A refund above this percentage of the merchant's sales of the business day is held. */
  shareOfDaySalesPercent: number | null;
}

/** The range of each rule's value when it is on. */
export const riskRuleRanges: Readonly<Record<keyof RiskRules, { min: number; max: number }>> = {
  operatorRefundsPerHour: { min: 1, max: 1_000 },
  cardRefundsPerDay: { min: 1, max: 100 },
  shareOfDaySalesPercent: { min: 1, max: 1_000 },
};

/**
 * What the back office offers when a merchant switches a rule on: ten refunds an hour is more than a
 * busy till makes (one every six minutes); a card refunded on a fourth different order in a day is
 * the pattern of cashing out through refunds; a single refund above half of the day's takings is
 * one a supervisor should see. They are not the defaults: see `defaultPolicy`.
 */
export const suggestedRiskRules: Readonly<RiskRules> = {
  operatorRefundsPerHour: 10,
  cardRefundsPerDay: 3,
  shareOfDaySalesPercent: 50,
};

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
  // Off until the merchant switches them on. Every stored policy without rules reads these
  // (`policyOf`), so a value here would start holding refunds of every existing merchant with no
  // policy change of theirs in the audit log; and a share rule on by default holds the first
  // refund of every quiet morning (a refund of yesterday's sale against today's sales of 0).
  riskRules: { operatorRefundsPerHour: null, cardRefundsPerDay: null, shareOfDaySalesPercent: null },
  returnLinkMinutes: 30,
  returnPolicyText:
    '商品自购买之日起 7 日内可退货，请保持商品完好、配件齐全。退款按原支付方式退回；门店验货通过后发起退款，到账时间以银行或支付机构为准。',
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
  if (!Number.isSafeInteger(p.returnLinkMinutes) || p.returnLinkMinutes < 5 || p.returnLinkMinutes > 1_440)
    fail('returnLinkMinutes must be a whole number of minutes from 5 to 1440');
  if (p.returnPolicyText.length > MAX_RETURN_POLICY_TEXT)
    fail(`returnPolicyText may be at most ${MAX_RETURN_POLICY_TEXT} characters`);
  for (const [rule, { min, max }] of Object.entries(riskRuleRanges)) {
    const value = p.riskRules[rule as keyof RiskRules];
    if (value === null) continue;
    if (!Number.isSafeInteger(value) || value < min || value > max)
      fail(`riskRules.${rule} must be null (off) or a whole number from ${min} to ${max}`);
  }
  return p;
}

export function requiredApprovals(policy: Policy, amountMinor: number): 1 | 2 {
  return amountMinor >= policy.largeRefundThreshold ? 2 : 1;
}
