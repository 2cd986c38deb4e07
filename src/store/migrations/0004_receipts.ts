import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * Every print of a refund voucher: the first (print_no 1) is the original, every later one a
 * reprint (重打印). The unique (refund_id, print_no) makes a double "first print" impossible.
 */
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('receipt_prints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('refund_id', 'text', (c) => c.notNull().references('refunds.id'))
    .addColumn('print_no', 'integer', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('width_mm', 'integer', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('printed_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('receipt_prints_refund_print_no', ['refund_id', 'print_no'])
    .execute();
}
