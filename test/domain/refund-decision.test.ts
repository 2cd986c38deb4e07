import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PaymentMethod } from '../../src/domain/payment.js';
import { reasonCodes } from '../../src/domain/policy.js';
import {
  approvalStatus,
  checkDistinctApprovers,
  decideAdjustment,
  decideApproval,
  decideRefund,
  decideVoid,
  expectedArrival,
  itemsAmount,
  type RefundContext,
  type RefundRequest,
} from '../../src/domain/refund.js';
import { refundStatuses } from '../../src/domain/refund-state.js';
import {
  approval,
  calendar,
  context,
  DAY_MS,
  domainError,
  lineItems,
  payment,
  policy,
  T0,
} from './fixtures.js';

const request = (overrides: Partial<RefundRequest> = {}): RefundRequest => ({
  reason: { code: 'quality_issue' },
  method: 'original',
  ...overrides,
});

const decide = (ctx: Partial<RefundContext> = {}, req: Partial<RefundRequest> = {}) =>
  decideRefund(context(ctx), request(req));

describe('decideRefund: preconditions', () => {
  it('refuses every refund when refunds are disabled in the policy', () => {
    domainError(() => decide({ policy: policy({ refundsEnabled: false }) }), 'refunds_disabled');
  });

  it('accepts each contract reason code the policy uses', () => {
    for (const code of reasonCodes) {
      const note = code === 'other' ? 'customer changed their mind' : undefined;
      expect(decide({}, { reason: { code, note } }).amountMinor, code).toBe(10_000);
    }
  });

  it('refuses "other" without a note, or with a blank one, with reason_required', () => {
    domainError(() => decide({}, { reason: { code: 'other' } }), 'reason_required');
    domainError(() => decide({}, { reason: { code: 'other', note: '' } }), 'reason_required');
    domainError(() => decide({}, { reason: { code: 'other', note: '  \n\t ' } }), 'reason_required');
  });

  it('refuses a reason the merchant does not use with reason_not_allowed', () => {
    const p = policy({ reasons: ['quality_issue', 'other'] });
    domainError(() => decide({ policy: p }, { reason: { code: 'expired_goods' } }), 'reason_not_allowed');
    expect(decide({ policy: p }, { reason: { code: 'quality_issue' } }).amountMinor).toBe(10_000);
  });

  it('refuses a refund method the policy does not allow with method_not_allowed', () => {
    const p = policy({ methods: ['original'] });
    domainError(() => decide({ policy: p }, { method: 'cash' }), 'method_not_allowed');
    domainError(() => decide({ policy: p }, { method: 'bank_transfer' }), 'method_not_allowed');
    expect(() => decide({ policy: p }, { method: 'original' })).not.toThrow();
  });

  it('refuses to refund a voided payment with payment_not_completed', () => {
    domainError(() => decide({ payment: payment({ voided: true }) }), 'payment_not_completed');
    domainError(
      () => decide({ payment: payment({ voided: true }) }, { amountMinor: 100 }),
      'payment_not_completed',
    );
  });

  it('does not change the payment, policy or approvals it was given', () => {
    const ctx = context({ approvals: [approval('00')] });
    const before = structuredClone(ctx);
    decideRefund(ctx, request({ items: [{ sku: 'TEA', qty: 2 }] }));
    expect(ctx).toEqual(before);
  });
});

describe('decideRefund: refund window per payment method', () => {
  const windows: [PaymentMethod, number][] = [
    ['card', 30],
    ['qr', 365],
    ['cash', 7],
  ];

  for (const [method, days] of windows) {
    it(`allows a ${method} refund exactly ${days} days after the sale`, () => {
      const now = new Date(T0.getTime() + days * DAY_MS);
      expect(decide({ payment: payment({ method }), now }).amountMinor).toBe(10_000);
    });

    it(`refuses a ${method} refund one millisecond past ${days} days with refund_window_expired`, () => {
      const now = new Date(T0.getTime() + days * DAY_MS + 1);
      const error = domainError(() => decide({ payment: payment({ method }), now }), 'refund_window_expired');
      expect(error.extra).toEqual({ refundWindowDays: days });
    });
  }

  it("follows the merchant's window for the payment's method, whatever the refund route", () => {
    const p = policy({ refundWindowDays: { card: 1, qr: 365, cash: 7 } });
    const now = new Date(T0.getTime() + 2 * DAY_MS);
    domainError(() => decide({ policy: p, now }, { method: 'bank_transfer' }), 'refund_window_expired');
    expect(() => decide({ policy: p, now, payment: payment({ method: 'qr' }) })).not.toThrow();
  });
});

