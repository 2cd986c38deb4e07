import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * Workflows that cross the network (sale, charge, void, adjustment) reserve locally before they
 * call it: one `operations` row per run, written under the merchant lock, so a concurrent request
 * sees the reservation (order number taken, void in progress, adjustment in progress) before any
 * network call. A refund records the moment it is handed to the network: from then on the network
 * may hold it and it can no longer be canceled locally.
 */
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('operations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('order_no', 'text', (c) => c.notNull())
    .addColumn('payment_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reference', 'text')
    .addColumn('payload_json', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('operations_order')
    .on('operations')
    .columns(['merchant_id', 'order_no', 'status'])
    .execute();
  await db.schema.createIndex('operations_payment').on('operations').columns(['payment_id']).execute();
  await db.schema.alterTable('refunds').addColumn('handed_off_at', 'text').execute();
  // Whose work an outbox row is: set when it is enqueued or, at the latest, when it dies, so the
  // dead-letter list shows each merchant only its own.
  await db.schema.alterTable('outbox').addColumn('merchant_id', 'text').execute();
  // An Idempotency-Key is claimed before a request's first step; the token names the claimant.
  await db.schema.alterTable('idempotency_keys').addColumn('claim_token', 'text').execute();
}
