/**
 * Edges of settlement reconciliation that mutation testing (issue 9, docs/mutation-report.md)
 * found untested: the day's boundaries on both sides, what a bad row may quote, the line limit,
 * blank lines, duplicates, and when a day counts as balanced.
 */
import { describe, expect, it } from 'vitest';
import {
  checkSettlementHeader,
  DAY_END_MARGIN_MS,
  type LedgerRow,
  linesOf,
  MAX_LINE_LENGTH,
  parseSettlementRow,
  type ReconcileResult,
  reconcileSettlementLines,
  SETTLEMENT_FILE_HEADER,
  settlementDayWindow,
} from '../../src/domain/reconcile.js';
import { type CsvRow, csvLine, csvOf, DAY, ledgerSale, networkOf, rrn } from '../reconciliation/support.js';

const window = settlementDayWindow(DAY);
const run = (rows: (CsvRow | string)[], ledger: LedgerRow[]) =>
  reconcileSettlementLines(linesOf(csvOf(rows)), ledger, { window });
const kinds = (r: ReconcileResult) => r.mismatches.map((m) => [m.kind, m.reference]);
const ms = (iso: string, deltaMs: number) => new Date(Date.parse(iso) + deltaMs).toISOString();

describe("the settlement day's boundaries", () => {
  it('takes a network row booked at the first instant of the day, not one a millisecond before or at the next day', async () => {
    const sale = ledgerSale(1, 100);
    const atStart = networkOf(sale, { createdAt: window.from });
    expect((await run([atStart], [sale])).matched).toBe(1);
    for (const createdAt of [ms(window.from, -1), window.to]) {
      const r = await run([networkOf(sale, { createdAt })], [sale]);
      expect(r.invalidRowCount, createdAt).toBe(1);
      expect(r.invalidRows[0]?.detail).toMatch(/outside the settlement day/);
    }
  });

  it("counts our row sent at the day's first instant as the day's, and one sent before only when the file has it", async () => {
    const first = ledgerSale(2, 200, { at: window.from });
    const before = ledgerSale(3, 300, { at: ms(window.from, -1) });
    const r = await run([], [first, before]);
    expect(kinds(r)).toEqual([['missing_in_network', rrn(2)]]);
    expect(r.totals.ledger.sales).toEqual({ count: 1, amountMinor: 200 });
  });

  it(`warns of the next day's file exactly for rows sent within ${DAY_END_MARGIN_MS / 60_000} minutes of the end`, async () => {
    const inMargin = ledgerSale(4, 400, { at: ms(window.to, -DAY_END_MARGIN_MS) });
    const before = ledgerSale(5, 500, { at: ms(window.to, -DAY_END_MARGIN_MS - 1) });
    const r = await run([], [inMargin, before]);
    const detail = (n: number) => r.mismatches.find((m) => m.reference === rrn(n))?.detail ?? '';
    expect(detail(4)).toMatch(/may have booked it on the next day/);
    expect(detail(5)).not.toMatch(/next day/);
  });
});

describe('what a bad row may quote', () => {
  it('never quotes a long run of digits (a card number in the wrong file), nor a long value', () => {
    const pan = '6222021000044441234';
    const row = parseSettlementRow(csvLine(networkOf(ledgerSale(6, 600), { rrn: pan })), 2);
    expect(row.ok).toBe(false);
    const detail = row.ok ? '' : row.invalid.detail;
    expect(detail).not.toContain('0000444');
    expect(detail).toContain(`(${pan.length} characters)`);
    const of = (value: string) => {
      const r = parseSettlementRow(csvLine(networkOf(ledgerSale(6, 600), { rrn: value })), 2);
      return r.ok ? '' : r.invalid.detail;
    };
    expect(of('A'.repeat(32))).toContain(`"${'A'.repeat(32)}"`);
    expect(of('A'.repeat(33))).toContain('(33 characters)');
  });

  it(`refuses a line over ${MAX_LINE_LENGTH} characters for its length, and judges one of exactly that length by its content`, () => {
    const detailOf = (text: string) => {
      const r = parseSettlementRow(text, 2);
      return r.ok ? '' : r.invalid.detail;
    };
    expect(detailOf('x'.repeat(MAX_LINE_LENGTH + 1))).toMatch(/longer than 1024 characters/);
    expect(detailOf('x'.repeat(MAX_LINE_LENGTH))).toMatch(/1 columns, expected 11/);
  });
});

describe('each column of a row holds exactly its format', () => {
  it('refuses a value with one character too many, in front or behind', () => {
    const good = networkOf(ledgerSale(11, 1_100));
    const columns: (keyof CsvRow)[] = ['rrn', 'stan', 'batchNo', 'currency', 'responseCode', 'createdAt'];
    for (const column of columns) {
      for (const value of [`0${good[column]}`, `${good[column]}0`]) {
        const r = parseSettlementRow(csvLine({ ...good, [column]: value }), 2);
        expect(r.ok, `${column} ${value}`).toBe(false);
      }
    }
    expect(parseSettlementRow(csvLine(good), 2).ok).toBe(true);
  });
});

describe('the file around the rows', () => {
  it('tolerates a byte-order mark and a CR only where they belong in the header', () => {
    expect(() => checkSettlementHeader(`\uFEFF${SETTLEMENT_FILE_HEADER}\r`)).not.toThrow();
    const [first, ...rest] = SETTLEMENT_FILE_HEADER.split(',');
    expect(() => checkSettlementHeader(`${first},\uFEFF${rest.join(',')}`)).toThrow(/header must be/);
    expect(() => checkSettlementHeader(`${first}\r,${rest.join(',')}`)).toThrow(/header must be/);
  });

  it('skips lines that hold only blanks', async () => {
    const sale = ledgerSale(7, 700);
    const r = await run(['   ', networkOf(sale), '\t'], [sale]);
    expect(r).toMatchObject({ matched: 1, invalidRowCount: 0, balanced: true });
  });

  it('names the first line of a row the network lists three times', async () => {
    const sale = ledgerSale(8, 800);
    const r = await run([networkOf(sale), networkOf(sale), networkOf(sale)], [sale]);
    expect(r.mismatches.map((m) => m.detail)).toEqual([
      expect.stringMatching(/again \(first on line 2\)/),
      expect.stringMatching(/again \(first on line 2\)/),
    ]);
  });

  it('is not balanced while a row could not be read, even when everything else matches', async () => {
    const sale = ledgerSale(9, 900);
    const r = await run([networkOf(sale), 'not,a,row'], [sale]);
    expect(r.mismatches).toEqual([]);
    expect(r.invalidRowCount).toBe(1);
    expect(r.balanced).toBe(false);
  });

  it('is not balanced while a row differs, even when every row could be read', async () => {
    const sale = ledgerSale(10, 1_000);
    const r = await run([networkOf(sale, { amountMinor: 1_001 })], [sale]);
    expect(r.invalidRowCount).toBe(0);
    expect(kinds(r)).toEqual([['amount_differs', rrn(10)]]);
    expect(r.balanced).toBe(false);
  });

  it('reads the last line of a text that does not end in a newline', () => {
    expect([...linesOf('a\nb')]).toEqual(['a', 'b']);
    expect([...linesOf('a\nb\n')]).toEqual(['a', 'b']);
    expect([...linesOf('only')]).toEqual(['only']);
    expect([...linesOf('')]).toEqual([]);
  });
});
