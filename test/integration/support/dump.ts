import { sql } from 'kysely';
import type { Store } from '../../../src/store/db.js';
import type { Database } from '../../../src/store/schema.js';

/**
 * Every table of the typed schema. `satisfies` makes this fail to compile when a table is added to
 * `Database` and not here, so the dump below can never silently skip a new table.
 */
const schemaTables = {
  merchant_day_totals: true,
  settlements: true,
  merchants: true,
  terminals: true,
  operators: true,
  sessions: true,
  api_keys: true,
  payments: true,
  payment_items: true,
  refunds: true,
  refund_events: true,
  refund_evidence: true,
  adjustments: true,
  idempotency_keys: true,
  audit_log: true,
  audit_head: true,
  audit_anchor: true,
  outbox: true,
  acq_transactions: true,
  acq_accounts: true,
  link_attempts: true,
  reconciliations: true,
  receipt_prints: true,
  receipt_sends: true,
  operations: true,
  auth_attempts: true,
  link_terminal_keys: true,
  returns: true,
} as const satisfies Record<keyof Database, true>;

export const databaseTables = Object.keys(schemaTables) as (keyof Database)[];

/** Table names as the database itself lists them (catches tables outside the typed schema too). */
export async function catalogTables(store: Store): Promise<string[]> {
  if (store.dialect === 'sqlite') {
    const r = await sql<{ name: string }>`
      select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(store.db);
    return r.rows.map((x) => x.name);
  }
  const r = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(store.db);
  return r.rows.map((x) => x.table_name);
}

function textOf(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}

/** `select *` of every table, one JSON text per table (binary columns decoded as UTF-8). */
export async function dumpTables(store: Store, tables: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of tables) {
    const r = await sql<Record<string, unknown>>`select * from ${sql.table(t)}`.execute(store.db);
    const rows = r.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, textOf(v)])));
    // JSON.stringify escapes nothing but quotes and control characters, so plain values stay searchable;
    // also keep the raw values joined, in case a value was stored with characters JSON would escape.
    out.set(
      t,
      `${JSON.stringify(rows)}\n${rows.flatMap((row) => Object.values(row).map(String)).join('\n')}`,
    );
  }
  return out;
}
