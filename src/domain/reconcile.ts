import { DomainError, invariant } from './errors.js';
import type { Localized } from './outcomes.js';

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
  /** missing_in_ledger: the network booked this key again; the line of its first booking. */
  duplicateOfLine?: number;
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

/** Sent so close to the day's end that the network may have booked it on the next day. */
function sentNearDayEnd(row: LedgerRow, window: { to: string } | null): boolean {
  return window !== null && Date.parse(window.to) - Date.parse(row.at) <= DAY_END_MARGIN_MS;
}

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
        ...(firstLine === undefined ? {} : { duplicateOfLine: firstLine }),
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
      const late = sentNearDayEnd(row, this.window)
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

// ---- advice ---------------------------------------------------------------------------------

/**
 * What the merchant should do about each mismatch (PRODUCT.md §6, seed 004: every problem shown
 * with its fix). One code per situation, refined by the kind of transaction and which side holds
 * what, with the text in the three UI languages; the pages may show the text or translate the code.
 */
export const adviceCodes = [
  'wait_for_next_day_file',
  'confirm_sale_with_acquirer',
  'confirm_void_with_acquirer',
  'confirm_refund_with_acquirer',
  'find_unrecorded_sale',
  'find_unrecorded_void',
  'find_unrecorded_refund',
  'ask_acquirer_to_reverse_duplicate',
  'ask_acquirer_to_correct_amount',
  'sale_reversed_at_network',
  'void_reversed_at_network',
  'refund_reversed_at_network',
  'voided_at_network_only',
  'refund_approved_at_network_only',
] as const;
export type AdviceCode = (typeof adviceCodes)[number];

export interface Advice {
  code: AdviceCode;
  text: Localized;
}

