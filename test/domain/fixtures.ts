import { expect } from 'vitest';
import { DomainError, type ErrorCode } from '../../src/domain/errors.js';
import type { LineItem, PaymentState } from '../../src/domain/payment.js';
import { defaultPolicy, type Policy } from '../../src/domain/policy.js';
import type { RefundContext, VerifiedApproval } from '../../src/domain/refund.js';
import { loadCalendarFile } from '../../src/store/calendar-file.js';

/** The shipped PRC business calendar, loaded the way the product loads it. */
export const calendar = loadCalendarFile();

/** Friday 2026-09-18, 10:00 in Shanghai: an ordinary business day. */
export const T0 = new Date('2026-09-18T02:00:00Z');

export const DAY_MS = 86_400_000;

export function lineItems(): LineItem[] {
  return [
    { sku: 'TEA', name: 'Green tea', qty: 3, unitAmountMinor: 2_000, refundedQty: 0 },
    { sku: 'CUP', name: 'Cup', qty: 2, unitAmountMinor: 2_000, refundedQty: 0 },
  ];
}

/** A captured card sale of ¥100.00 (fee ¥0.60) made at T0, with items worth exactly the amount. */
export function payment(overrides: Partial<PaymentState> = {}): PaymentState {
  return {
    id: 'pay_1',
    merchantId: 'mch_1',
    orderNo: 'ORD-1',
    kind: 'sale',
    amountMinor: 10_000,
    currency: 'CNY',
    method: 'card',
    feeMinor: 60,
    voided: false,
    settled: false,
    capturedAt: T0,
    refundedMinor: 0,
    inFlightMinor: 0,
    items: lineItems(),
    ...overrides,
  };
}

export function policy(overrides: Partial<Policy> = {}): Policy {
  return {
    ...defaultPolicy,
    refundWindowDays: { ...defaultPolicy.refundWindowDays },
    feeRule: { ...defaultPolicy.feeRule },
    methods: [...defaultPolicy.methods],
    reasons: [...defaultPolicy.reasons],
    arrivalBusinessDays: { ...defaultPolicy.arrivalBusinessDays },
    lockout: { ...defaultPolicy.lockout },
    ...overrides,
  };
}

export function approval(operatorNo: string, at: Date = T0): VerifiedApproval {
  return { operatorId: `op_${operatorNo}`, operatorNo, at };
}

export function context(overrides: Partial<RefundContext> = {}): RefundContext {
  return {
    payment: payment(),
    policy: policy(),
    now: T0,
    calendar,
    merchantTodayMinor: 0,
    merchantAvailableMinor: 1_000_000_00,
    approvals: [approval('00')],
    ...overrides,
  };
}

/** Runs `fn`, expects it to throw a DomainError with `code`, and returns the error for further checks. */
export function domainError(fn: () => unknown, code: ErrorCode): DomainError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected DomainError ${code}`).toBeInstanceOf(DomainError);
  const error = caught as DomainError;
  expect(error.code, error.message).toBe(code);
  return error;
}
