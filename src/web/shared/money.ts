/**
 * Money on the terminal: typed in yuan, shown as ¥12.34, sent as integer fen (PRODUCT.md §4).
 * Parsing works on the digits as text and never goes through a float: "12.3" is 12 × 100 + 30.
 * Pure functions without imports, so the server-side tests check them too.
 */

/** Whole yuan digits accepted: ¥9,999,999,999.99 is far above any cap and far below 2^53 fen. */
export const MAX_YUAN_DIGITS = 10;

export type AmountError = 'empty' | 'format' | 'decimals' | 'zero' | 'too_large';
export type ParsedAmount = { ok: true; fen: number } | { ok: false; error: AmountError };

/** "12.3" → 1230, "0.05" → 5, "¥1,000" → 100000; more than two decimals, signs or exponents are refused. */
export function parseYuan(text: string): ParsedAmount {
  const s = text.trim().replace(/^¥/, '').replaceAll(',', '');
  if (s === '') return { ok: false, error: 'empty' };
  const m = /^([0-9]*)(?:\.([0-9]*))?$/.exec(s);
  if (!m) return { ok: false, error: 'format' };
  const whole = (m[1] ?? '').replace(/^0+(?=[0-9])/, '');
  const frac = m[2] ?? '';
  if (whole === '' && frac === '') return { ok: false, error: 'format' };
  if (frac.length > 2) return { ok: false, error: 'decimals' };
  if (whole.length > MAX_YUAN_DIGITS) return { ok: false, error: 'too_large' };
  const fen = Number(whole === '' ? '0' : whole) * 100 + Number(frac.padEnd(2, '0'));
  if (fen === 0) return { ok: false, error: 'zero' };
  return { ok: true, fen };
}

/** 880000 → "¥8,800.00"; -2000 → "-¥20.00". */
export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen)) return '¥—';
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const yuan = Math.floor(abs / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cents = (abs % 100).toString().padStart(2, '0');
  return `${sign}¥${yuan}.${cents}`;
}

/** 123400 → "1234", 1230 → "12.30": what a cashier would type for this amount. */
export function fenToInput(fen: number): string {
  const yuan = Math.floor(fen / 100).toString();
  const cents = fen % 100;
  return cents === 0 ? yuan : `${yuan}.${cents.toString().padStart(2, '0')}`;
}

/**
 * One key of the on-screen keypad applied to an amount being typed: digits, one decimal point,
 * at most two decimals and MAX_YUAN_DIGITS whole digits; a key that would break that is ignored.
 */
export function typeAmountKey(current: string, key: string): string {
  if (key === 'back') return current.slice(0, -1);
  if (key === 'clear') return '';
  const dot = current.indexOf('.');
  if (key === '.') {
    if (dot >= 0) return current;
    return current === '' ? '0.' : `${current}.`;
  }
  if (!/^[0-9]{1,2}$/.test(key)) return current;
  let next = current;
  for (const digit of key) {
    const d = next.indexOf('.');
    if (d >= 0 && next.length - d - 1 >= 2) break;
    if (d < 0 && next.replace(/^0+/, '').length >= MAX_YUAN_DIGITS) break;
    next = next === '0' ? digit : next + digit;
  }
  return next;
}

/** A rate in integer basis points as a percentage: 1416 → "14.16%", null (no sales) → "—". */
export function formatBp(bp: number | null): string {
  if (bp === null || !Number.isSafeInteger(bp)) return '—';
  const sign = bp < 0 ? '-' : '';
  const abs = Math.abs(bp);
  return `${sign}${Math.floor(abs / 100)}.${(abs % 100).toString().padStart(2, '0')}%`;
}
