import { type RawBuilder, sql } from 'kysely';
import type { ValueShape } from '../security.js';
import type { Store, Tx } from './db.js';
import { countShape, type KeyedColumn, matches, nextMerchant } from './sealed.js';

/**
 * The phone-search hashes (migration 0019; security.ts `phoneSearchHash` says how they are made and
 * why they are rewritten at rotation) and the one write to them after their row is inserted:
 * `rehashBatch`, which makes a row's hash again under the current data key — also for rows written
 * before the column existed.
 */
export interface PhoneSearchColumn {
  hash: KeyedColumn;
  /** The sealed value the phone is read from, in the same row. */
  sealed: 'consumer_enc' | 'destination_enc';
  /** The rows that hold a phone, told without any key. */
  hasPhone: RawBuilder<boolean>;
  /** The phone in the unsealed value, or null. */
  phoneOf(plain: string): string | null;
}

export const PHONE_SEARCH_COLUMNS: readonly PhoneSearchColumn[] = [
  {
    hash: { table: 'refunds', column: 'consumer_phone_hash' },
    sealed: 'consumer_enc',
    // The masked copy names the fields the consumer gave (security.ts maskConsumer).
    hasPhone: sql<boolean>`consumer_masked_json like '%"phone":%'`,
    phoneOf: (plain) => {
      const phone = (JSON.parse(plain) as { phone?: unknown }).phone;
      return typeof phone === 'string' && phone !== '' ? phone : null;
    },
  },
  {
    hash: { table: 'receipt_sends', column: 'destination_phone_hash' },
    sealed: 'destination_enc',
    hasPhone: sql<boolean>`channel = 'sms'`,
    phoneOf: (plain) => plain,
  },
];

/** Phone hashes made under data key `id`, per column (a data key is retired only at zero). */
export async function countPhoneHashesUnder(db: Tx, shape: ValueShape): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of PHONE_SEARCH_COLUMNS)
    out[`${c.hash.table}.${c.hash.column}`] = await countShape(db, c.hash, shape);
  return out;
}

export interface RehashBatch {
  rehashed: number;
  failed: { id: string; code: string }[];
  /** Where the next batch starts; null when this one reached the end of the merchant's rows. */
  cursor: string | null;
}

/**
 * Hash again the next `limit` rows of one merchant (id order, after `cursor`) that hold a phone and
 * whose hash is missing or not `current` shaped. Like `resealBatch`: the rows are locked for the
 * transaction, and each write names the sealed value it was computed from (compare-and-set), so two
 * rehashers at once write each row once, with the same value.
 */
export async function rehashBatch(
  store: Store,
  c: PhoneSearchColumn,
  opts: {
    merchantId: string;
    cursor: string;
    current: ValueShape;
    limit: number;
    unseal: (value: string) => string;
    hash: (phone: string) => string;
  },
): Promise<RehashBatch> {
  return store.tx(async (trx) => {
    const hashCol = sql.ref(c.hash.column);
    const sealedCol = sql.ref(c.sealed);
    const lock = store.dialect === 'postgres' ? sql`for update` : sql``;
    const rows = await sql<{ id: string; value: string }>`
      select id, ${sealedCol} as value from ${sql.table(c.hash.table)}
      where merchant_id = ${opts.merchantId} and id > ${opts.cursor}
        and ${sealedCol} is not null and ${c.hasPhone}
        and (${hashCol} is null or not ${matches(c.hash, opts.current)})
      order by id limit ${sql.lit(opts.limit)} ${lock}`.execute(trx);
    const out: RehashBatch = { rehashed: 0, failed: [], cursor: null };
    for (const row of rows.rows) {
      let next: string | null;
      try {
        const phone = c.phoneOf(opts.unseal(row.value));
        next = phone === null ? null : opts.hash(phone);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        out.failed.push({ id: row.id, code: typeof code === 'string' ? code : 'error' });
        continue;
      }
      const r = await sql`
        update ${sql.table(c.hash.table)} set ${hashCol} = ${next}
        where id = ${row.id} and merchant_id = ${opts.merchantId} and ${sealedCol} = ${row.value}`.execute(
        trx,
      );
      out.rehashed += Number(r.numAffectedRows ?? 0);
    }
    const last = rows.rows[rows.rows.length - 1];
    out.cursor = rows.rows.length === opts.limit && last ? last.id : null;
    return out;
  });
}

export interface RehashReport {
  rehashed: number;
  failed: { column: string; id: string; code: string }[];
}

/** One pass over every merchant's rows of every phone-hash column (`keys reseal`). */
export async function rehashAll(
  store: Store,
  opts: Omit<Parameters<typeof rehashBatch>[2], 'merchantId' | 'cursor'>,
): Promise<RehashReport> {
  const report: RehashReport = { rehashed: 0, failed: [] };
  for (const c of PHONE_SEARCH_COLUMNS) {
    for (let m = await nextMerchant(store.db, ''); m !== null; m = await nextMerchant(store.db, m)) {
      let cursor: string | null = '';
      while (cursor !== null) {
        const batch: RehashBatch = await rehashBatch(store, c, { ...opts, merchantId: m, cursor });
        report.rehashed += batch.rehashed;
        for (const f of batch.failed)
          report.failed.push({ column: `${c.hash.table}.${c.hash.column}`, ...f });
        cursor = batch.cursor;
      }
    }
  }
  return report;
}