describe('decideRefund: amount', () => {
  it('refunds the whole refundable remainder when no amount is given', () => {
    expect(decide().amountMinor).toBe(10_000);
    const partly = payment({ refundedMinor: 2_500, inFlightMinor: 1_500 });
    expect(decide({ payment: partly }).amountMinor).toBe(6_000);
  });

  it('refuses a full refund of an exhausted payment with refund_exceeds_refundable and a zero remainder', () => {
    const exhausted = payment({ refundedMinor: 7_000, inFlightMinor: 3_000 });
    const error = domainError(() => decide({ payment: exhausted }), 'refund_exceeds_refundable');
    expect(error.extra).toEqual({ refundableAmount: 0 });
  });

  it('refunds a partial amount and no items', () => {
    const d = decide({}, { amountMinor: 2_500 });
    expect(d.amountMinor).toBe(2_500);
    expect(d.items).toEqual([]);
  });

  it('refuses a zero, negative or fractional amount with validation_failed', () => {
    for (const amountMinor of [0, -1, 12.5, Number.NaN]) {
      domainError(() => decide({}, { amountMinor }), 'validation_failed');
    }
  });

  it('refuses a refund past the refundable remainder and says what is left', () => {
    const partly = payment({ refundedMinor: 3_000, inFlightMinor: 2_000 });
    const error = domainError(
      () => decide({ payment: partly }, { amountMinor: 5_001 }),
      'refund_exceeds_refundable',
    );
    expect(error.extra).toEqual({ refundableAmount: 5_000 });
    expect(decide({ payment: partly }, { amountMinor: 5_000 }).amountMinor).toBe(5_000);
  });

  it('refuses an amount and line items together', () => {
    domainError(
      () => decide({}, { amountMinor: 2_000, items: [{ sku: 'TEA', qty: 1 }] }),
      'validation_failed',
    );
  });
});

describe('decideRefund: by line items', () => {
  it('prices the units from the original line and lists them', () => {
    const d = decide({}, { items: [{ sku: 'TEA', qty: 2 }] });
    expect(d.amountMinor).toBe(4_000);
    expect(d.items).toEqual([{ sku: 'TEA', qty: 2, amountMinor: 4_000 }]);
  });

  it('sums several lines', () => {
    const d = decide(
      {},
      {
        items: [
          { sku: 'CUP', qty: 2 },
          { sku: 'TEA', qty: 1 },
        ],
      },
    );
    expect(d.amountMinor).toBe(6_000);
    expect(d.items).toEqual([
      { sku: 'CUP', qty: 2, amountMinor: 4_000 },
      { sku: 'TEA', qty: 1, amountMinor: 2_000 },
    ]);
  });

  it('refuses a sku that is not on the original payment', () => {
    domainError(() => decide({}, { items: [{ sku: 'NOPE', qty: 1 }] }), 'validation_failed');
  });

  it('refuses a sku listed twice', () => {
    domainError(
      () =>
        decide(
          {},
          {
            items: [
              { sku: 'TEA', qty: 1 },
              { sku: 'TEA', qty: 1 },
            ],
          },
        ),
      'validation_failed',
    );
  });

  it('refuses a quantity of zero, below zero or fractional', () => {
    for (const qty of [0, -1, 1.5])
      domainError(() => decide({}, { items: [{ sku: 'TEA', qty }] }), 'validation_failed');
  });

  it('refuses more units than are left and says how many are', () => {
    const items = lineItems().map((i) => (i.sku === 'TEA' ? { ...i, refundedQty: 2 } : i));
    const p = payment({ items, inFlightMinor: 4_000 });
    const error = domainError(
      () => decide({ payment: p }, { items: [{ sku: 'TEA', qty: 2 }] }),
      'refund_exceeds_refundable',
    );
    expect(error.extra).toEqual({ sku: 'TEA', refundableQty: 1 });
    expect(decide({ payment: p }, { items: [{ sku: 'TEA', qty: 1 }] }).amountMinor).toBe(2_000);
  });

  it('refuses items worth more than the money left after earlier refunds by amount', () => {
    const p = payment({ refundedMinor: 7_000 });
    const error = domainError(
      () => decide({ payment: p }, { items: [{ sku: 'TEA', qty: 2 }] }),
      'refund_exceeds_refundable',
    );
    expect(error.extra).toEqual({ refundableAmount: 3_000 });
  });

  it('refuses an empty list of items', () => {
    domainError(() => decide({}, { items: [] }), 'validation_failed');
  });

  it('itemsAmount prices each line at its unit amount', () => {
    expect(itemsAmount(lineItems(), [{ sku: 'CUP', qty: 1 }])).toEqual([
      { sku: 'CUP', qty: 1, amountMinor: 2_000 },
    ]);
  });
});

