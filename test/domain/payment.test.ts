import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertTotals,
  luhnValid,
  maskPan,
  paymentMethods,
  paymentStatus,
  refundableMinor,
} from '../../src/domain/payment.js';
import { payment } from './fixtures.js';

/** Appends the Luhn check digit to a string of digits. */
function withCheckDigit(body: string): string {
  for (let check = 0; check <= 9; check++) {
    const candidate = `${body}${check}`;
    let sum = 0;
    for (let i = 0; i < candidate.length; i++) {
      let d = Number(candidate[candidate.length - 1 - i]);
      if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error('unreachable');
}

const panBody = fc.stringMatching(/^[0-9]{11,18}$/);

describe('luhnValid', () => {
  it('accepts well-known test card numbers', () => {
    for (const pan of ['4111111111111111', '5555555555554444', '378282246310005', '6212345678901265']) {
      expect(luhnValid(pan), pan).toBe(true);
    }
  });

  it('refuses a number whose check digit is wrong', () => {
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('5555555555554445')).toBe(false);
  });

  it('refuses numbers shorter than 12 or longer than 19 digits, and anything but digits', () => {
    expect(luhnValid('42')).toBe(false);
    expect(luhnValid('00000000000')).toBe(false); // 11 digits, Luhn-valid but too short
    expect(luhnValid('000000000000')).toBe(true); // 12 digits
    expect(luhnValid('00000000000000000000')).toBe(false); // 20 digits
    expect(luhnValid('4111 1111 1111 1111')).toBe(false);
    expect(luhnValid('4111-1111-1111-1111')).toBe(false);
    expect(luhnValid('')).toBe(false);
  });

  it('accepts a number with its Luhn check digit and refuses every other last digit (property)', () => {
    fc.assert(
      fc.property(panBody, fc.integer({ min: 1, max: 9 }), (body, shift) => {
        const pan = withCheckDigit(body);
        expect(luhnValid(pan)).toBe(true);
        const wrong = `${body}${(Number(pan.at(-1)) + shift) % 10}`;
        expect(luhnValid(wrong)).toBe(false);
      }),
    );
  });

  it('detects any single mistyped digit (property)', () => {
    fc.assert(
      fc.property(panBody, fc.nat(), fc.integer({ min: 1, max: 9 }), (body, at, shift) => {
        const pan = withCheckDigit(body);
        const i = at % pan.length;
        const typo = `${pan.slice(0, i)}${(Number(pan[i]) + shift) % 10}${pan.slice(i + 1)}`;
        expect(luhnValid(typo)).toBe(false);
      }),
    );
  });
});

describe('maskPan', () => {
  it('keeps the BIN and the last four and stars the rest', () => {
    expect(maskPan('6212345678901265')).toEqual({
      bin: '621234',
      last4: '1265',
      masked: '621234******1265',
    });
  });

  it('ignores spaces and dashes in the input', () => {
    expect(maskPan('4111 1111-1111 1111').masked).toBe('411111******1111');
  });

  it('refuses something that is not a 12 to 19 digit PAN', () => {
    expect(() => maskPan('12345678901')).toThrow(/12 to 19 digits/);
    expect(() => maskPan('12345678901234567890')).toThrow(/12 to 19 digits/);
    expect(() => maskPan('')).toThrow(/12 to 19 digits/);
  });

  it('never returns the middle digits, in any field (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{12,19}$/), (pan) => {
        const { bin, last4, masked } = maskPan(pan);
        const middle = pan.slice(6, -4);
        expect(masked).toHaveLength(pan.length);
        expect(masked.slice(6, -4)).toBe('*'.repeat(middle.length));
        expect(masked.slice(0, 6)).toBe(pan.slice(0, 6));
        expect(masked.slice(-4)).toBe(pan.slice(-4));
        expect(bin).toBe(pan.slice(0, 6));
        expect(last4).toBe(pan.slice(-4));
        // Nothing else leaks: the whole answer holds only BIN, last four and stars.
        expect(JSON.stringify({ bin, last4, masked }).replace(/\*/g, '')).toBe(
          JSON.stringify({ bin, last4, masked: `${bin}${last4}` }),
        );
      }),
    );
  });
});

describe('paymentStatus', () => {
  it('is captured while nothing has been refunded, even with a refund in flight', () => {
    expect(paymentStatus(payment())).toBe('captured');
    expect(paymentStatus(payment({ inFlightMinor: 5_000 }))).toBe('captured');
  });

  it('is partially_refunded after a succeeded refund below the amount', () => {
    expect(paymentStatus(payment({ refundedMinor: 1 }))).toBe('partially_refunded');
    expect(paymentStatus(payment({ refundedMinor: 9_999 }))).toBe('partially_refunded');
  });

  it('is refunded once succeeded refunds reach the amount', () => {
    expect(paymentStatus(payment({ refundedMinor: 10_000 }))).toBe('refunded');
  });

  it('is voided for a voided payment whatever its totals', () => {
    expect(paymentStatus(payment({ voided: true }))).toBe('voided');
  });
});

describe('refundableMinor', () => {
  it('is captured minus succeeded minus in flight', () => {
    expect(refundableMinor(payment())).toBe(10_000);
    expect(refundableMinor(payment({ refundedMinor: 2_500, inFlightMinor: 1_500 }))).toBe(6_000);
    expect(refundableMinor(payment({ refundedMinor: 4_000, inFlightMinor: 6_000 }))).toBe(0);
  });

  it('is zero for a voided payment', () => {
    expect(refundableMinor(payment({ voided: true }))).toBe(0);
  });

  it('fails loudly on totals that break the ledger invariant', () => {
    expect(() => refundableMinor(payment({ refundedMinor: 6_000, inFlightMinor: 4_001 }))).toThrow(
      /invariant violated/,
    );
  });

  it('is never negative and never above the amount for any consistent totals (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 12 }), fc.nat(), fc.nat(), (amount, r, f) => {
        const refunded = amount === 0 ? 0 : r % (amount + 1);
        const inFlight = amount - refunded === 0 ? 0 : f % (amount - refunded + 1);
        const p = payment({ amountMinor: amount, refundedMinor: refunded, inFlightMinor: inFlight });
        const left = refundableMinor(p);
        expect(left).toBeGreaterThanOrEqual(0);
        expect(left + refunded + inFlight).toBe(amount);
      }),
    );
  });
});

describe('assertTotals', () => {
  it('accepts totals that fit within the captured amount', () => {
    expect(() => assertTotals({ amountMinor: 100, refundedMinor: 60, inFlightMinor: 40 })).not.toThrow();
    expect(() => assertTotals({ amountMinor: 0, refundedMinor: 0, inFlightMinor: 0 })).not.toThrow();
  });

  it('throws when refunds and in-flight exceed the captured amount', () => {
    expect(() => assertTotals({ amountMinor: 100, refundedMinor: 60, inFlightMinor: 41 })).toThrow(
      /exceed captured/,
    );
  });

  it('throws on a negative refunded or in-flight total', () => {
    expect(() => assertTotals({ amountMinor: 100, refundedMinor: -1, inFlightMinor: 0 })).toThrow(
      /refunded total is negative/,
    );
    expect(() => assertTotals({ amountMinor: 100, refundedMinor: 0, inFlightMinor: -1 })).toThrow(
      /in-flight total is negative/,
    );
  });
});

describe('payment methods', () => {
  it('are card, qr and cash', () => {
    expect([...paymentMethods]).toEqual(['card', 'qr', 'cash']);
  });
});
