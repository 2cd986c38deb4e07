import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { loadConfig } from '../config.js';
import { requirePermission } from '../domain/auth.js';
import { DomainError } from '../domain/errors.js';
import {
  adviseMismatch,
  type InvalidRow,
  type LedgerRow,
  type LedgerTotals,
  linesOf,
  type Mismatch,
  type NetworkTotals,
  type ReconcileResult,
  reconcileSettlementLines,
  settlementDayWindow,
  type Tally,
} from '../domain/reconcile.js';
import { ulid } from '../ids.js';
import { appendAudit } from '../store/audit.js';
import { migrate, openStore, type Tx } from '../store/db.js';
import type { ReconciliationTable } from '../store/schema.js';
import type { Caller, Ctx } from './context.js';
import { afterCursor, page } from './views.js';

/**
 * Reconciliation (对账, PRODUCT.md §6): the network's daily settlement file of a merchant against
 * our ledger, every difference listed. Step 1 (`reconcileDay`, outside any store transaction: it
 * may fetch the file over HTTP) reads our side and streams the file through the matcher; step 2
 * (`recordReconciliation`) stores the run and audits it.
 */

/**
 * The network's day cut-off, in minutes from UTC midnight: the bundled simulator books a
 * transaction on the UTC date of its `created_at`, so 0. See settlementDayWindow.
 */
export const NETWORK_DAY_CUTOFF_OFFSET_MINUTES = 0;
/** How long fetching the whole settlement file may take. */
export const SETTLEMENT_FETCH_TIMEOUT_MS = 120_000;

// ---- configuration --------------------------------------------------------------------------

/**
 * SETTLEMENT_FILE_URL: where the network publishes a merchant's daily settlement file, a template
 * with `{merchantId}` and `{day}`; by default the bundled simulator's control API on
 * 127.0.0.1:SIM_CONTROL_PORT. Read and validated once, when the API starts (like config.ts, but
 * kept out of `Config` so the routes plugin can read it without the rest of the configuration).
 */
export function loadSettlementFileUrl(env: NodeJS.ProcessEnv = process.env): string {
  const portText = env.SIM_CONTROL_PORT || '3901';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`SIM_CONTROL_PORT must be an integer in 0..65535, got "${portText}"`);
  const template = env.SETTLEMENT_FILE_URL || `http://127.0.0.1:${port}/settlement-files/{merchantId}/{day}`;
  let url: URL | null = null;
  try {
    url = new URL(template.replace('{merchantId}', 'm').replace('{day}', 'd'));
  } catch {
    url = null;
  }
  if (
    !url ||
    !['http:', 'https:'].includes(url.protocol) ||
    !template.includes('{merchantId}') ||
    !template.includes('{day}')
  ) {
    throw new Error(
      `SETTLEMENT_FILE_URL must be an http(s) URL template with {merchantId} and {day}, got "${template}"`,
    );
  }
  return template;
}

export function settlementFileUrl(template: string, merchantId: string, day: string): string {
  return template
    .replace('{merchantId}', encodeURIComponent(merchantId))
    .replace('{day}', encodeURIComponent(day));
}

// ---- our side of the ledger -----------------------------------------------------------------

/** When a row went to the network: from the look-back before the day to the day's end. */
type SentWindow = { lookbackFrom: string; to: string };

/*
 * A row's sending time is its answered link attempt's `created_at`, or its own time when it has
 * none. Each kind is read in two parts that together are that rule exactly — rows whose attempt
 * was sent in the window, and rows with no such attempt whose own time is in it — because each
 * part is a range of an index (link attempts by merchant, kind and time; payments and refunds by
 * merchant and time). One query on COALESCE(attempt time, own time) would read the merchant's
 * whole history, every day, to find one day (issue 10).
 */

