import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * One run of reconciliation (对账): the network's settlement file of a day against our ledger.
 * The lists are kept as JSON: a run is written once and read whole, never queried by its parts.
 */
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('reconciliations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('balanced', 'integer', (c) => c.notNull())
    .addColumn('matched', 'integer', (c) => c.notNull())
    .addColumn('mismatch_count', 'integer', (c) => c.notNull())
    .addColumn('mismatches_json', 'text', (c) => c.notNull())
    .addColumn('invalid_rows_json', 'text', (c) => c.notNull())
    .addColumn('totals_json', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('reconciliations_merchant_created')
    .on('reconciliations')
    .columns(['merchant_id', 'created_at', 'id'])
    .execute();
}
