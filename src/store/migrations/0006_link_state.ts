import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * The card link's terminal key state, shared by every process on the store (PRODUCT.md §8): one
 * sign-in makes the acquirer replace the terminal's working keys, so the key itself, its version
 * (bumped once per sign-in, whichever process did it) and a short sign-in lease live here, not in
 * one process's memory. The MAC key is kept as the host sent it: encrypted under the terminal
 * master key, with its check value; never in clear.
 *
 * Also an index for the trace-number check: a STAN is never reused within a terminal's batch.
 */
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('link_terminal_keys')
    .addColumn('terminal_id', 'text', (c) => c.primaryKey())
    .addColumn('key_version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('mac_key_under_tmk', 'text')
    .addColumn('mac_key_check', 'text')
    .addColumn('signed_in_at', 'text')
    .addColumn('signing_in_by', 'text')
    .addColumn('signing_in_until', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('link_attempts_trace')
    .on('link_attempts')
    .columns(['terminal_id', 'batch_no', 'stan'])
    .execute();
}
