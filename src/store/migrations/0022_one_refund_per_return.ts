import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * One refund per QR return, held by the database too: the submission already marks its return
 * `submitted` under the return's lock before it creates the refund (service/returns.ts), and this
 * unique index refuses a second refund naming the same return whatever path would write it. It
 * includes `merchant_id`, the distribution column, so it holds on Citus as well.
 */
export async function up(db: Db): Promise<void> {
  await db.schema
    .createIndex('refunds_one_per_return')
    .on('refunds')
    .columns(['merchant_id', 'return_id'])
    .unique()
    .where(sql<boolean>`return_id is not null`)
    .execute();
}
