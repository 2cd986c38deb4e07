import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * The back office's review queue (issue 11): risk rules, the review checklist, evidence photos.
 *
 * - `refunds.hold_rule`, `hold_detail`: the risk rule that held a refund for review and what it
 *   saw (domain/risk.ts); null for a refund no rule held.
 * - `refund_events.checklist_json`: the reviewer's checklist with the approval that moved the
 *   refund (domain/review.ts).
 * - `refund_evidence`: the photos, their bytes in the store itself (a blob / bytea of at most
 *   2 MiB, six per refund), so they are backed up, sharded and removed with the refund's other
 *   rows; keyed like every merchant table (migration 0012).
 * - The risk rules' reads, decided under the merchant's lock on every refund batch while a rule is
 *   on, each through an index of its own that starts with the merchant:
 *   an operator's latest refunds (merchant, created_by, created_at), read newest first and covered
 *   by the index; the payments of a card (merchant, card_token) among those that have one; and the
 *   day's sales summed from a partial index of the sales not voided, which holds the amounts
 *   (covering: no table row is read). SQLite matches a partial index's condition against the
 *   query's own constant terms, so the queries spell them the same (repo.ts).
 */
export async function up(db: Db, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .alterTable('refunds')
    .addColumn('hold_rule', 'text', (c) =>
      c.check(sql`hold_rule in ('operator_refunds_per_hour', 'card_refunds_per_day', 'share_of_day_sales')`),
    )
    .execute();
  await db.schema.alterTable('refunds').addColumn('hold_detail', 'text').execute();
  await db.schema.alterTable('refund_events').addColumn('checklist_json', 'text').execute();

  const blob = dialect === 'postgres' ? 'bytea' : 'blob';
  let evidence = db.schema
    .createTable('refund_evidence')
    .addColumn('id', 'text', (c) => (dialect === 'postgres' ? c.notNull() : c.primaryKey()))
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('refund_id', 'text', (c) =>
      dialect === 'postgres' ? c.notNull() : c.notNull().references('refunds.id'),
    )
    .addColumn('content_type', 'text', (c) =>
      c.notNull().check(sql`content_type in ('image/jpeg', 'image/png', 'image/webp')`),
    )
    .addColumn('size_bytes', 'integer', (c) =>
      c.notNull().check(sql`size_bytes > 0 and size_bytes <= 2097152`),
    )
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('data', blob, (c) => c.notNull())
    .addColumn('uploaded_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull());
  if (dialect === 'postgres') {
    // As every merchant table since 0012: the merchant in the key and on both sides of the link.
    evidence = evidence
      .addPrimaryKeyConstraint('refund_evidence_pkey', ['id', 'merchant_id'])
      .addForeignKeyConstraint('refund_evidence_refund_id_fkey', ['refund_id', 'merchant_id'], 'refunds', [
        'id',
        'merchant_id',
      ]);
  }
  await evidence.execute();
  await db.schema
    .createIndex('refund_evidence_merchant_refund')
    .on('refund_evidence')
    .columns(['merchant_id', 'refund_id', 'created_at'])
    .execute();

  await db.schema
    .createIndex('refunds_merchant_creator_created')
    .on('refunds')
    .columns(['merchant_id', 'created_by', 'created_at'])
    .execute();
  await db.schema
    .createIndex('payments_merchant_card')
    .on('payments')
    .columns(['merchant_id', 'card_token'])
    .where(sql<boolean>`card_token is not null`)
    .execute();
  await db.schema
    .createIndex('payments_merchant_day_sales')
    .on('payments')
    .columns(['merchant_id', 'created_at', 'amount_minor'])
    .where(sql<boolean>`kind = 'sale' and voided = 0`)
    .execute();
}
