import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * Closed batches listed newest first (`GET /v1/settlements`, issue 11's back office), the
 * merchant's or one terminal's, read a page at a time in index order like the other cursor lists
 * (see 0014): before these, settlements had no index that starts with the merchant, so a list
 * read every merchant's batches and sorted them. One row per terminal and day: cheap to keep.
 */
export async function up(db: Db): Promise<void> {
  await db.schema
    .createIndex('settlements_merchant_created')
    .on('settlements')
    .columns(['merchant_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('settlements_merchant_terminal_created')
    .on('settlements')
    .columns(['merchant_id', 'terminal_id', 'created_at', 'id'])
    .execute();
}
