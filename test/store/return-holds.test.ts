import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PaymentState, refundableMinor } from '../../src/domain/payment.js';
import { holdReturns, type ReturnHold } from '../../src/store/returns.js';

/**
 * What open return QRs hold (store/returns.ts holdReturns): their lines as reserved units, their
 * amount as in flight — never more than is left. A return one process saw expire (and whose units
 * were refunded since) can still look open to a process whose clock is a little behind; it must
 * then hold only what remains, so the ledger's invariant is not broken by a stale hold.
 */
const state = (refundedMinor: number, inFlightMinor: number, refundedQty: number): PaymentState => ({
  id: 'pay_1',
  merchantId: 'm',
  orderNo: 'o',
  kind: 'sale',
  amountMinor: 3_000,
  currency: 'CNY',
  method: 'cash',
  feeMinor: 0,
  voided: false,
  settled: false,
  capturedAt: new Date('2026-12-04T00:00:00Z'),
  refundedMinor,
  inFlightMinor,
  items: [{ sku: 'ONE', name: '一件', qty: 3, unitAmountMinor: 1_000, refundedQty }],
});
const hold = (qty: number): ReturnHold => ({ amountMinor: qty * 1_000, qty: new Map([['ONE', qty]]) });

describe('open return holds', () => {
  it('hold their lines and amount while there is room', () => {
    const s = holdReturns(state(1_000, 0, 1), hold(2));
    expect(s.inFlightMinor).toBe(2_000);
    expect(s.items[0]?.refundedQty).toBe(3);
    expect(refundableMinor(s)).toBe(0);
  });

  it('hold only what is left when the units were refunded meanwhile (a stale hold)', () => {
    // All three units refunded; a process with a slow clock still counts a 2-unit return open.
    const s = holdReturns(state(3_000, 0, 3), hold(2));
    expect(s.inFlightMinor).toBe(0);
    expect(s.items[0]?.refundedQty).toBe(3);
    expect(refundableMinor(s)).toBe(0);
  });

  it('never break the ledger invariant, whatever was refunded, in flight or held', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        (refunded, inFlight, held) => {
          fc.pre(refunded + inFlight <= 3);
          const s = holdReturns(state(refunded * 1_000, inFlight * 1_000, refunded + inFlight), hold(held));
          expect(refundableMinor(s)).toBeGreaterThanOrEqual(0);
          expect(s.items[0]?.refundedQty).toBeLessThanOrEqual(3);
          expect(s.inFlightMinor).toBe(inFlight * 1_000 + Math.min(held, 3 - refunded - inFlight) * 1_000);
        },
      ),
    );
  });
});
