import { DomainError, invariant } from './errors.js';

/**
 * Reconciliation (对账, PRODUCT.md §6): the network's daily settlement file against our ledger,
 * listing every difference. Pure: no I/O, no clock; the lines and the ledger rows are passed in.
 *
 * Matching: by RRN and kind. A `sale` or `refund` row matches our sale or refund with that RRN; a
 * `void` row matches our voided payment through its original (the sale's) RRN. A `reversed` row
 * must match nothing standing with us: a sale, a void or a succeeded refund with that key is a
 * `status_differs`; so is a sale the network marks `voided` that we hold as captured. Our
 * standing rows the file does not hold are `missing_in_network`.
 *
 * Streaming: the ledger side (one merchant's day, bounded by our own store) is indexed in memory;
 * the file is consumed line by line, so a big file is never held whole.
 */

export const SETTLEMENT_FILE_HEADER =
  'rrn,terminal_id,stan,batch_no,kind,amount_minor,currency,original_rrn,status,response_code,created_at';
const COLUMN_COUNT = SETTLEMENT_FILE_HEADER.split(',').length;

export const networkKinds = ['sale', 'void', 'refund'] as const;
export type NetworkKind = (typeof networkKinds)[number];
/** `voided`: a sale the network later voided (its void is a row of its own). */
export const networkStatuses = ['approved', 'reversed', 'voided'] as const;
export type NetworkStatus = (typeof networkStatuses)[number];
export const mismatchKinds = [
  'missing_in_ledger',
  'missing_in_network',
  'amount_differs',
  'status_differs',
] as const;
export type MismatchKind = (typeof mismatchKinds)[number];

/** Limits: a line longer than this is malformed; a file longer than this is refused. */
export const MAX_LINE_LENGTH = 1_024;
export const MAX_FILE_LINES = 10_000_000;
/** Bad rows are all counted, and the first this many are listed (line and reason). */
export const MAX_INVALID_ROWS_LISTED = 1_000;
export const DEFAULT_PROGRESS_EVERY_LINES = 1_000;
/**
 * The ledger is read from this long before the day starts: a request we sent just before midnight
 * may be booked by the network just after it, in this day's file.
 */
export const DAY_LOOKBACK_MS = 5 * 60_000;
/** A ledger row sent this close to the day's end may be booked by the network the next day. */
export const DAY_END_MARGIN_MS = DAY_LOOKBACK_MS;

/** One row of the network's settlement file, parsed. */
export interface NetworkRow {
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  rrn: string;
  terminalId: string;
  stan: string;
  batchNo: string;
  kind: NetworkKind;
  amountMinor: number;
  currency: string;
  originalRrn: string | null;
  status: NetworkStatus;
  responseCode: string;
  createdAt: string;
}

/** One network transaction as our ledger has it. */
export interface LedgerRow {
  kind: NetworkKind;
  /** The transaction's own RRN; null for a void whose RRN we never learnt (matched by its original). */
  reference: string | null;
  /** The sale's RRN, for voids and refunds. */
  originalReference: string | null;
  amountMinor: number;
  currency: string;
  /** sale: `captured` | `voided`; void: `voided`; refund: the refund's status. */
  status: string;
  paymentId: string;
  refundId: string | null;
  /** When the request went to the network (ISO-8601 UTC). */
  at: string;
}

export interface Mismatch {
  kind: MismatchKind;
  reference: string;
  networkRow?: NetworkRow;
  ledgerRow?: LedgerRow;
  detail: string;
}

export interface InvalidRow {
  line: number;
  detail: string;
}

export interface Tally {
  count: number;
  amountMinor: number;
}
export interface LedgerTotals {
  sales: Tally;
  voids: Tally;
  refunds: Tally;
}
/** Approved rows per kind, and the reversed rows (which move no money). */
export interface NetworkTotals extends LedgerTotals {
  reversed: Tally;
}

export interface ReconcileResult {
  /** Network rows that agree with the ledger. */
  matched: number;
  mismatches: Mismatch[];
  /** The first MAX_INVALID_ROWS_LISTED bad rows; `invalidRowCount` counts them all. */
  invalidRows: InvalidRow[];
  invalidRowCount: number;
  /** Data rows read (header and blank lines excluded). */
  rows: number;
  totals: { network: NetworkTotals; ledger: LedgerTotals };
  /** No mismatch and no bad row. */
  balanced: boolean;
}