async function saleRowsSent(db: Tx, merchantId: string, window: SentWindow) {
  const columns = ['p.id', 'p.network_reference', 'p.amount_minor', 'p.currency', 'p.voided'] as const;
  const viaAttempt = await db
    .selectFrom('link_attempts as la')
    .innerJoin('payments as p', (j) =>
      j
        .onRef('p.merchant_id', '=', 'la.merchant_id')
        .onRef('p.id', '=', 'la.ref_id')
        .onRef('p.network_reference', '=', 'la.reference'),
    )
    .select([...columns, 'la.created_at as sent_at'])
    .where('la.merchant_id', '=', merchantId)
    .where('la.kind', '=', 'sale')
    .where('la.created_at', '>=', window.lookbackFrom)
    .where('la.created_at', '<', window.to)
    .where('la.state', '=', 'answered')
    .where('p.method', '=', 'card')
    .where('p.network_reference', 'is not', null)
    .execute();
  const withoutAttempt = await db
    .selectFrom('payments as p')
    .select([...columns, 'p.created_at as sent_at'])
    .where('p.merchant_id', '=', merchantId)
    .where('p.created_at', '>=', window.lookbackFrom)
    .where('p.created_at', '<', window.to)
    .where('p.method', '=', 'card')
    .where('p.network_reference', 'is not', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('link_attempts as la')
            .select('la.id')
            .where('la.merchant_id', '=', merchantId)
            .whereRef('la.ref_id', '=', 'p.id')
            .where('la.kind', '=', 'sale')
            .where('la.state', '=', 'answered')
            .whereRef('la.reference', '=', 'p.network_reference'),
        ),
      ),
    )
    .execute();
  return [...viaAttempt, ...withoutAttempt];
}

/** A void's attempt is filed under `void_<payment id>`. */
const voidRefOf = (paymentId: string) => sql<string>`'void_' || ${sql.ref(paymentId)}`;

async function voidRowsSent(db: Tx, merchantId: string, window: SentWindow) {
  const columns = ['p.id', 'p.network_reference', 'p.amount_minor', 'p.currency'] as const;
  const viaAttempt = await db
    .selectFrom('link_attempts as la')
    .innerJoin('payments as p', (j) =>
      j
        .onRef('p.merchant_id', '=', 'la.merchant_id')
        // The first term finds the payment by its key, the second is the rule itself.
        .on('p.id', '=', sql<string>`substr(${sql.ref('la.ref_id')}, 6)`)
        .on('la.ref_id', '=', voidRefOf('p.id')),
    )
    .select([...columns, 'la.reference as void_reference', 'la.created_at as sent_at'])
    .where('la.merchant_id', '=', merchantId)
    .where('la.kind', '=', 'void')
    .where('la.created_at', '>=', window.lookbackFrom)
    .where('la.created_at', '<', window.to)
    .where('la.state', '=', 'answered')
    .where('la.response_code', '=', '00')
    .where('p.method', '=', 'card')
    .where('p.voided', '=', 1)
    .where('p.network_reference', 'is not', null)
    .execute();
  const withoutAttempt = await db
    .selectFrom('payments as p')
    .select([...columns, sql<string | null>`null`.as('void_reference'), 'p.voided_at as sent_at'])
    .where('p.merchant_id', '=', merchantId)
    .where('p.voided', '=', 1)
    .where('p.voided_at', '>=', window.lookbackFrom)
    .where('p.voided_at', '<', window.to)
    .where('p.method', '=', 'card')
    .where('p.network_reference', 'is not', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('link_attempts as la')
            .select('la.id')
            .where('la.merchant_id', '=', merchantId)
            .where('la.ref_id', '=', voidRefOf('p.id'))
            .where('la.kind', '=', 'void')
            .where('la.state', '=', 'answered')
            .where('la.response_code', '=', '00'),
        ),
      ),
    )
    .execute();
  return [...viaAttempt, ...withoutAttempt];
}