describe('decideRefund: caps and funds', () => {
  it('refuses a refund above the per-refund cap with refund_exceeds_limit', () => {
    const p = policy({ maxRefundAmount: 5_000 });
    const error = domainError(() => decide({ policy: p }, { amountMinor: 5_001 }), 'refund_exceeds_limit');
    expect(error.extra).toEqual({ maxRefundAmount: 5_000 });
    expect(decide({ policy: p }, { amountMinor: 5_000 }).amountMinor).toBe(5_000);
  });

  it("refuses a refund that takes today's total past the daily cap with daily_limit_exceeded", () => {
    const p = policy({ dailyRefundLimit: 20_000 });
    const error = domainError(
      () => decide({ policy: p, merchantTodayMinor: 15_000 }, { amountMinor: 5_001 }),
      'daily_limit_exceeded',
    );
    expect(error.extra).toEqual({ dailyRefundLimit: 20_000, usedToday: 15_000 });
    expect(decide({ policy: p, merchantTodayMinor: 15_000 }, { amountMinor: 5_000 }).amountMinor).toBe(5_000);
  });

  it('refuses a refund the merchant funds cannot cover with insufficient_merchant_funds', () => {
    const error = domainError(
      () => decide({ merchantAvailableMinor: 4_999 }, { amountMinor: 5_000 }),
      'insufficient_merchant_funds',
    );
    expect(error.extra).toEqual({ availableAmount: 4_999 });
    expect(decide({ merchantAvailableMinor: 5_000 }, { amountMinor: 5_000 }).amountMinor).toBe(5_000);
  });

  it('needs the merchant to cover only what the consumer gets back, net of the handling fee', () => {
    const p = policy({ feeRule: { originalFee: 'prorata', handlingFee: 100 } });
    expect(decide({ policy: p, merchantAvailableMinor: 4_900 }, { amountMinor: 5_000 }).netAmountMinor).toBe(
      4_900,
    );
    domainError(
      () => decide({ policy: p, merchantAvailableMinor: 4_899 }, { amountMinor: 5_000 }),
      'insufficient_merchant_funds',
    );
  });
});

