import { DomainError, invariant } from './errors.js';

/**
 * Money is an integer count of minor units (fen for CNY) plus an ISO 4217 code.
 * JS numbers are exact for integers up to 2^53 − 1 (≈ ¥90 trillion), far above any POS amount;
 * every operation asserts it stays there, and products go through BigInt.
 */
export const currencyExponents: Readonly<Record<string, number>> = {
  CNY: 2,
  HKD: 2,
  MOP: 2,
  TWD: 2,
  USD: 2,
  EUR: 2,
  GBP: 2,
  JPY: 0,
  KRW: 0,
};

export type Currency = string;

export interface Money {
  readonly amountMinor: number;
  readonly currency: Currency;
}

export const MAX_AMOUNT_MINOR = 100_000_000_000_00; // ¥100 billion: far above any card limit

export function isCurrency(code: string): boolean {
  return Object.hasOwn(currencyExponents, code);
}

export function assertAmountMinor(amountMinor: number, what = 'amount'): void {
  invariant(
    Number.isSafeInteger(amountMinor),
    `${what} must be an integer of minor units, got ${amountMinor}`,
  );
}

export function money(amountMinor: number, currency: Currency): Money {
  assertAmountMinor(amountMinor);
  if (!isCurrency(currency)) throw new DomainError('validation_failed', `unknown currency ${currency}`);
  return { amountMinor, currency };
}

export function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) {
    throw new DomainError('currency_mismatch', `cannot combine ${a.currency} with ${b.currency}`);
  }
}

export function add(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amountMinor + b.amountMinor, a.currency);
}

export function subtract(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amountMinor - b.amountMinor, a.currency);
}

/** floor(amount × numerator / denominator) computed exactly, for pro-rata splits. */
export function mulDivFloor(amountMinor: number, numerator: number, denominator: number): number {
  assertAmountMinor(amountMinor);
  assertAmountMinor(numerator);
  invariant(Number.isSafeInteger(denominator) && denominator > 0, 'denominator must be a positive integer');
  const product = BigInt(amountMinor) * BigInt(numerator);
  const divisor = BigInt(denominator);
  // BigInt division truncates toward zero; step down once more for a negative inexact quotient.
  const result = product / divisor - (product < 0n && product % divisor !== 0n ? 1n : 0n);
  const asNumber = Number(result);
  assertAmountMinor(asNumber, 'pro-rata result');
  return asNumber;
}

/**
 * "1234.56": the amount in major units as a plain decimal (CSV exports, spreadsheets), from the
 * integer's digits — no float division, so no 0.1 + 0.2 artefacts and no thousands separators.
 */
export function decimalAmount(amountMinor: number, currency: Currency): string {
  assertAmountMinor(amountMinor);
  const exp = currencyExponents[currency] ?? 2;
  const sign = amountMinor < 0 ? '-' : '';
  const digits = String(Math.abs(amountMinor)).padStart(exp + 1, '0');
  return exp === 0 ? `${sign}${digits}` : `${sign}${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
}

/** "¥12.34" style for receipts and messages; never used for arithmetic. */
export function formatMoney(m: Money): string {
  const exp = currencyExponents[m.currency] ?? 2;
  const sign = m.amountMinor < 0 ? '-' : '';
  const abs = Math.abs(m.amountMinor);
  const symbol = m.currency === 'CNY' ? '¥' : `${m.currency} `;
  if (exp === 0) return `${sign}${symbol}${abs}`;
  const unit = 10 ** exp;
  const whole = Math.floor(abs / unit);
  const frac = String(abs % unit).padStart(exp, '0');
  return `${sign}${symbol}${whole.toLocaleString('en-US')}.${frac}`;
}