async function refundRowsSent(db: Tx, merchantId: string, window: SentWindow) {
  const columns = [
    'r.id',
    'r.payment_id',
    'r.network_reference',
    'p.network_reference as original_reference',
    'r.net_amount_minor',
    'r.currency',
    'r.status',
  ] as const;
  const viaAttempt = await db
    .selectFrom('link_attempts as la')
    .innerJoin('refunds as r', (j) =>
      j
        .onRef('r.merchant_id', '=', 'la.merchant_id')
        .onRef('r.id', '=', 'la.ref_id')
        .onRef('r.network_reference', '=', 'la.reference'),
    )
    .innerJoin('payments as p', (j) =>
      j.onRef('p.id', '=', 'r.payment_id').onRef('p.merchant_id', '=', 'r.merchant_id'),
    )
    .select([...columns, 'la.created_at as sent_at'])
    .where('la.merchant_id', '=', merchantId)
    .where('la.kind', '=', 'refund')
    .where('la.created_at', '>=', window.lookbackFrom)
    .where('la.created_at', '<', window.to)
    .where('la.state', '=', 'answered')
    .where('p.method', '=', 'card')
    .where('r.method', '=', 'original')
    .where('r.network_reference', 'is not', null)
    .execute();
  const withoutAttempt = await db
    .selectFrom('refunds as r')
    .innerJoin('payments as p', (j) =>
      j.onRef('p.id', '=', 'r.payment_id').onRef('p.merchant_id', '=', 'r.merchant_id'),
    )
    .select([...columns, 'r.created_at as sent_at'])
    .where('r.merchant_id', '=', merchantId)
    .where('r.created_at', '>=', window.lookbackFrom)
    .where('r.created_at', '<', window.to)
    .where('p.method', '=', 'card')
    .where('r.method', '=', 'original')
    .where('r.network_reference', 'is not', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('link_attempts as la')
            .select('la.id')
            .where('la.merchant_id', '=', merchantId)
            .whereRef('la.ref_id', '=', 'r.id')
            .where('la.kind', '=', 'refund')
            .where('la.state', '=', 'answered')
            .whereRef('la.reference', '=', 'r.network_reference'),
        ),
      ),
    )
    .execute();
  return [...viaAttempt, ...withoutAttempt];
}

/**
 * The merchant's card transactions as the network should have them for a settlement day: card
 * sales (and adjustment charges) with their RRN, the voids of those sales, and original-route card
 * refunds that reached the network (succeeded, or failed with the declining RRN).
 *
 * The day rule: a row belongs to the day the request went to the network, i.e. when we sent the
 * attempt the network answered (`link_attempts.created_at`, moments before the network's own
 * `created_at`), falling back to the row's own time when no attempt is recorded (payment
 * `created_at`, void `voided_at`, refund `created_at`). Not the refund's creation: a refund can wait
 * in review for days before it is sent. Rows from DAY_LOOKBACK_MS before the day are read too, so
 * a request sent just before midnight and booked just after still matches.
 */
export async function ledgerRowsForDay(
  db: Tx,
  merchantId: string,
  window: { lookbackFrom: string; to: string },
): Promise<LedgerRow[]> {
  const sales = await saleRowsSent(db, merchantId, window);
  const voids = await voidRowsSent(db, merchantId, window);
  const refunds = await refundRowsSent(db, merchantId, window);

  // A join can repeat a row (two recorded attempts): one ledger row per payment, void and refund.
  const rows = new Map<string, LedgerRow>();
  for (const s of sales) {
    rows.set(`sale:${s.id}`, {
      kind: 'sale',
      reference: s.network_reference,
      originalReference: null,
      amountMinor: Number(s.amount_minor),
      currency: s.currency,
      status: s.voided === 1 ? 'voided' : 'captured',
      paymentId: s.id,
      refundId: null,
      at: String(s.sent_at),
    });
  }
  for (const v of voids) {
    rows.set(`void:${v.id}`, {
      kind: 'void',
      reference: v.void_reference,
      originalReference: v.network_reference,
      amountMinor: Number(v.amount_minor),
      currency: v.currency,
      status: 'voided',
      paymentId: v.id,
      refundId: null,
      at: String(v.sent_at),
    });
  }
  for (const r of refunds) {
    rows.set(`refund:${r.id}`, {
      kind: 'refund',
      reference: r.network_reference,
      originalReference: r.original_reference,
      amountMinor: Number(r.net_amount_minor),
      currency: r.currency,
      status: r.status,
      paymentId: r.payment_id,
      refundId: r.id,
      at: String(r.sent_at),
    });
  }
  return [...rows.values()].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

// ---- step 1: reconcile ----------------------------------------------------------------------

export type ReconciliationSource = 'upload' | 'network' | 'file';

export interface PreparedReconciliation {
  merchantId: string;
  day: string;
  source: ReconciliationSource;
  /** Where the file came from: its URL or file name (audited, not shown in lists). */
  origin: string;
  result: ReconcileResult;
}

/** Read our side of the day, then stream the file's lines through the matcher. */
export async function reconcileDay(
  ctx: Pick<Ctx, 'store'>,
  merchantId: string,
  day: string,
  file: { source: ReconciliationSource; origin: string; lines: AsyncIterable<string> | Iterable<string> },
  opts: { onProgress?: (linesDone: number) => void } = {},
): Promise<PreparedReconciliation> {
  const window = settlementDayWindow(day, NETWORK_DAY_CUTOFF_OFFSET_MINUTES);
  const ledger = await ledgerRowsForDay(ctx.store.db, merchantId, window);
  const result = await reconcileSettlementLines(file.lines, ledger, {
    window,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  return { merchantId, day, source: file.source, origin: file.origin, result };
}

/** The settlement file's lines, streamed from the network's URL. */
export async function* fetchSettlementLines(url: string): AsyncGenerator<string> {
  const unavailable = (why: string) =>
    new DomainError('network_unavailable', `the settlement file could not be fetched from ${url}: ${why}`);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(SETTLEMENT_FETCH_TIMEOUT_MS) });
  } catch (err) {
    throw unavailable(err instanceof Error ? err.message : String(err));
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw unavailable(`the network answered ${res.status}`);
  }
  const input = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) yield line;
  } catch (err) {
    throw unavailable(err instanceof Error ? err.message : String(err));
  } finally {
    // Also when the reader stops early (a bad header): drop the rest of the download.
    lines.close();
    input.destroy();
  }
}

