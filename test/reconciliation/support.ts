import { type LedgerRow, type NetworkRow, SETTLEMENT_FILE_HEADER } from '../../src/domain/reconcile.js';

/** Fixtures for reconciliation tests: one day's rows on both sides, and the CSV the network writes. */
export const DAY = '2026-03-10';
export const AT = `${DAY}T04:00:00.000Z`;

export function rrn(n: number): string {
  return `0310${String(n).padStart(8, '0')}`;
}

export function ledgerSale(n: number, amountMinor: number, over: Partial<LedgerRow> = {}): LedgerRow {
  return {
    kind: 'sale',
    reference: rrn(n),
    originalReference: null,
    amountMinor,
    currency: 'CNY',
    status: 'captured',
    paymentId: `pay_${n}`,
    refundId: null,
    at: AT,
    ...over,
  };
}

export function ledgerVoid(saleN: number, voidN: number | null, amountMinor: number): LedgerRow {
  return {
    kind: 'void',
    reference: voidN === null ? null : rrn(voidN),
    originalReference: rrn(saleN),
    amountMinor,
    currency: 'CNY',
    status: 'voided',
    paymentId: `pay_${saleN}`,
    refundId: null,
    at: AT,
  };
}

export function ledgerRefund(
  n: number,
  saleN: number,
  amountMinor: number,
  status = 'succeeded',
  over: Partial<LedgerRow> = {},
): LedgerRow {
  return {
    kind: 'refund',
    reference: rrn(n),
    originalReference: rrn(saleN),
    amountMinor,
    currency: 'CNY',
    status,
    paymentId: `pay_${saleN}`,
    refundId: `rf_${n}`,
    at: AT,
    ...over,
  };
}

export type CsvRow = Omit<NetworkRow, 'line'>;

/** The network's side of a ledger row, approved, as the simulator would write it. */
export function networkOf(row: LedgerRow, over: Partial<CsvRow> = {}): CsvRow {
  return {
    rrn: row.reference ?? rrn(999_999),
    terminalId: 'T0000001',
    stan: '000001',
    batchNo: '000001',
    kind: row.kind,
    amountMinor: row.amountMinor,
    currency: row.currency,
    originalRrn: row.originalReference,
    status: 'approved',
    responseCode: '00',
    createdAt: AT,
    ...over,
  };
}

export function csvLine(r: CsvRow): string {
  return [
    r.rrn,
    r.terminalId,
    r.stan,
    r.batchNo,
    r.kind,
    r.amountMinor,
    r.currency,
    r.originalRrn ?? '',
    r.status,
    r.responseCode,
    r.createdAt,
  ].join(',');
}

export function csvOf(rows: (CsvRow | string)[]): string {
  return `${[SETTLEMENT_FILE_HEADER, ...rows.map((r) => (typeof r === 'string' ? r : csvLine(r)))].join('\n')}\n`;
}