describe('decideRefund: fees', () => {
  it('without a handling fee the consumer gets the whole refund', () => {
    const d = decide({}, { amountMinor: 3_000 });
    expect(d.feeMinor).toBe(0);
    expect(d.netAmountMinor).toBe(3_000);
  });

  it('a handling fee is taken from the refund: fee + net = amount', () => {
    const p = policy({ feeRule: { originalFee: 'kept', handlingFee: 200 } });
    const d = decide({ policy: p });
    expect(d.feeMinor).toBe(200);
    expect(d.netAmountMinor).toBe(9_800);
  });

  it('refuses a refund the handling fee would take whole, before anything reaches the network', () => {
    const p = policy({ feeRule: { originalFee: 'kept', handlingFee: 500 } });
    expect(
      domainError(() => decide({ policy: p }, { amountMinor: 300 }), 'fee_exceeds_amount').extra,
    ).toEqual({
      handlingFee: 500,
    });
    domainError(() => decide({ policy: p }, { amountMinor: 500 }), 'fee_exceeds_amount');
    expect(decide({ policy: p }, { amountMinor: 501 }).netAmountMinor).toBe(1);
  });

  it('prorata returns the share of the original fee, rounded down', () => {
    expect(decide({}, { amountMinor: 3_333 }).merchantFeeReturnedMinor).toBe(19); // 60 × 0.3333 = 19.998
    expect(decide({}, { amountMinor: 5_000 }).merchantFeeReturnedMinor).toBe(30);
    expect(decide().merchantFeeReturnedMinor).toBe(60);
  });

  it('prorata is exact on amounts where floating point would lose a fen', () => {
    const big = payment({ amountMinor: 2_039_108_115_319, feeMinor: 618_312, items: [] });
    const p = policy({ maxRefundAmount: 10 ** 13, dailyRefundLimit: 10 ** 13 });
    const d = decide({ payment: big, policy: p, merchantAvailableMinor: 10 ** 13 });
    expect(d.amountMinor).toBe(2_039_108_115_319);
    expect(d.merchantFeeReturnedMinor).toBe(618_312);
  });

  it("'kept' returns nothing of the original fee", () => {
    const p = policy({ feeRule: { originalFee: 'kept', handlingFee: 0 } });
    expect(decide({ policy: p }).merchantFeeReturnedMinor).toBe(0);
  });

  it('fee + net is the amount, and the fee returned is the exact BigInt share (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 ** 12 }),
        fc.nat({ max: 10 ** 9 }),
        fc.nat(),
        fc.nat({ max: 1_000 }),
        fc.constantFrom('prorata' as const, 'kept' as const),
        (captured, fee, pick, handlingFee, originalFee) => {
          const amountMinor = (pick % captured) + 1;
          fc.pre(handlingFee < amountMinor);
          const p = policy({
            maxRefundAmount: 10 ** 12,
            dailyRefundLimit: 10 ** 12,
            feeRule: { originalFee, handlingFee },
          });
          const d = decide(
            {
              payment: payment({ amountMinor: captured, feeMinor: fee, items: [] }),
              policy: p,
              merchantAvailableMinor: 10 ** 12,
            },
            { amountMinor },
          );
          expect(d.amountMinor).toBe(amountMinor);
          expect(d.feeMinor + d.netAmountMinor).toBe(amountMinor);
          expect(d.feeMinor).toBe(Math.min(handlingFee, amountMinor));
          const share =
            originalFee === 'prorata' ? (BigInt(fee) * BigInt(amountMinor)) / BigInt(captured) : 0n;
          expect(BigInt(d.merchantFeeReturnedMinor)).toBe(share);
          expect(d.merchantFeeReturnedMinor).toBeLessThanOrEqual(fee);
        },
      ),
    );
  });
});

describe('decideRefund: approvals', () => {
  const p = policy({ largeRefundThreshold: 5_000 });

  it('without approvals the refund is requested and waits in the review queue', () => {
    expect(decide({ approvals: [] }).status).toBe('requested');
  });

  it('one supervisor approves a refund below the large-refund threshold', () => {
    expect(decide({ policy: p, approvals: [approval('00')] }, { amountMinor: 4_999 }).status).toBe(
      'approved',
    );
  });

  it('at the threshold one approval is not enough: the refund is under review', () => {
    expect(decide({ policy: p, approvals: [approval('00')] }, { amountMinor: 5_000 }).status).toBe(
      'under_review',
    );
  });

  it('at the threshold two different supervisors approve it', () => {
    const approvals = [approval('00'), approval('02')];
    expect(decide({ policy: p, approvals }, { amountMinor: 5_000 }).status).toBe('approved');
    expect(decide({ policy: p, approvals }, { amountMinor: 10_000 }).status).toBe('approved');
  });

  it('refuses the same supervisor approving twice with same_approver', () => {
    domainError(
      () => decide({ policy: p, approvals: [approval('00'), approval('00')] }, { amountMinor: 5_000 }),
      'same_approver',
    );
  });

  it('approvalStatus counts approvals against the threshold', () => {
    expect(approvalStatus(p, 4_999, 0)).toBe('requested');
    expect(approvalStatus(p, 4_999, 1)).toBe('approved');
    expect(approvalStatus(p, 5_000, 1)).toBe('under_review');
    expect(approvalStatus(p, 5_000, 2)).toBe('approved');
    expect(approvalStatus(p, 5_000, 3)).toBe('approved');
  });

  it('checkDistinctApprovers accepts distinct operators and refuses a repeat', () => {
    expect(() => checkDistinctApprovers([])).not.toThrow();
    expect(() => checkDistinctApprovers([{ operatorNo: '00' }, { operatorNo: '02' }])).not.toThrow();
    domainError(
      () => checkDistinctApprovers([{ operatorNo: '00' }, { operatorNo: '02' }, { operatorNo: '00' }]),
      'same_approver',
    );
  });
});

