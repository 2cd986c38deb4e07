import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import {
  checkSettlementHeader,
  type LedgerRow,
  linesOf,
  MAX_INVALID_ROWS_LISTED,
  parseSettlementRow,
  type ReconcileResult,
  reconcile,
  reconcileSettlementLines,
  SETTLEMENT_FILE_HEADER,
  settlementDayWindow,
} from '../../src/domain/reconcile.js';
import {
  AT,
  type CsvRow,
  csvLine,
  csvOf,
  DAY,
  ledgerRefund,
  ledgerSale,
  ledgerVoid,
  networkOf,
  rrn,
} from './support.js';

const run = (rows: (CsvRow | string)[], ledger: LedgerRow[], window = settlementDayWindow(DAY)) =>
  reconcileSettlementLines(linesOf(csvOf(rows)), ledger, { window });

const kinds = (r: ReconcileResult) => r.mismatches.map((m) => [m.kind, m.reference]);

function domainErrorOf(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a DomainError');
}

describe('settlement file parser', () => {
  const good = networkOf(ledgerSale(1, 2_500));

  it('accepts the exact header, with a byte-order mark or a CR line end', () => {
    expect(() => checkSettlementHeader(SETTLEMENT_FILE_HEADER)).not.toThrow();
    expect(() => checkSettlementHeader(`\uFEFF${SETTLEMENT_FILE_HEADER}\r`)).not.toThrow();
  });

  it('refuses a file whose header differs, naming line 1', async () => {
    const e = domainErrorOf(() => checkSettlementHeader('rrn,amount'));
    expect(e.code).toBe('validation_failed');
    expect(e.detail).toMatch(/^line 1: the header must be/);
    await expect(
      reconcileSettlementLines(['rrn,terminal_id,stan,batch_no,kind,amount,currency'], []),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('refuses an empty file', async () => {
    await expect(reconcileSettlementLines([], [])).rejects.toMatchObject({
      code: 'validation_failed',
      detail: 'the settlement file is empty',
    });
  });

  it('parses a good row into typed fields', () => {
    const p = parseSettlementRow(csvLine(good), 2);
    expect(p).toEqual({ ok: true, row: { ...good, line: 2 } });
    const refund = parseSettlementRow(`${csvLine(networkOf(ledgerRefund(3, 1, 100)))}\r`, 7);
    expect(refund.ok && refund.row.originalRrn).toBe(rrn(1));
  });

  it.each([
    ['a decimal amount', { amountMinor: '25.00' }, /amount_minor "25.00" is not a positive integer/],
    ['a negative amount', { amountMinor: '-100' }, /amount_minor "-100"/],
    ['a zero amount', { amountMinor: '0' }, /amount_minor "0"/],
    ['an amount of 16 digits', { amountMinor: '1234567890123456' }, /amount_minor \(16 characters\) is not/],
    ['an unknown kind', { kind: 'chargeback' }, /kind "chargeback" is not one of sale, void, refund/],
    [
      'an unknown status',
      { status: 'declined' },
      /status "declined" is not one of approved, reversed, voided/,
    ],
    [
      'a voided refund',
      { kind: 'refund', originalRrn: rrn(1), status: 'voided' },
      /a refund cannot be voided, only a sale/,
    ],
    ['a short RRN', { rrn: '12345' }, /rrn "12345" is not 12 letters or digits/],
    ['a lower-case currency', { currency: 'cny' }, /currency "cny"/],
    ['a bad time', { createdAt: '2026-03-10 04:00:00' }, /created_at "2026-03-10 04:00:00"/],
    ['an impossible time', { createdAt: '2026-13-45T04:00:00Z' }, /not a real time/],
    ['a sale with an original', { originalRrn: rrn(9) }, /a sale has no original_rrn/],
  ])('reports %s with its line number', (_what, over, message) => {
    const cells = { ...good, ...over } as unknown as CsvRow;
    const p = parseSettlementRow(csvLine(cells), 5);
    expect(p.ok).toBe(false);
    if (!p.ok) {
      expect(p.invalid.line).toBe(5);
      expect(p.invalid.detail).toMatch(/^line 5: /);
      expect(p.invalid.detail).toMatch(message);
    }
  });

  it('reports a refund or void without the original RRN, and a wrong column count', () => {
    const refund = parseSettlementRow(
      csvLine({ ...networkOf(ledgerRefund(3, 1, 100)), originalRrn: null }),
      3,
    );
    expect(!refund.ok && refund.invalid.detail).toMatch(/a refund needs the sale's original_rrn/);
    const short = parseSettlementRow('031000000001,T0000001,000001', 4);
    expect(!short.ok && short.invalid.detail).toBe('line 4: 3 columns, expected 11');
    const quoted = parseSettlementRow(`${csvLine(good)},"x"`, 6);
    expect(!quoted.ok && quoted.invalid.detail).toBe('line 6: 12 columns, expected 11');
  });

  it('does not echo a long value (it might be a card number) in a bad-row message', () => {
    const p = parseSettlementRow(csvLine({ ...good, terminalId: '6222021000012345678' }), 2);
    expect(!p.ok && p.invalid.detail).toBe(
      'line 2: terminal_id (19 characters) is not 1–16 letters or digits',
    );
  });

  it('lists bad rows by line, still reconciles the good ones, and is not balanced', async () => {
    const a = ledgerSale(1, 1_000);
    const b = ledgerSale(2, 2_000);
    const r = await run(
      [networkOf(a), csvLine({ ...networkOf(b), amountMinor: 'x' as unknown as number }), '', networkOf(b)],
      [a, b],
    );
    expect(r.matched).toBe(2);
    expect(r.mismatches).toEqual([]);
    expect(r.invalidRowCount).toBe(1);
    expect(r.invalidRows).toEqual([
      { line: 3, detail: 'line 3: amount_minor "x" is not a positive integer of minor units' },
    ]);
    expect(r.rows).toBe(2);
    expect(r.balanced).toBe(false);
  });

  it('counts every bad row but lists only the first ones', async () => {
    const bad = Array.from({ length: MAX_INVALID_ROWS_LISTED + 200 }, () => 'garbage');
    const r = await run(bad, []);
    expect(r.invalidRowCount).toBe(MAX_INVALID_ROWS_LISTED + 200);
    expect(r.invalidRows).toHaveLength(MAX_INVALID_ROWS_LISTED);
    expect(r.invalidRows[0]?.line).toBe(2);
  });

  it('treats a row dated outside the settlement day as a bad row', async () => {
    const a = ledgerSale(1, 1_000);
    const r = await run([networkOf(a, { createdAt: '2026-03-11T00:00:00.000Z' })], [a]);
    expect(r.invalidRows[0]?.detail).toMatch(/^line 2: created_at 2026-03-11T00:00:00.000Z is outside/);
    expect(r.rows).toBe(0);
  });
});

describe('settlement day', () => {
  it('is the UTC calendar date by default, with a look-back before it', () => {
    expect(settlementDayWindow('2026-03-10')).toEqual({
      from: '2026-03-10T00:00:00.000Z',
      to: '2026-03-11T00:00:00.000Z',
      lookbackFrom: '2026-03-09T23:55:00.000Z',
    });
  });

  it('follows a network cut-off given as minutes from UTC midnight', () => {
    // UnionPay-style 23:00 Beijing cut-off = 15:00 UTC the day before.
    expect(settlementDayWindow('2026-03-10', -540)).toMatchObject({
      from: '2026-03-09T15:00:00.000Z',
      to: '2026-03-10T15:00:00.000Z',
    });
  });

  it.each(['2026-02-30', '2026-3-10', '10/03/2026', ''])('refuses %j', (day) => {
    expect(domainErrorOf(() => settlementDayWindow(day)).code).toBe('validation_failed');
  });
});

describe('matcher', () => {
  const saleA = ledgerSale(1, 10_000);
  const saleB = ledgerSale(2, 20_000, { status: 'voided' });
  const voidB = ledgerVoid(2, 3, 20_000);
  const refundA = ledgerRefund(4, 1, 2_500);
  const balancedLedger = [saleA, saleB, voidB, refundA];
  const balancedFile = balancedLedger.map((r) => networkOf(r));

  it('matches sales and refunds by RRN and kind, and a void through its original RRN', async () => {
    const r = await run(balancedFile, balancedLedger);
    expect(r.mismatches).toEqual([]);
    expect(r.matched).toBe(4);
    expect(r.balanced).toBe(true);
    expect(r.totals.network).toEqual({
      sales: { count: 2, amountMinor: 30_000 },
      voids: { count: 1, amountMinor: 20_000 },
      refunds: { count: 1, amountMinor: 2_500 },
      reversed: { count: 0, amountMinor: 0 },
    });
    const { reversed: _, ...networkApproved } = r.totals.network;
    expect(r.totals.ledger).toEqual(networkApproved);
  });

  it('matches a void whose own RRN we never learnt', () => {
    const v = ledgerVoid(2, null, 20_000);
    const r = reconcile([{ ...networkOf(voidB), line: 2 }], [v]);
    expect(r.mismatches).toEqual([]);
    expect(r.matched).toBe(1);
  });

  it('lists a network row our ledger does not have as missing_in_ledger', async () => {
    const extra = networkOf(ledgerSale(9, 777));
    const r = await run([...balancedFile, extra], balancedLedger);
    expect(kinds(r)).toEqual([['missing_in_ledger', rrn(9)]]);
    expect(r.mismatches[0]?.networkRow?.line).toBe(6);
    expect(r.mismatches[0]?.detail).toMatch(
      /the network approved sale 031000000009 for 777 CNY; our ledger has no such sale/,
    );
  });

  it('lists a row the network books twice as missing_in_ledger, naming the first line', async () => {
    const r = await run([...balancedFile, networkOf(refundA)], balancedLedger);
    expect(kinds(r)).toEqual([['missing_in_ledger', rrn(4)]]);
    expect(r.mismatches[0]?.detail).toMatch(/again \(first on line 5\)/);
  });

  it('lists our standing rows the file lacks as missing_in_network, but not a failed refund', async () => {
    const failed = ledgerRefund(5, 1, 300, 'failed');
    const r = await run(
      balancedFile.filter((n) => n.rrn !== rrn(1) && n.kind !== 'void'),
      [...balancedLedger, failed],
    );
    expect(kinds(r)).toEqual([
      ['missing_in_network', rrn(1)],
      ['missing_in_network', rrn(3)],
    ]);
    expect(r.mismatches[0]?.ledgerRow?.paymentId).toBe('pay_1');
    expect(r.mismatches[1]?.detail).toMatch(/the void of sale 031000000002/);
  });

  it('lists a different amount or currency as amount_differs', async () => {
    const file = balancedFile.map((n) =>
      n.rrn === rrn(1) ? { ...n, amountMinor: 10_001 } : n.rrn === rrn(4) ? { ...n, currency: 'USD' } : n,
    );
    const r = await run(file, balancedLedger);
    expect(kinds(r)).toEqual([
      ['amount_differs', rrn(1)],
      ['amount_differs', rrn(4)],
    ]);
    expect(r.mismatches[0]?.detail).toBe(
      'sale 031000000001: the network has 10001 CNY, our ledger 10000 CNY',
    );
    expect(r.mismatches[0]?.ledgerRow).toEqual(saleA);
  });

  it('lists a refund the network reversed but we count as succeeded as status_differs', async () => {
    const file = balancedFile.map((n) => (n.kind === 'refund' ? { ...n, status: 'reversed' as const } : n));
    const r = await run(file, balancedLedger);
    expect(kinds(r)).toEqual([['status_differs', rrn(4)]]);
    expect(r.mismatches[0]?.detail).toBe(
      'the network reversed refund 031000000004; our ledger has it succeeded',
    );
    expect(r.totals.network.reversed).toEqual({ count: 1, amountMinor: 2_500 });
  });

  it('accepts a reversed row that matches nothing standing with us', async () => {
    const failed = ledgerRefund(5, 1, 300, 'failed');
    const reversedSale = networkOf(ledgerSale(8, 50), { status: 'reversed' });
    const r = await run(
      [...balancedFile, networkOf(failed, { status: 'reversed' }), reversedSale],
      [...balancedLedger, failed],
    );
    expect(r.mismatches).toEqual([]);
    expect(r.matched).toBe(6);
  });

  it('lists a refund the network approved but we failed, or still process, as status_differs', async () => {
    for (const status of ['failed', 'processing']) {
      const r = await run(balancedFile, [saleA, saleB, voidB, { ...refundA, status }]);
      expect(kinds(r)).toEqual([['status_differs', rrn(4)]]);
      expect(r.mismatches[0]?.detail).toBe(
        `the network approved refund 031000000004 (of sale 031000000001); our ledger has it ${status}`,
      );
    }
  });

  it('lists a void the network approved on a sale we still count as captured as status_differs', async () => {
    const r = await run(balancedFile, [saleA, { ...saleB, status: 'captured' }, refundA]);
    expect(kinds(r)).toEqual([['status_differs', rrn(3)]]);
    expect(r.mismatches[0]?.ledgerRow?.kind).toBe('sale');
    expect(r.mismatches[0]?.detail).toMatch(/our ledger has the payment captured, not voided/);
  });

  it('matches a sale the network marks voided against our voided payment, and lists it against a captured one', async () => {
    const file = balancedFile.map((n) => (n.rrn === rrn(2) ? { ...n, status: 'voided' as const } : n));
    const ok = await run(file, balancedLedger);
    expect(ok.mismatches).toEqual([]);
    expect(ok.totals.network.sales).toEqual({ count: 2, amountMinor: 30_000 });
    const r = await run(file, [saleA, { ...saleB, status: 'captured' }, refundA]);
    expect(kinds(r)).toEqual([
      ['status_differs', rrn(2)],
      ['status_differs', rrn(3)],
    ]);
    expect(r.mismatches[0]?.detail).toBe(
      'the network has sale 031000000002 voided; our ledger has it captured',
    );
  });

  it('lists a void or sale the network reversed while we still hold it as status_differs', async () => {
    const file = balancedFile.map((n) => (n.kind === 'refund' ? n : { ...n, status: 'reversed' as const }));
    const r = await run(file, balancedLedger);
    expect(kinds(r)).toEqual([
      ['status_differs', rrn(1)],
      ['status_differs', rrn(2)],
      ['status_differs', rrn(3)],
    ]);
  });

  it('uses our rows from just before the day to match, and never reports them missing', async () => {
    const early = ledgerSale(6, 600, { at: '2026-03-09T23:59:59.990Z' });
    const earlier = ledgerSale(7, 700, { at: '2026-03-09T23:58:00.000Z' });
    const r = await run([networkOf(early)], [early, earlier]);
    expect(r.mismatches).toEqual([]);
    expect(r.matched).toBe(1);
  });

  it('says a row sent just before the day ended may be in the next day file', async () => {
    const late = ledgerSale(6, 600, { at: '2026-03-10T23:59:59.990Z' });
    const r = await run([], [late]);
    expect(kinds(r)).toEqual([['missing_in_network', rrn(6)]]);
    expect(r.mismatches[0]?.detail).toMatch(/may have booked it on the next day/);
  });

  it('any ledger written out as the network file balances; dropping a standing row leaves exactly that one missing (property)', () => {
    const ledgerArb = fc
      .uniqueArray(
        fc.record({
          n: fc.integer({ min: 1, max: 99_999 }),
          amount: fc.integer({ min: 1, max: 10_000_000 }),
          voided: fc.boolean(),
          refunds: fc.array(fc.constantFrom('succeeded', 'failed'), { maxLength: 2 }),
        }),
        { selector: (s) => s.n, minLength: 1, maxLength: 30 },
      )
      .map((sales) => {
        const rows: LedgerRow[] = [];
        for (const s of sales) {
          rows.push(ledgerSale(s.n * 10, s.amount, { status: s.voided ? 'voided' : 'captured' }));
          if (s.voided) rows.push(ledgerVoid(s.n * 10, s.n * 10 + 1, s.amount));
          for (const [i, status] of s.refunds.entries())
            rows.push(ledgerRefund(s.n * 10 + 2 + i, s.n * 10, 1 + i, status));
        }
        return rows;
      });
    fc.assert(
      fc.property(ledgerArb, fc.nat(), (ledger, pick) => {
        // The network holds approved what stands with us, and reversed what failed.
        const file = ledger.map((r, i) => ({
          ...networkOf(r, { status: r.status === 'failed' ? 'reversed' : 'approved' }),
          line: i + 2,
        }));
        const all = reconcile(file, ledger);
        expect(all.mismatches).toEqual([]);
        expect(all.matched).toBe(file.length);
        const standing = file.filter((r) => r.status === 'approved');
        const dropped = standing[pick % standing.length];
        const partial = reconcile(
          file.filter((r) => r !== dropped),
          ledger,
        );
        expect(partial.mismatches.map((m) => m.kind)).toEqual(['missing_in_network']);
        expect(partial.mismatches[0]?.ledgerRow?.kind).toBe(dropped?.kind);
      }),
    );
  });
});

describe('streaming', () => {
  it('calls onProgress every N lines and once at the end', async () => {
    const sales = Array.from({ length: 35 }, (_, i) => ledgerSale(i + 1, 100 + i));
    const seen: number[] = [];
    const r = await reconcileSettlementLines(linesOf(csvOf(sales.map((s) => networkOf(s)))), sales, {
      onProgress: (n) => seen.push(n),
      progressEveryLines: 10,
    });
    expect(r.matched).toBe(35);
    expect(seen).toEqual([10, 20, 30, 36]);
  });

  it('reconciles a 50,000-line file as it streams in, never reading ahead of the matcher', async () => {
    const N = 50_000;
    const ledger = Array.from({ length: N }, (_, i) => ledgerSale(i + 1, 1 + (i % 9_999)));
    let produced = 0;
    async function* lines() {
      yield SETTLEMENT_FILE_HEADER;
      produced++;
      for (const row of ledger) {
        yield csvLine(networkOf(row));
        produced++;
      }
    }
    let calls = 0;
    let maxAhead = 0;
    const r = await reconcileSettlementLines(lines(), ledger, {
      window: settlementDayWindow(DAY),
      onProgress: (done) => {
        calls++;
        maxAhead = Math.max(maxAhead, produced - done);
      },
    });
    expect(r.matched).toBe(N);
    expect(r.balanced).toBe(true);
    expect(r.totals.network.sales.count).toBe(N);
    expect(calls).toBe(51); // every 1,000 of 50,001 lines, and the end
    expect(maxAhead).toBeLessThanOrEqual(1);
  });

  it('reconciles a 50,000-line file on disk read with node:readline, listing the planted mismatches', async () => {
    const N = 50_000;
    const ledger = Array.from({ length: N }, (_, i) => ledgerSale(i + 1, 500));
    const file = join(mkdtempSync(join(tmpdir(), 'refund-desk-recon-')), 'big.csv');
    const rows = ledger.map((row, i) =>
      i === 12_345 ? networkOf(row, { amountMinor: 501 }) : networkOf(row, { createdAt: AT }),
    );
    rows.splice(40_000, 1);
    writeFileSync(file, csvOf(rows));
    const input = createReadStream(file);
    const r = await reconcileSettlementLines(
      createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY }),
      ledger,
      {
        window: settlementDayWindow(DAY),
      },
    );
    expect(r.rows).toBe(N - 1);
    expect(r.matched).toBe(N - 2);
    expect(kinds(r)).toEqual([
      ['amount_differs', rrn(12_346)],
      ['missing_in_network', rrn(40_001)],
    ]);
  });
});
