import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/**
 * Query handles and their dialect, apart from db.ts (which opens stores and runs migrations) so
 * that the modules a migration or the store itself uses — the audit chain, group commit — need
 * not import the store: no import circle through the migrations.
 */
export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;
/** A query handle inside a store transaction. */
export type Tx = Kysely<Database> | Transaction<Database>;

/**
 * Every query handle carries its dialect: the store's own `db` and each transaction `tx` hands
 * out are registered here, so code below the store needs the transaction alone, never a
 * `(store, trx)` pair, to know how to lock a row.
 */
const dialects = new WeakMap<object, Dialect>();

export function registerDialect(q: object, d: Dialect): void {
  dialects.set(q, d);
}

export function dialectOf(q: Tx): Dialect {
  const d = dialects.get(q);
  if (!d) throw new Error('a query handle without a dialect: use store.db or a store.tx transaction');
  return d;
}

/** Lock a row for the rest of the transaction: FOR UPDATE on PostgreSQL; SQLite already holds the write lock. */
export function forUpdate<QB extends { forUpdate(): QB }>(trx: Tx, qb: QB): QB {
  return dialectOf(trx) === 'postgres' ? qb.forUpdate() : qb;
}