describe('decideRefund: expected arrival from the PRC business calendar', () => {
  /** A payment captured at `now` so the refund window never interferes. */
  const at = (iso: string, method: PaymentMethod = 'card') => {
    const now = new Date(iso);
    return { now, payment: payment({ method, capturedAt: now }) };
  };

  it('a card refund asked on Friday 2026-09-25 (Mid-Autumn, before National Day) arrives on 2026-10-08', () => {
    // Business days after the Mid-Autumn weekend: 09-28 (start), 09-29, 09-30, then National Day until 10-07.
    expect(decide(at('2026-09-25T02:00:00Z')).expectedArrival).toBe('2026-10-08');
  });

  it('a card refund asked on 2026-09-30 arrives on the make-up Saturday 2026-10-10', () => {
    expect(decide(at('2026-09-30T02:00:00Z')).expectedArrival).toBe('2026-10-10');
  });

  it('a QR refund takes one business day: asked on 2026-09-30, it arrives after National Day', () => {
    expect(decide(at('2026-09-30T02:00:00Z', 'qr')).expectedArrival).toBe('2026-10-08');
  });

  it('counts from the Shanghai date, not the UTC date', () => {
    // 2026-09-29T15:30Z is still 09-29 in Shanghai; 16:30Z is already 09-30.
    expect(decide(at('2026-09-29T15:30:00Z', 'qr')).expectedArrival).toBe('2026-09-30');
    expect(decide(at('2026-09-29T16:30:00Z', 'qr')).expectedArrival).toBe('2026-10-08');
  });

  it('a bank transfer takes two business days', () => {
    expect(decide(at('2026-09-30T02:00:00Z'), { method: 'bank_transfer' }).expectedArrival).toBe(
      '2026-10-09',
    );
  });

  it('cash is handed over today, even on a public holiday', () => {
    expect(decide(at('2026-10-03T02:00:00Z'), { method: 'cash' }).expectedArrival).toBe('2026-10-03');
    expect(decide(at('2026-10-03T02:00:00Z', 'cash'), { method: 'original' }).expectedArrival).toBe(
      '2026-10-03',
    );
  });

  it('follows the policy arrival days for the route', () => {
    const p = policy({ arrivalBusinessDays: { card: 1, qr: 1, cash: 0, bank_transfer: 5 } });
    const { now, payment: pay } = at('2026-09-30T02:00:00Z');
    expect(expectedArrival(p, calendar, pay, 'original', now)).toBe('2026-10-08');
    expect(expectedArrival(p, calendar, pay, 'bank_transfer', now)).toBe(
      calendar.addBusinessDays('2026-09-30', 5),
    );
  });
});

describe('decideApproval', () => {
  const p = policy({ largeRefundThreshold: 5_000 });
  const waiting = (
    amountMinor: number,
    status: 'requested' | 'under_review' = 'requested',
    prior: string[] = [],
  ) => ({
    status,
    amountMinor,
    approvals: prior.map((operatorNo) => ({ operatorNo })),
  });

  it('one approval of a small requested refund approves it', () => {
    expect(decideApproval(p, waiting(4_999), [{ operatorNo: '00' }])).toEqual({ status: 'approved' });
  });

  it('one approval of a large refund leaves it under review', () => {
    expect(decideApproval(p, waiting(5_000), [{ operatorNo: '00' }])).toEqual({ status: 'under_review' });
  });

  it('a second, different supervisor approves a large refund', () => {
    expect(decideApproval(p, waiting(5_000, 'under_review', ['00']), [{ operatorNo: '02' }])).toEqual({
      status: 'approved',
    });
    expect(decideApproval(p, waiting(5_000), [{ operatorNo: '00' }, { operatorNo: '02' }])).toEqual({
      status: 'approved',
    });
  });

  it('refuses a second approval by the supervisor who already approved with same_approver', () => {
    domainError(
      () => decideApproval(p, waiting(5_000, 'under_review', ['00']), [{ operatorNo: '00' }]),
      'same_approver',
    );
    domainError(
      () => decideApproval(p, waiting(5_000), [{ operatorNo: '00' }, { operatorNo: '00' }]),
      'same_approver',
    );
  });

  it('refuses an empty list of approvals', () => {
    domainError(() => decideApproval(p, waiting(100), []), 'validation_failed');
  });

  it('refuses to approve a refund that no longer waits for approval', () => {
    for (const status of refundStatuses) {
      if (status === 'requested' || status === 'under_review') continue;
      domainError(
        () => decideApproval(p, { status, amountMinor: 100, approvals: [] }, [{ operatorNo: '00' }]),
        'invalid_state_transition',
      );
    }
  });
});