/** `POST /v1/reconciliations`, step 1: the CSV given in the request, or fetched from the network. */
export async function runReconciliation(
  ctx: Ctx,
  caller: Caller,
  input: { day: string; csv?: string | undefined },
  fileUrlTemplate: string,
): Promise<PreparedReconciliation> {
  requirePermission(caller.principal, 'reconciliation.run');
  if (input.csv !== undefined) {
    return reconcileDay(ctx, caller.merchantId, input.day, {
      source: 'upload',
      origin: 'request body',
      lines: linesOf(input.csv),
    });
  }
  settlementDayWindow(input.day); // a bad day fails before anything is fetched
  const url = settlementFileUrl(fileUrlTemplate, caller.merchantId, input.day);
  return reconcileDay(ctx, caller.merchantId, input.day, {
    source: 'network',
    origin: url,
    lines: fetchSettlementLines(url),
  });
}

// ---- step 2: record -------------------------------------------------------------------------

/** Store the run and audit it; answers the run as GET /v1/reconciliations/:id shows it. */
export async function recordReconciliation(
  ctx: Pick<Ctx, 'store' | 'clock'>,
  trx: Tx,
  caller: Caller,
  prepared: PreparedReconciliation,
) {
  const { result } = prepared;
  const now = ctx.clock();
  const row: ReconciliationTable = {
    id: `rec_${ulid()}`,
    merchant_id: caller.merchantId,
    day: prepared.day,
    source: prepared.source,
    balanced: result.balanced ? 1 : 0,
    matched: result.matched,
    mismatch_count: result.mismatches.length,
    mismatches_json: JSON.stringify(result.mismatches),
    invalid_rows_json: JSON.stringify({ count: result.invalidRowCount, rows: result.invalidRows }),
    totals_json: JSON.stringify({ rows: result.rows, ...result.totals }),
    created_by: caller.actor,
    created_at: now.toISOString(),
  };
  await trx.insertInto('reconciliations').values(row).execute();
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'reconciliation.run',
    entity: 'reconciliation',
    entityId: row.id,
    data: {
      day: prepared.day,
      source: prepared.source,
      origin: prepared.origin,
      balanced: result.balanced,
      matched: result.matched,
      mismatches: result.mismatches.length,
      invalidRows: result.invalidRowCount,
    },
    at: now,
  });
  return reconciliationView(row);
}

// ---- reading --------------------------------------------------------------------------------

