import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * Password checks in flight, one row each while argon2 runs: counted with the failed attempts
 * before a new check may start, so a burst of guesses gets at most the policy's number checked.
 * A row older than a check can take (its process died) no longer counts.
 */
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('auth_attempts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('operator_id', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('auth_attempts_operator')
    .on('auth_attempts')
    .columns(['operator_id'])
    .execute();
}