// ---- the settlement day ---------------------------------------------------------------------

/**
 * The day rule: settlement day D holds the transactions the network booked from D's cut-off to
 * the next, the cut-off given in minutes from D 00:00 UTC. The bundled simulator cuts by the UTC
 * date of its `created_at` (offset 0, i.e. 08:00 in Shanghai), so its file for D is not the
 * Shanghai calendar day that daily refund limits use; a real acquirer's cut-off is passed instead
 * (UnionPay-style 23:00 Beijing time the evening before: −540).
 */
export function settlementDayWindow(
  day: string,
  cutoffOffsetMinutes = 0,
): { from: string; to: string; lookbackFrom: string } {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  const start = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== day) {
    throw new DomainError('validation_failed', `day must be a calendar date YYYY-MM-DD, got "${day}"`);
  }
  const from = start + cutoffOffsetMinutes * 60_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  return { from: iso(from), to: iso(from + 86_400_000), lookbackFrom: iso(from - DAY_LOOKBACK_MS) };
}

// ---- parsing --------------------------------------------------------------------------------

/** Line 1 must be the header exactly (a byte-order mark and a CR line end are tolerated). */
export function checkSettlementHeader(line: string | undefined): void {
  if (line === undefined) throw new DomainError('validation_failed', 'the settlement file is empty');
  const header = line.replace(/^\uFEFF/, '').replace(/\r$/, '');
  if (header !== SETTLEMENT_FILE_HEADER) {
    throw new DomainError(
      'validation_failed',
      `line 1: the header must be "${SETTLEMENT_FILE_HEADER}", got "${header.slice(0, 200)}"`,
    );
  }
}

/**
 * A value quoted in an error message, unless it is long or holds a long run of digits: a card
 * number pasted into the wrong file must not travel on into the stored run.
 */
const shown = (v: string) => (v.length <= 32 && !/[0-9]{13}/.test(v) ? `"${v}"` : `(${v.length} characters)`);

type Parsed = { ok: true; row: NetworkRow } | { ok: false; invalid: InvalidRow };

const fieldRules: Record<string, { re: RegExp; what: string }> = {
  rrn: { re: /^[0-9A-Za-z]{12}$/, what: '12 letters or digits' },
  terminal_id: { re: /^[0-9A-Za-z]{1,16}$/, what: '1–16 letters or digits' },
  stan: { re: /^[0-9]{6}$/, what: '6 digits' },
  batch_no: { re: /^[0-9]{6}$/, what: '6 digits' },
  amount_minor: { re: /^[1-9][0-9]{0,14}$/, what: 'a positive integer of minor units' },
  currency: { re: /^[A-Z]{3}$/, what: 'an ISO 4217 code' },
  response_code: { re: /^[0-9A-Za-z]{2}$/, what: '2 letters or digits' },
  created_at: {
    re: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/,
    what: 'an ISO-8601 UTC time',
  },
};

