/**
 * Money rules that mutation testing (issue 9, docs/mutation-report.md) found unguarded: each test
 * here fails if the rule it names is changed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explainOutcome } from '../../src/domain/outcomes.js';
import { acquirerFeeBps, acquirerFeeMinor, paymentMethods } from '../../src/domain/payment.js';
import { defaultPolicy } from '../../src/domain/policy.js';
import { decideRefund, type RefundRequest } from '../../src/domain/refund.js';
import { context, domainError, lineItems, payment } from './fixtures.js';

const request = (overrides: Partial<RefundRequest> = {}): RefundRequest => ({
  reason: { code: 'quality_issue' },
  method: 'original',
  ...overrides,
});

describe('the acquirer fee on a sale', () => {
  it('is 0.6 % on card, 0.38 % on QR, nothing on cash, rounded down to the fen', () => {
    expect(acquirerFeeBps).toEqual({ card: 60, qr: 38, cash: 0 });
    expect(acquirerFeeMinor(10_000, 'card')).toBe(60);
    expect(acquirerFeeMinor(10_000, 'qr')).toBe(38);
    expect(acquirerFeeMinor(10_000, 'cash')).toBe(0);
    // 0.6 % of ¥1.99 is 1.194 fen: the acquirer keeps 1.
    expect(acquirerFeeMinor(199, 'card')).toBe(1);
    expect(acquirerFeeMinor(166, 'card')).toBe(0);
  });

  it('never exceeds the exact share nor falls a whole fen below it (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000_00 }), fc.constantFrom(...paymentMethods), (a, m) => {
        const fee = acquirerFeeMinor(a, m);
        const exact = (a * acquirerFeeBps[m]) / 10_000;
        expect(fee).toBeLessThanOrEqual(exact);
        expect(fee).toBeGreaterThan(exact - 1);
        expect(Number.isInteger(fee)).toBe(true);
      }),
    );
  });
});

describe('a refund request that is malformed', () => {
  // On a payment with nothing left, a malformed request must still be told it is malformed.
  const fullyRefunded = context({ payment: payment({ refundedMinor: 10_000 }) });

  it('is validation_failed for a zero, negative or fractional amount, whatever the payment holds', () => {
    for (const amountMinor of [0, -1, -10_000, 0.5, 100.5, Number.NaN]) {
      domainError(() => decideRefund(context(), request({ amountMinor })), 'validation_failed');
      domainError(() => decideRefund(fullyRefunded, request({ amountMinor })), 'validation_failed');
    }
  });

  it('is validation_failed for an empty item list, whatever the payment holds', () => {
    domainError(() => decideRefund(context(), request({ items: [] })), 'validation_failed');
    domainError(() => decideRefund(fullyRefunded, request({ items: [] })), 'validation_failed');
  });

  it('says refund_exceeds_refundable when a well-formed refund finds nothing left', () => {
    const err = domainError(() => decideRefund(fullyRefunded, request()), 'refund_exceeds_refundable');
    expect(err.extra).toMatchObject({ refundableAmount: 0 });
  });

  it('is validation_failed, not "nothing left", for items that come to nothing on a payment with money left', () => {
    const items = [
      ...lineItems(),
      { sku: 'BAG', name: 'Free bag', qty: 1, unitAmountMinor: 0, refundedQty: 0 },
    ];
    domainError(
      () =>
        decideRefund(context({ payment: payment({ items }) }), request({ items: [{ sku: 'BAG', qty: 1 }] })),
      'validation_failed',
    );
  });

  it('refuses a fractional, zero or negative quantity, also beside a valid line', () => {
    for (const qty of [0, -1, 1.5]) {
      domainError(
        () => decideRefund(context(), request({ items: [{ sku: 'TEA', qty }] })),
        'validation_failed',
      );
      domainError(
        () =>
          decideRefund(
            context(),
            request({
              items: [
                { sku: 'TEA', qty: 2 },
                { sku: 'CUP', qty },
              ],
            }),
          ),
        'validation_failed',
      );
    }
  });
});

describe('what a response code tells the people waiting', () => {
  it('a delay code on a refund still in flight names the expected arrival date, or where to find it', () => {
    for (const code of ['91', '96']) {
      const dated = explainOutcome(code, 'processing', { expectedArrival: '2026-09-25' });
      expect(dated?.kind).toBe('delay');
      expect(dated?.fix.en).toContain('2026-09-25');
      expect(dated?.fix['zh-CN']).toContain('2026-09-25');
      // The fix says first that nothing needs doing, then when the money arrives, in every language.
      expect(dated?.fix.en).toMatch(
        /^Nothing to do: the refund is retried automatically\. The money should arrive by 2026-09-25;/,
      );
      expect(dated?.fix['zh-CN']).toMatch(/^无需处理：系统会自动重试。预计 2026-09-25 前到账；/);
      expect(dated?.fix['zh-TW']).toMatch(/^無需處理：系統會自動重試。預計 2026-09-25 前入帳；/);
      const undated = explainOutcome(code, 'processing');
      expect(undated?.fix.en).toMatch(/expected arrival date shown on the refund/);
      expect(undated?.fix['zh-CN']).toMatch(/预计到账日期见退款详情/);
      expect(undated?.fix['zh-TW']).toMatch(/預計入帳日期請見退款明細/);
    }
  });

  it('a success says the money goes back the original route, and by when', () => {
    const done = explainOutcome('00', 'succeeded', { expectedArrival: '2026-09-25' });
    expect(done?.kind).toBe('success');
    expect(done?.fix.en).toMatch(
      /^Nothing to do; an original-route refund can only go back to the account that paid.*2026-09-25/,
    );
    expect(done?.fix['zh-CN']).toMatch(/^无需处理；原路退款只会退回原付款账户.*2026-09-25/);
    expect(done?.fix['zh-TW']).toMatch(/^無需處理；原路退款只會退回原付款帳戶.*2026-09-25/);
  });

  it('a refund past its time with no code yet is explained by the `delayed` entry, only while in flight', () => {
    expect(explainOutcome(null, 'processing', { delayed: true })?.code).toBe('delayed');
    expect(explainOutcome(null, 'processing', { delayed: false })).toBeNull();
    expect(explainOutcome(null, 'succeeded', { delayed: true })).toBeNull();
  });

  it('a failure code on a failed refund keeps its own fix; only a delay code turns into "gave up"', () => {
    const insufficient = explainOutcome('51', 'failed');
    expect(insufficient?.kind).toBe('failure');
    expect(insufficient?.fix).toEqual(explainOutcome('51', 'processing')?.fix);
    const gaveUp = explainOutcome('96', 'failed');
    expect(gaveUp?.kind).toBe('failure');
    expect(gaveUp?.fix).not.toEqual(explainOutcome('96', 'processing')?.fix);
  });
});

describe('the default policy', () => {
  it('locks an operator for 15 minutes after 5 wrong passwords', () => {
    expect(defaultPolicy.lockout).toEqual({ maxAttempts: 5, minutes: 15 });
  });
});