const adviceText: Readonly<Record<AdviceCode, Localized>> = {
  wait_for_next_day_file: {
    'zh-CN':
      '这笔交易在日切前几分钟才发出，网络方可能记在下一个清算日。请先对下一日的清算文件；那里仍没有，再按“网络方缺失”处理。',
    'zh-TW':
      '這筆交易在日切前幾分鐘才送出，網路方可能記在下一個清算日。請先核對下一日的清算檔；那裡仍沒有，再依「網路方缺少」處理。',
    en: "It was sent minutes before the day's cut-off, so the network may have booked it on the next settlement day. Reconcile the next day's file first; if it is missing there too, treat it as missing at the network.",
  },
  confirm_sale_with_acquirer: {
    'zh-CN':
      '网络方的清算文件里没有这笔消费，我方却记为已批准。请在订单时间线（链路日志）里核对当时的应答码和参考号，再持参考号（RRN）、终端号、流水号和批次号联系收单机构核实入账；核实前不要向消费者重复收款。',
    'zh-TW':
      '網路方的清算檔中沒有這筆消費，我方卻記為已核准。請在訂單時間軸（鏈路日誌）核對當時的回應碼和參考號，再持參考號（RRN）、終端機編號、流水號和批次號聯絡收單機構核實入帳；核實前請勿向消費者重複收款。',
    en: "The network's settlement file does not have this sale, yet our ledger holds it approved. Check the answer code and reference in the order's timeline (link journal), then ask the acquirer to confirm the booking, giving the RRN, terminal, trace (STAN) and batch numbers. Do not charge the consumer again until it is confirmed.",
  },
  confirm_void_with_acquirer: {
    'zh-CN':
      '网络方没有这笔撤销，原消费可能仍在扣消费者的款。请在订单时间线核对撤销的应答，再持原交易参考号联系收单机构；网络方确认撤销未生效时，改为对原交易做退款。',
    'zh-TW':
      '網路方沒有這筆撤銷，原消費可能仍在向消費者扣款。請在訂單時間軸核對撤銷的回應，再持原交易參考號聯絡收單機構；網路方確認撤銷未生效時，改為對原交易辦理退款。',
    en: "The network does not have this void, so the consumer may still be charged for the sale. Check the void's answer in the order's timeline, then contact the acquirer with the sale's RRN; if they confirm the void did not take effect, refund the sale instead.",
  },
  confirm_refund_with_acquirer: {
    'zh-CN':
      '网络方没有这笔退款，消费者可能还没收到钱。请在订单时间线核对退款的网络应答，再持退款参考号联系收单机构查询；确认网络方未受理之前，不要重复退款。',
    'zh-TW':
      '網路方沒有這筆退款，消費者可能還沒收到款項。請在訂單時間軸核對退款的網路回應，再持退款參考號聯絡收單機構查詢；確認網路方未受理之前，請勿重複退款。',
    en: "The network does not have this refund, so the consumer may not have received the money. Check the refund's network answer in the order's timeline, then ask the acquirer about it with the refund's RRN. Do not refund again until they confirm it was not processed.",
  },
  find_unrecorded_sale: {
    'zh-CN':
      '网络方有一笔我方没有记录的消费。请查该终端当时是否有中断的交易（订单时间线或链路日志里没有应答的请求本应已自动冲正）；是本店的交易，联系收单机构冲正或补录；不是本店的，请立即向收单机构报告。',
    'zh-TW':
      '網路方有一筆我方沒有紀錄的消費。請查該終端機當時是否有中斷的交易（訂單時間軸或鏈路日誌中沒有回應的請求本應已自動沖正）；是本店的交易，聯絡收單機構沖正或補登；不是本店的，請立即向收單機構報告。',
    en: 'The network has a sale our ledger does not. Look for an interrupted transaction on that terminal at that time (an unanswered request in the link journal should have been reversed automatically). If it is ours, ask the acquirer to reverse it or record it; if it is not, report it to the acquirer at once.',
  },
  find_unrecorded_void: {
    'zh-CN':
      '网络方撤销了一笔消费，我方没有这笔撤销的记录。请在订单时间线核对原交易；消费者未被扣款时，请联系技术支持更正我方记录，不要再为该订单退款。',
    'zh-TW':
      '網路方撤銷了一筆消費，我方沒有這筆撤銷的紀錄。請在訂單時間軸核對原交易；消費者未被扣款時，請聯絡技術支援更正我方紀錄，請勿再為該訂單退款。',
    en: "The network voided a sale our ledger has no void for. Check the original in the order's timeline; the consumer was not charged, so ask support to correct our records, and do not refund that order as well.",
  },
  find_unrecorded_refund: {
    'zh-CN':
      '网络方退了一笔我方没有记录的款，商户资金已经流出。请立即核对该参考号对应的原交易和操作员，并联系收单机构查询发起方；确认不是本店发起的，要求收单机构追回。',
    'zh-TW':
      '網路方退了一筆我方沒有紀錄的款項，商戶資金已經流出。請立即核對該參考號對應的原交易和操作員，並聯絡收單機構查詢發起方；確認不是本店發起的，要求收單機構追回。',
    en: "The network paid out a refund our ledger does not have: the merchant's money has left. Check the original sale and operator behind this reference at once and ask the acquirer who sent it; if it was not us, have the acquirer recover it.",
  },
  ask_acquirer_to_reverse_duplicate: {
    'zh-CN':
      '网络方把同一笔交易记了两次，我方只有一次。请持参考号和两行的行号联系收单机构，冲正重复的那一笔。',
    'zh-TW':
      '網路方把同一筆交易記了兩次，我方只有一次。請持參考號和兩行的行號聯絡收單機構，沖正重複的那一筆。',
    en: 'The network booked the same transaction twice; our ledger has it once. Ask the acquirer to reverse the duplicate, giving the reference and both line numbers.',
  },
  ask_acquirer_to_correct_amount: {
    'zh-CN':
      '两边金额（或币种）不一致。请以交易凭证（签购单）为准核对金额，再持参考号联系收单机构调账；凭证与我方记录也不一致时，请联系技术支持。',
    'zh-TW':
      '兩邊金額（或幣別）不一致。請以交易憑證（簽帳單）為準核對金額，再持參考號聯絡收單機構調帳；憑證與我方紀錄也不一致時，請聯絡技術支援。',
    en: 'The amounts (or currencies) differ. Check the amount on the transaction voucher (the signed slip) and ask the acquirer to correct its booking, giving the reference; if the voucher disagrees with our ledger too, contact support.',
  },
  sale_reversed_at_network: {
    'zh-CN':
      '网络方已冲正这笔消费（消费者没有被扣款），我方却记为已收款。请向消费者另行收款，或联系技术支持在我方把这笔交易标记为未成交；不要为它退款。',
    'zh-TW':
      '網路方已沖正這筆消費（消費者沒有被扣款），我方卻記為已收款。請向消費者另行收款，或聯絡技術支援在我方將這筆交易標記為未成交；請勿為它退款。',
    en: 'The network reversed this sale (the consumer was not charged), yet our ledger holds it paid. Collect the payment from the consumer another way, or ask support to mark the sale as not completed; do not refund it.',
  },
  void_reversed_at_network: {
    'zh-CN':
      '网络方冲正了这笔撤销，原消费仍然有效（消费者仍被扣款）。消费者确实应当拿回钱时，请对原交易做退款。',
    'zh-TW':
      '網路方沖正了這筆撤銷，原消費仍然有效（消費者仍被扣款）。消費者確實應拿回款項時，請對原交易辦理退款。',
    en: 'The network reversed this void, so the sale still stands and the consumer is still charged. If the consumer is owed the money, refund the sale.',
  },
  refund_reversed_at_network: {
    'zh-CN':
      '网络方冲正了这笔退款，消费者没有收到钱，我方却记为退款成功。请联系收单机构确认后，再为消费者重新退款，并告知消费者。',
    'zh-TW':
      '網路方沖正了這筆退款，消費者沒有收到款項，我方卻記為退款成功。請聯絡收單機構確認後，再為消費者重新退款，並告知消費者。',
    en: 'The network reversed this refund, so the consumer did not get the money, yet our ledger holds it succeeded. Confirm with the acquirer, then refund the consumer again and tell them.',
  },
  voided_at_network_only: {
    'zh-CN':
      '网络方已撤销这笔消费（消费者没有被扣款），我方仍记为已收款。请在订单时间线核对撤销请求；确认已撤销的，联系技术支持更正我方记录，不要再为该订单退款。',
    'zh-TW':
      '網路方已撤銷這筆消費（消費者沒有被扣款），我方仍記為已收款。請在訂單時間軸核對撤銷請求；確認已撤銷的，聯絡技術支援更正我方紀錄，請勿再為該訂單退款。',
    en: "The network voided this sale (the consumer was not charged), yet our ledger holds it paid. Check the void request in the order's timeline; once confirmed, ask support to correct our records, and do not refund that order.",
  },
  refund_approved_at_network_only: {
    'zh-CN':
      '网络方已批准这笔退款（钱已退给消费者），我方却没有记为成功。不要再次退款；等待结果同步，或联系技术支持更正退款状态。',
    'zh-TW':
      '網路方已核准這筆退款（款項已退給消費者），我方卻沒有記為成功。請勿再次退款；等待結果同步，或聯絡技術支援更正退款狀態。',
    en: 'The network approved this refund (the consumer has the money), yet our ledger does not hold it succeeded. Do not refund again; wait for the result to come through, or ask support to correct the refund status.',
  },
};