/** Parse one data line; a bad line yields its line number and the first thing wrong with it. */
export function parseSettlementRow(text: string, line: number): Parsed {
  const bad = (detail: string): Parsed => ({
    ok: false,
    invalid: { line, detail: `line ${line}: ${detail}` },
  });
  const raw = text.endsWith('\r') ? text.slice(0, -1) : text;
  if (raw.length > MAX_LINE_LENGTH) return bad(`longer than ${MAX_LINE_LENGTH} characters`);
  const cells = raw.split(',');
  if (cells.length !== COLUMN_COUNT) return bad(`${cells.length} columns, expected ${COLUMN_COUNT}`);
  const [
    rrn,
    terminalId,
    stan,
    batchNo,
    kind,
    amount,
    currency,
    originalRrn,
    status,
    responseCode,
    createdAt,
  ] = cells as [string, string, string, string, string, string, string, string, string, string, string];
  const values: Record<string, string> = {
    rrn,
    terminal_id: terminalId,
    stan,
    batch_no: batchNo,
    amount_minor: amount,
    currency,
    response_code: responseCode,
    created_at: createdAt,
  };
  for (const [column, rule] of Object.entries(fieldRules)) {
    const v = values[column] ?? '';
    if (!rule.re.test(v)) return bad(`${column} ${shown(v)} is not ${rule.what}`);
  }
  if (!(networkKinds as readonly string[]).includes(kind))
    return bad(`kind ${shown(kind)} is not one of ${networkKinds.join(', ')}`);
  if (!(networkStatuses as readonly string[]).includes(status))
    return bad(`status ${shown(status)} is not one of ${networkStatuses.join(', ')}`);
  const amountMinor = Number(amount);
  if (!Number.isSafeInteger(amountMinor)) return bad(`amount_minor ${shown(amount)} is out of range`);
  if (Number.isNaN(Date.parse(createdAt))) return bad(`created_at ${shown(createdAt)} is not a real time`);
  if (kind === 'sale' && originalRrn !== '') return bad('a sale has no original_rrn');
  if (status === 'voided' && kind !== 'sale') return bad(`a ${kind} cannot be voided, only a sale`);
  if (kind !== 'sale' && !fieldRules.rrn?.re.test(originalRrn))
    return bad(`a ${kind} needs the sale's original_rrn (12 letters or digits), got ${shown(originalRrn)}`);
  return {
    ok: true,
    row: {
      line,
      rrn,
      terminalId,
      stan,
      batchNo,
      kind: kind as NetworkKind,
      amountMinor,
      currency,
      originalRrn: originalRrn === '' ? null : originalRrn,
      status: status as NetworkStatus,
      responseCode,
      createdAt,
    },
  };
}

// ---- matching -------------------------------------------------------------------------------

const bucketOf = { sale: 'sales', void: 'voids', refund: 'refunds' } as const;
const emptyTally = (): Tally => ({ count: 0, amountMinor: 0 });
const add = (t: Tally, amountMinor: number) => {
  t.count++;
  t.amountMinor += amountMinor;
};

/** Voids are keyed by the sale they cancel: the network's void RRN is new to us until it answers. */
function keyOf(kind: NetworkKind, reference: string | null, originalReference: string | null): string {
  return kind === 'void' ? `void:${originalReference}` : `${kind}:${reference}`;
}

/** Whether the row moves money on our side: what the network must hold as approved. */
export function isStanding(row: LedgerRow): boolean {
  return row.kind === 'refund' ? row.status === 'succeeded' : true;
}

const money = (amountMinor: number, currency: string) => `${amountMinor} ${currency}`;

/**
 * Feed network rows one at a time, then `finish()`. Memory holds the ledger index and the
 * mismatches, never the file.
 */
export class Reconciler {
  private readonly byKey = new Map<string, LedgerRow[]>();
  private readonly salesByRrn = new Map<string, LedgerRow>();
  private readonly used = new Set<LedgerRow>();
  /** First line of each key, to name duplicates. */
  private readonly seen = new Map<string, number>();
  private readonly mismatches: Mismatch[] = [];
  private readonly invalidRows: InvalidRow[] = [];
  private invalidRowCount = 0;
  private matched = 0;
  private rows = 0;
  private networkSideMismatches = 0;
  private readonly networkTotals: NetworkTotals = {
    sales: emptyTally(),
    voids: emptyTally(),
    refunds: emptyTally(),
    reversed: emptyTally(),
  };
  private readonly ledgerTotals: LedgerTotals = {
    sales: emptyTally(),
    voids: emptyTally(),
    refunds: emptyTally(),
  };

  /**
   * @param window when given, rows dated outside [from, to) are bad rows, and our rows sent
   * before `from` (read for the look-back) are only there to be matched, never reported.
   */
  constructor(
    private readonly ledger: readonly LedgerRow[],
    private readonly window: { from: string; to: string } | null = null,
  ) {
    for (const row of ledger) {
      const key = keyOf(row.kind, row.reference, row.originalReference);
      const list = this.byKey.get(key);
      if (list) list.push(row);
      else this.byKey.set(key, [row]);
      if (row.kind === 'sale' && row.reference) this.salesByRrn.set(row.reference, row);
    }
  }