const tallyView = (t: Tally) => ({ count: t.count, amount: t.amountMinor });

function totalsView(json: string) {
  const t = JSON.parse(json) as { rows: number; network: NetworkTotals; ledger: LedgerTotals };
  return {
    rows: t.rows,
    network: {
      sales: tallyView(t.network.sales),
      voids: tallyView(t.network.voids),
      refunds: tallyView(t.network.refunds),
      reversed: tallyView(t.network.reversed),
    },
    ledger: {
      sales: tallyView(t.ledger.sales),
      voids: tallyView(t.ledger.voids),
      refunds: tallyView(t.ledger.refunds),
    },
  };
}

/**
 * Amounts are `amount` in minor units in every JSON answer (PRODUCT.md §9). The advice is worked
 * out when the run is shown, not stored: a stored run gets the current advice.
 */
function mismatchView(m: Mismatch, window: { to: string }) {
  const withAmount = <T extends { amountMinor: number }>({ amountMinor, ...rest }: T) => ({
    ...rest,
    amount: amountMinor,
  });
  return {
    kind: m.kind,
    reference: m.reference,
    detail: m.detail,
    advice: adviseMismatch(m, window),
    ...(m.duplicateOfLine !== undefined ? { duplicateOfLine: m.duplicateOfLine } : {}),
    ...(m.networkRow ? { networkRow: withAmount(m.networkRow) } : {}),
    ...(m.ledgerRow ? { ledgerRow: withAmount(m.ledgerRow) } : {}),
  };
}

function summaryView(row: ReconciliationTable) {
  const invalid = JSON.parse(row.invalid_rows_json) as { count: number; rows: InvalidRow[] };
  return {
    id: row.id,
    day: row.day,
    source: row.source,
    balanced: Number(row.balanced) === 1,
    matched: Number(row.matched),
    mismatchCount: Number(row.mismatch_count),
    invalidRowCount: invalid.count,
    totals: totalsView(row.totals_json),
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

export function reconciliationView(row: ReconciliationTable) {
  const invalid = JSON.parse(row.invalid_rows_json) as { count: number; rows: InvalidRow[] };
  const window = settlementDayWindow(row.day, NETWORK_DAY_CUTOFF_OFFSET_MINUTES);
  return {
    ...summaryView(row),
    mismatches: (JSON.parse(row.mismatches_json) as Mismatch[]).map((m) => mismatchView(m, window)),
    invalidRows: invalid.rows,
  };
}

export type ReconciliationView = ReturnType<typeof reconciliationView>;
export type MismatchView = ReconciliationView['mismatches'][number];

export async function getReconciliation(ctx: Ctx, caller: Caller, id: string) {
  requirePermission(caller.principal, 'reconciliation.run');
  const row = await ctx.store.db
    .selectFrom('reconciliations')
    .selectAll()
    .where('id', '=', id)
    .where('merchant_id', '=', caller.merchantId)
    .executeTakeFirst();
  if (!row) throw new DomainError('not_found', `reconciliation ${id} not found`);
  return reconciliationView(row);
}

/** Latest first; each run as a summary (counts and totals), the lists are at GET …/:id. */
export async function listReconciliations(
  ctx: Ctx,
  caller: Caller,
  f: { day?: string | undefined; cursor?: string | undefined; limit: number },
) {
  requirePermission(caller.principal, 'reconciliation.run');
  let q = ctx.store.db.selectFrom('reconciliations').selectAll().where('merchant_id', '=', caller.merchantId);
  if (f.day) q = q.where('day', '=', f.day);
  const after = afterCursor(f.cursor);
  if (after) q = q.where(after);
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(f.limit + 1)
    .execute();
  return page(rows.map(summaryView), f.limit);
}

// ---- the command line: refund-desk reconcile <file.csv> --day YYYY-MM-DD [--merchant ID] --------

export const RECONCILE_USAGE =
  'usage: refund-desk reconcile <file.csv> --day YYYY-MM-DD [--merchant 898100000000001]';
const DEFAULT_MERCHANT_ID = '898100000000001';
const PROGRESS_REDRAW_MS = 100;

export interface ReconcileCliIo {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Draw a progress bar on stderr (when stderr is a terminal). */
  progress: boolean;
  clock?: () => Date;
}

/**
 * A progress bar drawn by hand: one bar on one command is a dozen lines, not worth a dependency
 * (cli-progress and the like bring their own terminal handling, colours and timers).
 */
export function progressBar(fraction: number, lines: number, width = 30): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * width);
  const percent = String(Math.floor(f * 100)).padStart(3);
  return `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}%  ${lines.toLocaleString('en-US')} lines`;
}

