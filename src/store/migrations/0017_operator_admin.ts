import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * The back office's people page (issue 11).
 *
 * - `operators.disabled_at`: an admin disables an operator (null: enabled). A disabled operator
 *   cannot sign in or approve, and their sessions end at once.
 * - `sessions.surface`: where a session was opened, `terminal` (at a till) or `office` (the back
 *   office, supervisors and admins only). An office session has no terminal; `terminal_id` stays
 *   NOT NULL (SQLite cannot drop the constraint without rebuilding the table) and holds '' there,
 *   which nothing reads: the surface decides (service/auth.ts `authenticate`).
 */
export async function up(db: Db): Promise<void> {
  await db.schema.alterTable('operators').addColumn('disabled_at', 'text').execute();
  await db.schema
    .alterTable('sessions')
    .addColumn('surface', 'text', (c) =>
      c.notNull().defaultTo('terminal').check(sql`surface in ('terminal', 'office')`),
    )
    .execute();
}
