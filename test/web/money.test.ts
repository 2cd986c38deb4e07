import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fenToInput, formatFen, parseYuan, typeAmountKey } from '../../src/web/shared/money.js';

describe('terminal amounts: typed in yuan, sent in fen, without floating point', () => {
  it('parses yuan text into integer fen digit by digit', () => {
    expect(parseYuan('12.3')).toEqual({ ok: true, fen: 1230 });
    expect(parseYuan('12.34')).toEqual({ ok: true, fen: 1234 });
    expect(parseYuan('0.05')).toEqual({ ok: true, fen: 5 });
    expect(parseYuan('.5')).toEqual({ ok: true, fen: 50 });
    expect(parseYuan('30')).toEqual({ ok: true, fen: 3000 });
    expect(parseYuan('¥8,800.00')).toEqual({ ok: true, fen: 880_000 });
    // 0.1 + 0.2 style float errors cannot happen: 1.15 × 100 is 114.99999999999999 in floats.
    expect(parseYuan('1.15')).toEqual({ ok: true, fen: 115 });
    expect(parseYuan('4.35')).toEqual({ ok: true, fen: 435 });
  });

  it('refuses more than two decimals, signs, exponents, zero and empty input', () => {
    expect(parseYuan('1.234')).toEqual({ ok: false, error: 'decimals' });
    expect(parseYuan('-1')).toEqual({ ok: false, error: 'format' });
    expect(parseYuan('1e3')).toEqual({ ok: false, error: 'format' });
    expect(parseYuan('1.2.3')).toEqual({ ok: false, error: 'format' });
    expect(parseYuan('.')).toEqual({ ok: false, error: 'format' });
    expect(parseYuan('0.00')).toEqual({ ok: false, error: 'zero' });
    expect(parseYuan('  ')).toEqual({ ok: false, error: 'empty' });
    expect(parseYuan('12345678901')).toEqual({ ok: false, error: 'too_large' });
  });

  it('shows fen as ¥ with thousands separators and two decimals', () => {
    expect(formatFen(1234)).toBe('¥12.34');
    expect(formatFen(880_000)).toBe('¥8,800.00');
    expect(formatFen(5)).toBe('¥0.05');
    expect(formatFen(-2_000)).toBe('-¥20.00');
    expect(formatFen(0)).toBe('¥0.00');
  });

  it('round-trips every amount: format → parse and input → parse give the same fen', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9_999_999_999_99 }), (fen) => {
        expect(parseYuan(formatFen(fen))).toEqual({ ok: true, fen });
        expect(parseYuan(fenToInput(fen))).toEqual({ ok: true, fen });
      }),
    );
  });

  it('lets the keypad type at most two decimals and one point', () => {
    const typed = (keys: string[]) => keys.reduce(typeAmountKey, '');
    expect(typed(['1', '2', '.', '3', '4', '5'])).toBe('12.34');
    expect(typed(['.', '5'])).toBe('0.5');
    expect(typed(['1', '.', '.', '2'])).toBe('1.2');
    expect(typed(['0', '0', '7'])).toBe('7');
    expect(typed(['1', '2', 'back'])).toBe('1');
    expect(typed(['1', '2', 'clear'])).toBe('');
    expect(typed(['1', '00'])).toBe('100');
  });
});
