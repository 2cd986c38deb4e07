import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * The worker's status poll (refunds at the network whose result is overdue) reads every merchant's
 * `processing` refunds oldest first, twice a second. Without an index of its own it scanned the
 * whole refunds table each time: at a million refunds that is a second of a SQLite process's event
 * loop per poll, the stall behind the open-loop p99 of issue 10. A partial index holds only the
 * refunds in `processing` (a handful at any moment), so it costs a write only on the way in and out
 * of that status.
 */
export async function up(db: Db): Promise<void> {
  await db.schema
    .createIndex('refunds_processing_since')
    .on('refunds')
    .column('updated_at')
    .where(sql<boolean>`status = 'processing'`)
    .execute();
}
