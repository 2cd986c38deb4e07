import { type Kysely, type RawBuilder, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * Indexes for a store that has grown (issue 10, "Growth": a million payments and refunds).
 *
 * - The lists (`GET /v1/refunds`, `GET /v1/payments`) run newest first by (created_at, id): each
 *   filter they offer has an index that ends in those columns, so a page is read in index order
 *   and stops after `limit + 1` rows instead of sorting every row of the merchant. The narrower
 *   indexes they replace (merchant + status, merchant + order, merchant + last four) are prefixes
 *   of the new ones, so every other query that used them still can, and a write does not keep
 *   both up to date.
 * - A terminal's open batch (settlement) is found through partial indexes that hold only the
 *   unsettled rows: their size is one batch, not the whole history.
 * - A settlement day (reconciliation) is read by when each row went to the network: link
 *   attempts by (merchant, kind, created_at), voids by (merchant, voided_at) among voided rows,
 *   and each row's own attempt found by (merchant, kind, ref_id).
 *
 * Every index starts with `merchant_id`: on PostgreSQL the tables are sharded by merchant
 * (src/store/distribution.ts), and one merchant's rows are what every one of these queries reads.
 */

interface IndexSpec {
  name: string;
  table: string;
  columns: string[];
  /** A partial index's condition, constants only (SQLite matches it against the query's terms). */
  where?: RawBuilder<boolean>;
}

const indexes: IndexSpec[] = [
  { name: 'refunds_merchant_created', table: 'refunds', columns: ['merchant_id', 'created_at', 'id'] },
  {
    name: 'refunds_merchant_status_created',
    table: 'refunds',
    columns: ['merchant_id', 'status', 'created_at', 'id'],
  },
  {
    name: 'refunds_merchant_order_created',
    table: 'refunds',
    columns: ['merchant_id', 'order_no', 'created_at', 'id'],
  },
  {
    name: 'refunds_open_batch',
    table: 'refunds',
    columns: ['merchant_id', 'terminal_id'],
    where: sql<boolean>`status = 'succeeded' and settlement_id is null`,
  },
  { name: 'payments_merchant_created', table: 'payments', columns: ['merchant_id', 'created_at', 'id'] },
  {
    name: 'payments_merchant_order_created',
    table: 'payments',
    columns: ['merchant_id', 'order_no', 'created_at', 'id'],
  },
  {
    name: 'payments_merchant_last4_created',
    table: 'payments',
    columns: ['merchant_id', 'card_last4', 'created_at', 'id'],
  },
  {
    name: 'payments_open_batch',
    table: 'payments',
    columns: ['merchant_id', 'terminal_id'],
    where: sql<boolean>`settled = 0`,
  },
  {
    name: 'payments_merchant_voided',
    table: 'payments',
    columns: ['merchant_id', 'voided_at'],
    where: sql<boolean>`voided = 1`,
  },
  {
    name: 'link_attempts_merchant_kind_created',
    table: 'link_attempts',
    columns: ['merchant_id', 'kind', 'created_at'],
  },
  {
    // "Has this row an answered attempt?": one probe per row of the day. Every column of the
    // probe's equality is here, so even without statistics (SQLite is never ANALYZEd) the planner
    // takes this index and not the one above, which would walk all of the merchant's attempts.
    name: 'link_attempts_merchant_kind_ref',
    table: 'link_attempts',
    columns: ['merchant_id', 'kind', 'ref_id'],
  },
];

/** Replaced by a wider index above with the same leading columns. */
const replaced = ['refunds_merchant_status', 'payments_order', 'payments_last4'];

export async function up(db: Db): Promise<void> {
  for (const ix of indexes) {
    let create = db.schema.createIndex(ix.name).on(ix.table).columns(ix.columns);
    if (ix.where) create = create.where(ix.where);
    await create.execute();
  }
  for (const name of replaced) await db.schema.dropIndex(name).execute();
}