function adviceCodeFor(m: Mismatch, window: { to: string } | null): AdviceCode {
  const kind = m.networkRow?.kind ?? m.ledgerRow?.kind ?? 'sale';
  switch (m.kind) {
    case 'missing_in_network':
      if (m.ledgerRow && sentNearDayEnd(m.ledgerRow, window)) return 'wait_for_next_day_file';
      return kind === 'sale'
        ? 'confirm_sale_with_acquirer'
        : kind === 'void'
          ? 'confirm_void_with_acquirer'
          : 'confirm_refund_with_acquirer';
    case 'missing_in_ledger':
      if (m.duplicateOfLine !== undefined) return 'ask_acquirer_to_reverse_duplicate';
      return kind === 'sale'
        ? 'find_unrecorded_sale'
        : kind === 'void'
          ? 'find_unrecorded_void'
          : 'find_unrecorded_refund';
    case 'amount_differs':
      return 'ask_acquirer_to_correct_amount';
    case 'status_differs':
      if (m.networkRow?.status === 'reversed') {
        return kind === 'sale'
          ? 'sale_reversed_at_network'
          : kind === 'void'
            ? 'void_reversed_at_network'
            : 'refund_reversed_at_network';
      }
      // Approved (or voided) at the network: either the network voided a sale we hold captured,
      // or it approved a refund that is not succeeded with us (only refunds can be non-standing).
      return kind === 'refund' ? 'refund_approved_at_network_only' : 'voided_at_network_only';
  }
}

/**
 * What to do about one mismatch. Pure. `window` is the settlement day's (settlementDayWindow):
 * with it, a row of ours sent just before the day's end is advised to wait for the next day's file.
 */
export function adviseMismatch(m: Mismatch, window: { to: string } | null = null): Advice {
  const code = adviceCodeFor(m, window);
  return { code, text: adviceText[code] };
}
