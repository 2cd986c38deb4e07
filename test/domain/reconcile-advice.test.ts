/**
 * What the merchant is told to do about each mismatch a reconciliation lists (issue 11,
 * "every mismatch listed with what to do about it"): the real matcher finds the mismatch, the
 * pure `adviseMismatch` names the advice. Every advice code is reached by a case here and has its
 * text in every UI language.
 */
import { describe, expect, it } from 'vitest';
import { outcomeLanguages } from '../../src/domain/outcomes.js';
import {
  type AdviceCode,
  adviceCodes,
  adviseMismatch,
  DAY_END_MARGIN_MS,
  type LedgerRow,
  type Mismatch,
  reconcile,
  settlementDayWindow,
} from '../../src/domain/reconcile.js';
import {
  type CsvRow,
  DAY,
  ledgerRefund,
  ledgerSale,
  ledgerVoid,
  networkOf,
  rrn,
} from '../reconciliation/support.js';

const window = settlementDayWindow(DAY);
const rows = (csv: CsvRow[]) => csv.map((r, i) => ({ ...r, line: i + 2 }));

/** The one mismatch the matcher finds for these two sides. */
function onlyMismatch(network: CsvRow[], ledger: LedgerRow[]): Mismatch {
  const result = reconcile(rows(network), ledger, window);
  expect(result.mismatches, JSON.stringify(result.mismatches)).toHaveLength(1);
  return result.mismatches[0] as Mismatch;
}

const sale = ledgerSale(1, 10_000);
const voided = ledgerSale(2, 20_000, { status: 'voided' });
const voidOf2 = ledgerVoid(2, 3, 20_000);
const refund = ledgerRefund(4, 1, 2_500);

const cases: [string, () => Mismatch, Mismatch['kind'], AdviceCode][] = [
  [
    'a sale we hold that the network does not',
    () => onlyMismatch([], [sale]),
    'missing_in_network',
    'confirm_sale_with_acquirer',
  ],
  [
    'a void we hold that the network does not',
    () => onlyMismatch([networkOf(voided, { status: 'approved' })], [voided, voidOf2]),
    'missing_in_network',
    'confirm_void_with_acquirer',
  ],
  [
    'a refund we hold succeeded that the network does not',
    () => onlyMismatch([networkOf(sale)], [sale, refund]),
    'missing_in_network',
    'confirm_refund_with_acquirer',
  ],
  [
    "a row of ours sent just before the day's end",
    () =>
      onlyMismatch(
        [],
        [ledgerSale(5, 500, { at: new Date(Date.parse(window.to) - DAY_END_MARGIN_MS).toISOString() })],
      ),
    'missing_in_network',
    'wait_for_next_day_file',
  ],
  [
    'a sale the network has that we do not',
    () => onlyMismatch([networkOf(sale)], []),
    'missing_in_ledger',
    'find_unrecorded_sale',
  ],
  [
    'a void of a sale we do not know',
    () => onlyMismatch([networkOf(voidOf2)], []),
    'missing_in_ledger',
    'find_unrecorded_void',
  ],
  [
    'a refund the network paid that we do not have',
    () => onlyMismatch([networkOf(sale), networkOf(refund)], [sale]),
    'missing_in_ledger',
    'find_unrecorded_refund',
  ],
  [
    'a sale the network booked twice',
    () => onlyMismatch([networkOf(sale), networkOf(sale)], [sale]),
    'missing_in_ledger',
    'ask_acquirer_to_reverse_duplicate',
  ],
  [
    'a sale whose amount differs',
    () => onlyMismatch([networkOf(sale, { amountMinor: 10_001 })], [sale]),
    'amount_differs',
    'ask_acquirer_to_correct_amount',
  ],
  [
    'a sale the network reversed that we hold captured',
    () => onlyMismatch([networkOf(sale, { status: 'reversed' })], [sale]),
    'status_differs',
    'sale_reversed_at_network',
  ],
  [
    'a void the network reversed that we hold',
    () => onlyMismatch([networkOf(voided), networkOf(voidOf2, { status: 'reversed' })], [voided, voidOf2]),
    'status_differs',
    'void_reversed_at_network',
  ],
  [
    'a refund the network reversed that we hold succeeded',
    () => onlyMismatch([networkOf(sale), networkOf(refund, { status: 'reversed' })], [sale, refund]),
    'status_differs',
    'refund_reversed_at_network',
  ],
  [
    'a void the network approved of a sale we hold captured',
    () => onlyMismatch([networkOf(sale), networkOf(ledgerVoid(1, 6, 10_000))], [sale]),
    'status_differs',
    'voided_at_network_only',
  ],
  [
    'a refund the network approved that we hold failed',
    () =>
      onlyMismatch(
        [networkOf(sale), networkOf(ledgerRefund(7, 1, 900))],
        [sale, ledgerRefund(7, 1, 900, 'failed')],
      ),
    'status_differs',
    'refund_approved_at_network_only',
  ],
];

describe('advice for each mismatch', () => {
  it.each(cases)('%s', (_, find, kind, code) => {
    const m = find();
    expect(m.kind).toBe(kind);
    const advice = adviseMismatch(m, window);
    expect(advice.code).toBe(code);
    for (const lang of outcomeLanguages) expect(advice.text[lang].length, lang).toBeGreaterThan(20);
  });

  it('reaches every advice code, and each has its own words in every language', () => {
    expect(new Set(cases.map(([, , , code]) => code))).toEqual(new Set(adviceCodes));
    for (const lang of outcomeLanguages) {
      const texts = cases.map(([, find]) => adviseMismatch(find(), window).text[lang]);
      expect(new Set(texts).size, lang).toBe(adviceCodes.length);
    }
  });

  it('tells of the next day only with the settlement day known, and then only near its end', () => {
    const late = ledgerSale(8, 800, { at: new Date(Date.parse(window.to) - 60_000).toISOString() });
    const m = onlyMismatch([], [late]);
    expect(adviseMismatch(m, window).code).toBe('wait_for_next_day_file');
    expect(adviseMismatch(m, null).code).toBe('confirm_sale_with_acquirer');
    const early = onlyMismatch([], [ledgerSale(9, 900, { at: window.from })]);
    expect(adviseMismatch(early, window).code).toBe('confirm_sale_with_acquirer');
  });

  it('names the first line of a duplicate, which the advice rests on', () => {
    const m = onlyMismatch([networkOf(sale), networkOf(sale)], [sale]);
    expect(m).toMatchObject({ kind: 'missing_in_ledger', reference: rrn(1), duplicateOfLine: 2 });
    expect(m.networkRow?.line).toBe(3);
    const unknown = onlyMismatch([networkOf(sale)], []);
    expect(unknown.duplicateOfLine).toBeUndefined();
  });
});