/**
 * Reconcile a settlement file on disk against the store named by DATABASE_URL, read line by line.
 * Prints the run as JSON on stdout; exit code 0 balanced, 3 mismatches or bad rows, 2 usage, 1 error.
 */
export async function reconcileFileCommand(argv: string[], io: ReconcileCliIo): Promise<number> {
  let args: ReturnType<typeof parseCliArgs>;
  try {
    args = parseCliArgs(argv);
  } catch (err) {
    io.stderr(`${err instanceof Error ? err.message : String(err)}\n${RECONCILE_USAGE}\n`);
    return 2;
  }
  const clock = io.clock ?? (() => new Date());
  let store: ReturnType<typeof openStore> | null = null;
  try {
    settlementDayWindow(args.day);
    const size = statSync(args.file).size;
    store = openStore(loadConfig(io.env).databaseUrl, { poolSize: 2 });
    await migrate(store);
    const merchant = await store.db
      .selectFrom('merchants')
      .select('id')
      .where('id', '=', args.merchant)
      .executeTakeFirst();
    if (!merchant) throw new DomainError('not_found', `merchant ${args.merchant} is not in the store`);
    const file = fileLines(args.file);
    let drawnAt = 0;
    let linesRead = 0;
    const draw = (final: boolean) => {
      if (!io.progress) return;
      const now = Date.now();
      if (!final && now - drawnAt < PROGRESS_REDRAW_MS) return;
      drawnAt = now;
      io.stderr(progressBar(size > 0 ? file.bytesRead() / size : 1, linesRead));
    };
    const prepared = await reconcileDay(
      { store },
      args.merchant,
      args.day,
      { source: 'file', origin: basename(args.file), lines: file.lines },
      {
        onProgress: (n) => {
          linesRead = n;
          draw(false);
        },
      },
    );
    draw(true);
    if (io.progress) io.stderr('\n');
    const caller: Caller = {
      merchantId: args.merchant,
      principal: 'admin',
      actor: 'cli',
      operatorId: null,
      operatorNo: null,
      terminalId: null,
    };
    const openStoreHandle = store;
    const view = await store.tx((trx) =>
      recordReconciliation({ store: openStoreHandle, clock }, trx, caller, prepared),
    );
    io.stdout(`${JSON.stringify(view, null, 2)}\n`);
    return view.balanced ? 0 : 3;
  } catch (err) {
    const message =
      err instanceof DomainError ? err.detail : err instanceof Error ? err.message : String(err);
    io.stderr(`refund-desk reconcile: ${message}\n`);
    return 1;
  } finally {
    await store?.close();
  }
}

/**
 * A file's lines through node:readline, opened only when iteration starts: a readline interface
 * made earlier would read (and drop) lines while the ledger is still being queried.
 */
export function fileLines(path: string): { lines: AsyncIterable<string>; bytesRead(): number } {
  let input: ReturnType<typeof createReadStream> | null = null;
  async function* lines() {
    const stream = createReadStream(path);
    input = stream;
    const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    try {
      yield* rl;
    } finally {
      rl.close();
      stream.destroy();
    }
  }
  return { lines: lines(), bytesRead: () => input?.bytesRead ?? 0 };
}

function parseCliArgs(argv: string[]): { file: string; day: string; merchant: string } {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { day: { type: 'string' }, merchant: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) throw new Error('give exactly one settlement file');
  if (!values.day) throw new Error('--day is required');
  const merchant = values.merchant ?? DEFAULT_MERCHANT_ID;
  if (!/^[0-9A-Za-z]{1,32}$/.test(merchant)) throw new Error('--merchant must be a merchant id');
  return { file, day: values.day, merchant };
}
