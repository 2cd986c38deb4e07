/**
 * "Nothing was written": a snapshot of every table of the store and of the network's own books,
 * compared before and after a request that was refused.
 */
import { sql } from 'kysely';
import type { Store } from '../../src/store/db.js';
import type { TestSystem } from '../support/system.js';

/**
 * Columns that change on requests that are refused, by design. Each with its reason; nothing else
 * is left out.
 */
export const volatileColumns: Readonly<Record<string, { columns: readonly string[]; why: string }>> = {
  api_keys: {
    columns: ['last_used_at'],
    why: 'an API key records its last use on every authenticated call, whatever the answer (issue 9, defect 7)',
  },
};

/** The tables a snapshot must hold at least: the money, its history and the request bookkeeping. */
export const moneyTables = [
  'payments',
  'payment_items',
  'refunds',
  'refund_events',
  'adjustments',
  'operations',
  'outbox',
  'audit_log',
  'audit_head',
  'idempotency_keys',
  'merchants',
  'merchant_day_totals',
  'settlements',
  'acq_accounts',
  'acq_transactions',
  'link_attempts',
  'receipt_prints',
  'receipt_sends',
  'reconciliations',
  'operators',
  'sessions',
  'api_keys',
] as const;

/** Every table of the store's schema (not the migration bookkeeping), found by introspection. */
export async function storeTables(store: Store): Promise<string[]> {
  const rows =
    store.dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(store.db)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables
          where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(store.db);
  return rows.rows
    .map((r) => r.name)
    .filter((n) => !n.startsWith('sqlite_') && !n.startsWith('kysely_'))
    .sort();
}

export type Snapshot = Record<string, string[]>;

/** Every row of every table, as sorted JSON lines (row order on disk is not part of the state). */
export async function snapshotStore(store: Store, tables: readonly string[]): Promise<Snapshot> {
  if (store.dialect === 'postgres') return snapshotPostgres(store, tables);
  const entries = await Promise.all(
    tables.map(async (table) => {
      const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(
        store.db,
      );
      const drop = volatileColumns[table]?.columns ?? [];
      const lines = rows.map((row) => {
        const kept = Object.fromEntries(Object.entries(row).filter(([k]) => !drop.includes(k)));
        return JSON.stringify(kept, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
      });
      return [table, lines.sort()] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** PostgreSQL: every table in one round trip (a fuzz run takes thousands of snapshots). */
async function snapshotPostgres(store: Store, tables: readonly string[]): Promise<Snapshot> {
  const parts = tables.map((table) => {
    const drop = volatileColumns[table]?.columns ?? [];
    const row = drop.reduce((expr, column) => sql`${expr} - ${column}::text`, sql`to_jsonb(x)`);
    return sql`select ${table}::text as t, (${row})::text as r from ${sql.table(table)} x`;
  });
  const { rows } = await sql<{ t: string; r: string }>`${sql.join(parts, sql` union all `)}`.execute(
    store.db,
  );
  const out: Snapshot = Object.fromEntries(tables.map((t) => [t, [] as string[]]));
  for (const { t, r } of rows) out[t]?.push(r);
  for (const lines of Object.values(out)) lines.sort();
  return out;
}

/** The simulator's books, as its control API shows them (`GET /ledger?all=1`), or the in-process acquirer's. */
export async function snapshotNetwork(sys: TestSystem): Promise<string> {
  if (sys.simulator) {
    const res = await sys.simulator.control.inject({ method: 'GET', url: '/ledger?all=1' });
    return res.body;
  }
  // The in-process acquirer keeps its books in our store (acq_accounts, acq_transactions).
  return 'in-process: see acq_* tables';
}

export interface Books {
  store: Snapshot;
  network: string;
}

export async function snapshotBooks(sys: TestSystem, tables: readonly string[]): Promise<Books> {
  const [store, network] = await Promise.all([snapshotStore(sys.ctx.store, tables), snapshotNetwork(sys)]);
  return { store, network };
}

/** What changed between two snapshots: table → rows added / removed (empty when nothing did). */
export function diffBooks(before: Books, after: Books): string[] {
  const out: string[] = [];
  for (const table of new Set([...Object.keys(before.store), ...Object.keys(after.store)])) {
    const a = new Set(before.store[table] ?? []);
    const b = new Set(after.store[table] ?? []);
    for (const row of b) if (!a.has(row)) out.push(`${table} + ${row.slice(0, 300)}`);
    for (const row of a) if (!b.has(row)) out.push(`${table} - ${row.slice(0, 300)}`);
  }
  if (before.network !== after.network) out.push('network ledger changed');
  return out;
}
