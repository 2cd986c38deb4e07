import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add,
  assertAmountMinor,
  currencyExponents,
  formatMoney,
  isCurrency,
  money,
  mulDivFloor,
  sameCurrency,
  subtract,
} from '../../src/domain/money.js';
import { domainError } from './fixtures.js';

const currencies = Object.keys(currencyExponents);

/** Exact floor division on BigInt (BigInt `/` truncates toward zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

const safeInt = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });

describe('money', () => {
  it('accepts an integer amount in a known ISO 4217 currency', () => {
    expect(money(1234, 'CNY')).toEqual({ amountMinor: 1234, currency: 'CNY' });
    expect(money(-5, 'JPY')).toEqual({ amountMinor: -5, currency: 'JPY' });
  });

  it('refuses fractional, non-finite and unsafe amounts (never floating point)', () => {
    for (const bad of [12.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
      expect(() => money(bad, 'CNY'), String(bad)).toThrow(/invariant violated/);
    }
    expect(() => assertAmountMinor(0.1, 'fee')).toThrow(/fee must be an integer of minor units/);
  });

  it('refuses an unknown currency with validation_failed', () => {
    domainError(() => money(100, 'XXX'), 'validation_failed');
    domainError(() => money(100, 'cny'), 'validation_failed');
    expect(isCurrency('CNY')).toBe(true);
    expect(isCurrency('toString')).toBe(false);
  });

  it('knows the exponent of yen and won is 0 and of yuan is 2', () => {
    expect(currencyExponents.CNY).toBe(2);
    expect(currencyExponents.JPY).toBe(0);
    expect(currencyExponents.KRW).toBe(0);
  });
});

describe('add and subtract', () => {
  it('add sums amounts of one currency', () => {
    expect(add(money(150, 'CNY'), money(250, 'CNY'))).toEqual(money(400, 'CNY'));
  });

  it('subtract takes the second from the first and may go negative', () => {
    expect(subtract(money(150, 'CNY'), money(250, 'CNY'))).toEqual(money(-100, 'CNY'));
  });

  it('refuses to combine two currencies with currency_mismatch', () => {
    domainError(() => add(money(1, 'CNY'), money(1, 'HKD')), 'currency_mismatch');
    domainError(() => subtract(money(1, 'USD'), money(1, 'EUR')), 'currency_mismatch');
    domainError(() => sameCurrency(money(1, 'JPY'), money(1, 'KRW')), 'currency_mismatch');
  });

  it('fails loudly instead of losing precision past 2^53', () => {
    expect(() => add(money(Number.MAX_SAFE_INTEGER, 'CNY'), money(1, 'CNY'))).toThrow(/invariant violated/);
  });

  it('add then subtract gives the original amount (property)', () => {
    const amount = fc.integer({ min: -(2 ** 50), max: 2 ** 50 });
    fc.assert(
      fc.property(amount, amount, fc.constantFrom(...currencies), (a, b, c) => {
        expect(subtract(add(money(a, c), money(b, c)), money(b, c))).toEqual(money(a, c));
      }),
    );
  });
});

describe('mulDivFloor', () => {
  it('computes floor(amount × numerator / denominator) exactly', () => {
    expect(mulDivFloor(60, 3_333, 10_000)).toBe(19); // 19.998 → 19, never rounded up
    expect(mulDivFloor(60, 10_000, 10_000)).toBe(60);
    expect(mulDivFloor(60, 0, 10_000)).toBe(0);
    expect(mulDivFloor(7, 1, 3)).toBe(2);
  });

  it('is exact where a float product would lose digits', () => {
    // The whole fee of a ¥20.39 billion sale returned on a full refund: exactly the fee.
    expect(mulDivFloor(618_312, 2_039_108_115_319, 2_039_108_115_319)).toBe(618_312);
    // The naive float formula loses a fen on the same inputs.
    expect(Math.floor((618_312 * 2_039_108_115_319) / 2_039_108_115_319)).toBe(618_311);
  });

  it('rounds a negative inexact quotient down, not toward zero', () => {
    expect(mulDivFloor(-7, 1, 3)).toBe(-3);
    expect(mulDivFloor(7, -1, 3)).toBe(-3);
    expect(mulDivFloor(-6, 1, 3)).toBe(-2);
  });

  it('refuses a zero, negative or fractional denominator and fractional operands', () => {
    expect(() => mulDivFloor(10, 1, 0)).toThrow(/denominator must be a positive integer/);
    expect(() => mulDivFloor(10, 1, -2)).toThrow(/denominator must be a positive integer/);
    expect(() => mulDivFloor(10, 1, 1.5)).toThrow(/denominator must be a positive integer/);
    expect(() => mulDivFloor(10.5, 1, 2)).toThrow(/invariant violated/);
    expect(() => mulDivFloor(10, 0.5, 2)).toThrow(/invariant violated/);
  });

  it('fails loudly when the result is past 2^53', () => {
    expect(() => mulDivFloor(Number.MAX_SAFE_INTEGER, 4, 3)).toThrow(/pro-rata result/);
  });

  it('equals the BigInt floor reference for any safe integers (property)', () => {
    fc.assert(
      fc.property(safeInt, safeInt, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (a, n, d) => {
        const reference = floorDiv(BigInt(a) * BigInt(n), BigInt(d));
        if (reference > BigInt(Number.MAX_SAFE_INTEGER) || reference < BigInt(Number.MIN_SAFE_INTEGER)) {
          expect(() => mulDivFloor(a, n, d)).toThrow(/pro-rata result/);
        } else {
          expect(mulDivFloor(a, n, d)).toBe(Number(reference));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never exceeds the amount when the share is at most one, and pieces never exceed the whole (property)', () => {
    const share = fc
      .tuple(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }))
      .map(([n, d]): [number, number] => (n <= d ? [n, d] : [d, n]));
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), share, (amount, [n, d]) => {
        const part = mulDivFloor(amount, n, d);
        expect(part).toBeGreaterThanOrEqual(0);
        expect(part).toBeLessThanOrEqual(amount);
        expect(part + mulDivFloor(amount, d - n, d)).toBeLessThanOrEqual(amount);
      }),
      { numRuns: 500 },
    );
  });
});

describe('formatMoney', () => {
  it('formats yuan with the ¥ sign, thousands separators and two decimals', () => {
    expect(formatMoney(money(1234, 'CNY'))).toBe('¥12.34');
    expect(formatMoney(money(5, 'CNY'))).toBe('¥0.05');
    expect(formatMoney(money(0, 'CNY'))).toBe('¥0.00');
    expect(formatMoney(money(123_456_789, 'CNY'))).toBe('¥1,234,567.89');
    expect(formatMoney(money(-123_456, 'CNY'))).toBe('-¥1,234.56');
  });

  it('prefixes other currencies with their code and honours a zero exponent', () => {
    expect(formatMoney(money(1_234_56, 'USD'))).toBe('USD 1,234.56');
    expect(formatMoney(money(1234, 'JPY'))).toBe('JPY 1234');
    expect(formatMoney(money(-7, 'KRW'))).toBe('-KRW 7');
  });

  it('round-trips the digits of any amount in any currency (property)', () => {
    fc.assert(
      fc.property(safeInt, fc.constantFrom(...currencies), (amount, currency) => {
        const text = formatMoney(money(amount, currency));
        const exp = currencyExponents[currency] ?? 2;
        expect(text.startsWith('-')).toBe(amount < 0);
        if (exp > 0) expect(text).toMatch(new RegExp(`\\.\\d{${exp}}$`));
        const digits = text.replace(/\D/g, '');
        const parsed = BigInt(digits) * (amount < 0 ? -1n : 1n);
        expect(parsed).toBe(BigInt(amount));
      }),
      { numRuns: 500 },
    );
  });
});
