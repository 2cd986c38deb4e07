import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * Vouchers sent to the consumer (PRODUCT.md §3 step 7): one row per channel and request. The
 * destination is personal data (§7): sealed at rest, and kept masked beside it for screens.
 */
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('receipt_sends')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('refund_id', 'text', (c) => c.notNull().references('refunds.id'))
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('destination_enc', 'text', (c) => c.notNull())
    .addColumn('destination_masked', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'text')
    .execute();
  await db.schema.createIndex('receipt_sends_refund').on('receipt_sends').columns(['refund_id']).execute();
}