  private inDay(row: LedgerRow): boolean {
    return !this.window || row.at >= this.window.from;
  }

  invalid(row: InvalidRow): void {
    this.invalidRowCount++;
    if (this.invalidRows.length < MAX_INVALID_ROWS_LISTED) this.invalidRows.push(row);
  }

  private mismatch(m: Mismatch): void {
    this.mismatches.push(m);
    if (m.networkRow) this.networkSideMismatches++;
  }

  add(row: NetworkRow): void {
    if (this.window && (row.createdAt < this.window.from || row.createdAt >= this.window.to)) {
      this.invalid({
        line: row.line,
        detail: `line ${row.line}: created_at ${row.createdAt} is outside the settlement day [${this.window.from}, ${this.window.to})`,
      });
      return;
    }
    this.rows++;
    const key = keyOf(row.kind, row.rrn, row.originalRrn);
    const firstLine = this.seen.get(key);
    if (firstLine === undefined) this.seen.set(key, row.line);
    const ledgerRow = this.byKey.get(key)?.find((r) => !this.used.has(r));
    if (ledgerRow) this.used.add(ledgerRow);
    if (row.status === 'reversed') {
      add(this.networkTotals.reversed, row.amountMinor);
      this.reversedRow(row, ledgerRow);
    } else {
      add(this.networkTotals[bucketOf[row.kind]], row.amountMinor);
      this.approvedRow(row, ledgerRow, firstLine);
    }
  }

  /** A reversed row moved no money: nothing standing with us may match it. */
  private reversedRow(row: NetworkRow, ledgerRow: LedgerRow | undefined): void {
    if (ledgerRow && isStanding(ledgerRow)) {
      this.mismatch({
        kind: 'status_differs',
        reference: row.rrn,
        networkRow: row,
        ledgerRow,
        detail: `the network reversed ${row.kind} ${row.rrn}; our ledger has it ${ledgerRow.status}`,
      });
      return;
    }
    this.matched++;
  }

  /** A row that moved money: approved, or a sale approved and voided later. */
  private approvedRow(
    row: NetworkRow,
    ledgerRow: LedgerRow | undefined,
    firstLine: number | undefined,
  ): void {
    const what = `${row.kind} ${row.rrn}${row.originalRrn ? ` (of sale ${row.originalRrn})` : ''}`;
    if (!ledgerRow) {
      const sale = row.kind === 'void' && row.originalRrn ? this.salesByRrn.get(row.originalRrn) : undefined;
      if (sale) {
        this.mismatch({
          kind: 'status_differs',
          reference: row.rrn,
          networkRow: row,
          ledgerRow: sale,
          detail: `the network approved ${what}; our ledger has the payment ${sale.status}, not voided`,
        });
        return;
      }
      this.mismatch({
        kind: 'missing_in_ledger',
        reference: row.rrn,
        networkRow: row,
        detail:
          firstLine === undefined
            ? `the network approved ${what} for ${money(row.amountMinor, row.currency)}; our ledger has no such ${row.kind}`
            : `the network approved ${what} again (first on line ${firstLine}); our ledger has it once`,
      });
      return;
    }
    if (!isStanding(ledgerRow)) {
      this.mismatch({
        kind: 'status_differs',
        reference: row.rrn,
        networkRow: row,
        ledgerRow,
        detail: `the network approved ${what}; our ledger has it ${ledgerRow.status}`,
      });
      return;
    }
    // A sale the network marks voided must be voided with us. (An `approved` sale we voided is
    // judged by its void row: files that keep the sale approved after a void are fine too.)
    if (row.status === 'voided' && ledgerRow.status !== 'voided') {
      this.mismatch({
        kind: 'status_differs',
        reference: row.rrn,
        networkRow: row,
        ledgerRow,
        detail: `the network has ${what} voided; our ledger has it ${ledgerRow.status}`,
      });
      return;
    }
    if (ledgerRow.amountMinor !== row.amountMinor || ledgerRow.currency !== row.currency) {
      this.mismatch({
        kind: 'amount_differs',
        reference: row.rrn,
        networkRow: row,
        ledgerRow,
        detail: `${what}: the network has ${money(row.amountMinor, row.currency)}, our ledger ${money(ledgerRow.amountMinor, ledgerRow.currency)}`,
      });
      return;
    }
    this.matched++;
  }

