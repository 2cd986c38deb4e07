import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * Phone search (issue 11, order management): a keyed hash of the consumer's phone beside the
 * sealed value — `refunds.consumer_phone_hash` (the refund's consumer phone) and
 * `receipt_sends.destination_phone_hash` (vouchers sent by SMS). See security.ts `phoneSearchHash`
 * for the key and its rotation.
 *
 * Each index holds only the rows that have a hash (most refunds carry no phone), starts with
 * `merchant_id` like every index here (one shard per merchant, distribution.ts), and answers
 * `merchant_id = ? and hash in (…)`.
 *
 * Rows written before this migration get their hash from `refund-desk keys reseal`: the keys are
 * not in the migration's reach (they live in DATA_DIR/secrets.json or the environment, and a
 * migration must not need them to run), and filling a hash means unsealing the row.
 */
export async function up(db: Db): Promise<void> {
  await db.schema.alterTable('refunds').addColumn('consumer_phone_hash', 'text').execute();
  await db.schema.alterTable('receipt_sends').addColumn('destination_phone_hash', 'text').execute();
  await db.schema
    .createIndex('refunds_merchant_phone_hash')
    .on('refunds')
    .columns(['merchant_id', 'consumer_phone_hash'])
    .where(sql<boolean>`consumer_phone_hash is not null`)
    .execute();
  await db.schema
    .createIndex('receipt_sends_merchant_phone_hash')
    .on('receipt_sends')
    .columns(['merchant_id', 'destination_phone_hash'])
    .where(sql<boolean>`destination_phone_hash is not null`)
    .execute();
}
