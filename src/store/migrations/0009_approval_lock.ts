import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * The refund-password lock apart from the sign-in lock: wrong sign-ins (which anyone can send
 * without signing in) no longer lock a supervisor's approvals, nor the other way round.
 */
export async function up(db: Db): Promise<void> {
  await db.schema
    .alterTable('operators')
    .addColumn('approval_failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('operators').addColumn('approval_locked_until', 'text').execute();
  await db.schema
    .alterTable('auth_attempts')
    .addColumn('purpose', 'text', (c) => c.notNull().defaultTo('sign_in'))
    .execute();
}