  finish(): ReconcileResult {
    for (const row of this.ledger) {
      // Our rows from the look-back count for this day only when this day's file holds them.
      if (!isStanding(row) || !(this.inDay(row) || this.used.has(row))) continue;
      add(this.ledgerTotals[bucketOf[row.kind]], row.amountMinor);
      if (this.used.has(row)) continue;
      const late =
        this.window && Date.parse(this.window.to) - Date.parse(row.at) <= DAY_END_MARGIN_MS
          ? '; it was sent just before the day ended, so the network may have booked it on the next day'
          : '';
      const what =
        row.kind === 'void' ? `the void of sale ${row.originalReference}` : `${row.kind} ${row.reference}`;
      this.mismatch({
        kind: 'missing_in_network',
        reference: row.reference ?? row.originalReference ?? '',
        ledgerRow: row,
        detail: `our ledger has ${what} for ${money(row.amountMinor, row.currency)} (sent ${row.at}); the network's file does not${late}`,
      });
    }
    // Every network row is either matched or the subject of exactly one mismatch.
    invariant(
      this.matched + this.networkSideMismatches === this.rows,
      `matched ${this.matched} + mismatched ${this.networkSideMismatches} = rows ${this.rows}`,
    );
    return {
      matched: this.matched,
      mismatches: this.mismatches,
      invalidRows: this.invalidRows,
      invalidRowCount: this.invalidRowCount,
      rows: this.rows,
      totals: { network: this.networkTotals, ledger: this.ledgerTotals },
      balanced: this.mismatches.length === 0 && this.invalidRowCount === 0,
    };
  }
}

/** Match parsed network rows against ledger rows. */
export function reconcile(
  networkRows: Iterable<NetworkRow>,
  ledgerRows: readonly LedgerRow[],
  window: { from: string; to: string } | null = null,
): ReconcileResult {
  const r = new Reconciler(ledgerRows, window);
  for (const row of networkRows) r.add(row);
  return r.finish();
}

export interface ReconcileFileOptions {
  /** The settlement day's window (see settlementDayWindow); null: no date check. */
  window?: { from: string; to: string } | null;
  /** Called every `progressEveryLines` lines and once at the end, with the lines read so far. */
  onProgress?: (linesDone: number) => void;
  progressEveryLines?: number;
}

/**
 * Parse and reconcile a settlement file given as lines (sync or async, e.g. node:readline over a
 * file or an HTTP body): the header is checked, every data row validated, and a bad row is listed
 * with its line number while the rest of the file is still reconciled.
 */
export async function reconcileSettlementLines(
  lines: AsyncIterable<string> | Iterable<string>,
  ledgerRows: readonly LedgerRow[],
  opts: ReconcileFileOptions = {},
): Promise<ReconcileResult> {
  const every = Math.max(1, opts.progressEveryLines ?? DEFAULT_PROGRESS_EVERY_LINES);
  const r = new Reconciler(ledgerRows, opts.window ?? null);
  let lineNo = 0;
  for await (const text of lines) {
    lineNo++;
    if (lineNo > MAX_FILE_LINES)
      throw new DomainError('validation_failed', `the settlement file has more than ${MAX_FILE_LINES} lines`);
    if (lineNo === 1) checkSettlementHeader(text);
    else if (text.trim() !== '') {
      const parsed = parseSettlementRow(text, lineNo);
      if (parsed.ok) r.add(parsed.row);
      else r.invalid(parsed.invalid);
    }
    if (lineNo % every === 0) opts.onProgress?.(lineNo);
  }
  if (lineNo === 0) checkSettlementHeader(undefined);
  opts.onProgress?.(lineNo);
  return r.finish();
}

/** Lines of an in-memory CSV text, lazily (no array of lines is built). */
export function* linesOf(text: string): Generator<string> {
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    if (end === -1) {
      yield text.slice(start);
      return;
    }
    yield text.slice(start, end);
    start = end + 1;
  }
}
