import { describe, expect, it } from 'vitest';
import {
  defaultPolicy,
  reasonCodes,
  refundMethods,
  requiredApprovals,
  validatePolicy,
} from '../../src/domain/policy.js';
import { domainError, policy } from './fixtures.js';

describe('default policy (PRODUCT.md §9)', () => {
  it('has refunds enabled with windows of 30 days for cards, 365 for QR and 7 for cash', () => {
    expect(defaultPolicy.refundsEnabled).toBe(true);
    expect(defaultPolicy.refundWindowDays).toEqual({ card: 30, qr: 365, cash: 7 });
  });

  it('asks for two-person approval from ¥5,000 (500000 fen)', () => {
    expect(defaultPolicy.largeRefundThreshold).toBe(500_000);
  });

  it('allows every refund method and every reason code, and is itself valid', () => {
    expect(defaultPolicy.methods).toEqual([...refundMethods]);
    expect(defaultPolicy.reasons).toEqual([...reasonCodes]);
    expect(validatePolicy(policy())).toEqual(defaultPolicy);
  });

  it('uses the contract reason codes', () => {
    expect([...reasonCodes]).toEqual([
      'quality_issue',
      'service_not_provided',
      'expired_goods',
      'transaction_error',
      'duplicate_payment',
      'other',
    ]);
    expect([...refundMethods]).toEqual(['original', 'cash', 'bank_transfer']);
  });
});

describe('validatePolicy', () => {
  it('refuses a per-refund cap above the daily cap', () => {
    domainError(
      () => validatePolicy(policy({ maxRefundAmount: 101, dailyRefundLimit: 100 })),
      'validation_failed',
    );
    expect(() => validatePolicy(policy({ maxRefundAmount: 100, dailyRefundLimit: 100 }))).not.toThrow();
  });

  it('refuses an empty list of methods or reasons', () => {
    domainError(() => validatePolicy(policy({ methods: [] })), 'validation_failed');
    domainError(() => validatePolicy(policy({ reasons: [] })), 'validation_failed');
  });

  it('refuses a method or reason listed twice', () => {
    domainError(() => validatePolicy(policy({ methods: ['cash', 'cash'] })), 'validation_failed');
    domainError(() => validatePolicy(policy({ reasons: ['other', 'other'] })), 'validation_failed');
  });

  it('refuses a lockout that never locks', () => {
    domainError(
      () => validatePolicy(policy({ lockout: { maxAttempts: 0, minutes: 15 } })),
      'validation_failed',
    );
    expect(() => validatePolicy(policy({ lockout: { maxAttempts: 1, minutes: 15 } }))).not.toThrow();
  });

  it('returns the policy it accepted', () => {
    const p = policy({ methods: ['original'], reasons: ['quality_issue'] });
    expect(validatePolicy(p)).toBe(p);
  });
});

describe('requiredApprovals', () => {
  it('needs one approval below the large-refund threshold', () => {
    expect(requiredApprovals(defaultPolicy, 499_999)).toBe(1);
    expect(requiredApprovals(defaultPolicy, 1)).toBe(1);
  });

  it('needs two approvals at and above the threshold', () => {
    expect(requiredApprovals(defaultPolicy, 500_000)).toBe(2);
    expect(requiredApprovals(defaultPolicy, 500_001)).toBe(2);
  });

  it('follows the merchant threshold', () => {
    expect(requiredApprovals(policy({ largeRefundThreshold: 100 }), 100)).toBe(2);
    expect(requiredApprovals(policy({ largeRefundThreshold: 100 }), 99)).toBe(1);
  });
});
