import { sql } from 'kysely';
import type { ValueShape } from '../security.js';
import type { Store, Tx } from './db.js';
import type { Database } from './schema.js';

/**
 * The columns that hold key-ring values, and the only writes to them after their row is inserted:
 * re-sealing under the current data key. Rows are told apart by the key id their value names
 * (security.ts: `v2.<keyId>.…`, `v1.…` before rings; `tok_<keyId>_…`, `tok_…` before rings), so no
 * key-id column is kept beside them (it would be a second copy of the same fact).
 */
export type KeyedColumn = {
  [T in keyof Database]: { table: T; column: string & keyof Database[T] };
}[keyof Database];

/** Values sealed under the data key ring. */
export const SEALED_COLUMNS: readonly KeyedColumn[] = [
  { table: 'refunds', column: 'consumer_enc' },
  { table: 'receipt_sends', column: 'destination_enc' },
];

/** Card tokens, under the token key ring (never re-keyed: the card number is not kept). */
export const TOKEN_COLUMNS: readonly KeyedColumn[] = [{ table: 'payments', column: 'card_token' }];

export function columnName(c: KeyedColumn): string {
  return `${c.table}.${c.column}`;
}

export function matches(c: KeyedColumn, shape: ValueShape) {
  const col = sql.ref(c.column);
  // substr, not LIKE: exact and case-sensitive on both dialects, and `_` in a prefix is no wildcard.
  const head = sql`substr(${col}, 1, ${sql.lit(shape.prefix.length)}) = ${shape.prefix}`;
  return shape.length === undefined ? head : sql`(${head} and length(${col}) = ${sql.lit(shape.length)})`;
}

/** How many rows hold a value of this shape. */
export async function countShape(db: Tx, c: KeyedColumn, shape: ValueShape): Promise<number> {
  const r = await sql<{ n: number | string }>`
    select count(*) as n from ${sql.table(c.table)} where ${matches(c, shape)}`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

/** How many rows hold a value at all. */
export async function countNonNull(db: Tx, c: KeyedColumn): Promise<number> {
  const r = await sql<{ n: number | string }>`
    select count(*) as n from ${sql.table(c.table)} where ${sql.ref(c.column)} is not null`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

export interface ResealBatch {
  /** Rows not under the current key that this batch looked at. */
  seen: number;
  /** Rows re-sealed by this batch (another re-sealer may have done the rest). */
  resealed: number;
  /** Rows whose value could not be re-sealed (unknown key, tampered): left as they are. */
  failed: { id: string; code: string }[];
  /** Where the next batch starts; null when this one reached the end of the table. */
  cursor: string | null;
}

/**
 * The merchant after `after` in id order, null after the last: re-sealing walks the merchants one
 * by one, so each batch locks rows of one merchant (one shard when the store is sharded by merchant).
 */
export async function nextMerchant(db: Tx, after: string): Promise<string | null> {
  const m = await db
    .selectFrom('merchants')
    .select('id')
    .where('id', '>', after)
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  return m?.id ?? null;
}

/**
 * Re-seal the next `limit` rows of `c` of merchant `merchantId` after `cursor` (in id order) whose
 * value is not `current` shaped (the sealed tables all carry `merchant_id`). One transaction holds
 * the rows' locks (FOR UPDATE on PostgreSQL; SQLite's write lock), and each write only replaces the
 * value it read (compare-and-set), so a second re-sealer at the same rows waits, then finds them
 * done; nothing else writes these columns after insert, and `updated_at` is left alone:
 * re-sealing changes no fact about the row.
 */
export async function resealBatch(
  store: Store,
  c: KeyedColumn,
  opts: {
    merchantId: string;
    cursor: string;
    current: ValueShape;
    limit: number;
    reseal: (value: string) => string | null;
  },
): Promise<ResealBatch> {
  return store.tx(async (trx) => {
    const col = sql.ref(c.column);
    const lock = store.dialect === 'postgres' ? sql`for update` : sql``;
    const rows = await sql<{ id: string; value: string }>`
      select id, ${col} as value from ${sql.table(c.table)}
      where merchant_id = ${opts.merchantId} and id > ${opts.cursor}
        and ${col} is not null and not ${matches(c, opts.current)}
      order by id limit ${sql.lit(opts.limit)} ${lock}`.execute(trx);
    const out: ResealBatch = { seen: rows.rows.length, resealed: 0, failed: [], cursor: null };
    for (const row of rows.rows) {
      let next: string | null;
      try {
        next = opts.reseal(row.value);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        out.failed.push({ id: row.id, code: typeof code === 'string' ? code : 'error' });
        continue;
      }
      if (next === null) continue;
      const r = await sql`
        update ${sql.table(c.table)} set ${col} = ${next}
        where id = ${row.id} and merchant_id = ${opts.merchantId} and ${col} = ${row.value}`.execute(trx);
      out.resealed += Number(r.numAffectedRows ?? 0);
    }
    const last = rows.rows[rows.rows.length - 1];
    out.cursor = rows.rows.length === opts.limit && last ? last.id : null;
    return out;
  });
}