describe('decideVoid', () => {
  it('allows a void on the day of the sale, before settlement, with nothing refunded', () => {
    expect(() => decideVoid(payment(), new Date(T0.getTime() + 60 * 60_000))).not.toThrow();
  });

  it('refuses a void after batch settlement with void_not_allowed, pointing to a refund', () => {
    const error = domainError(() => decideVoid(payment({ settled: true }), T0), 'void_not_allowed');
    expect(error.detail).toMatch(/refund/);
  });

  it('refuses to void a payment twice', () => {
    domainError(() => decideVoid(payment({ voided: true }), T0), 'void_not_allowed');
  });

  it('refuses a void on another Shanghai day, even minutes after the sale', () => {
    const sale = payment({ capturedAt: new Date('2026-09-18T15:59:00Z') }); // 23:59 in Shanghai
    domainError(() => decideVoid(sale, new Date('2026-09-18T16:00:00Z')), 'void_not_allowed');
    domainError(() => decideVoid(payment(), new Date(T0.getTime() + DAY_MS)), 'void_not_allowed');
  });

  it('judges the day in Shanghai time, not UTC', () => {
    // 00:00 and 23:59 on 2026-09-18 in Shanghai fall on different UTC days.
    const sale = payment({ capturedAt: new Date('2026-09-17T16:00:00Z') });
    expect(() => decideVoid(sale, new Date('2026-09-18T15:59:59.999Z'))).not.toThrow();
  });

  it('refuses to void a payment with a succeeded refund or one in flight', () => {
    domainError(() => decideVoid(payment({ refundedMinor: 1 }), T0), 'void_not_allowed');
    domainError(() => decideVoid(payment({ inFlightMinor: 1 }), T0), 'void_not_allowed');
  });
});

describe('decideAdjustment', () => {
  it('refuses when the stated original differs from what the order stands at', () => {
    const error = domainError(() => decideAdjustment(10_000, 9_000, 8_000), 'adjustment_amount_mismatch');
    expect(error.extra).toEqual({ currentAmount: 10_000 });
  });

  it('refuses a new amount equal to the original', () => {
    domainError(() => decideAdjustment(10_000, 10_000, 10_000), 'validation_failed');
  });

  it('a decrease refunds the difference', () => {
    expect(decideAdjustment(10_000, 10_000, 7_000)).toEqual({ differenceMinor: -3_000, kind: 'refund' });
    expect(decideAdjustment(10_000, 10_000, 0)).toEqual({ differenceMinor: -10_000, kind: 'refund' });
  });

  it('an increase charges the difference', () => {
    expect(decideAdjustment(10_000, 10_000, 12_500)).toEqual({ differenceMinor: 2_500, kind: 'charge' });
  });

  it('refuses a negative or fractional new amount', () => {
    domainError(() => decideAdjustment(10_000, 10_000, -1), 'validation_failed');
    domainError(() => decideAdjustment(10_000, 10_000, 99.5), 'validation_failed');
  });

  it('original + difference is the new amount and the sign picks refund or charge (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 12 }), fc.nat({ max: 10 ** 12 }), (current, next) => {
        if (current === next) return;
        const d = decideAdjustment(current, current, next);
        expect(current + d.differenceMinor).toBe(next);
        expect(d.kind).toBe(next < current ? 'refund' : 'charge');
      }),
    );
  });
});
