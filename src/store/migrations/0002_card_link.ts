import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/** The card link's own state: the terminal's STAN counter and every request sent to the host. */
export async function up(db: Db): Promise<void> {
  await db.schema
    .alterTable('terminals')
    .addColumn('stan', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable('link_attempts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('ref_id', 'text', (c) => c.notNull())
    .addColumn('terminal_id', 'text', (c) => c.notNull())
    .addColumn('stan', 'text', (c) => c.notNull())
    .addColumn('batch_no', 'text', (c) => c.notNull())
    .addColumn('request_json', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('response_code', 'text')
    .addColumn('reference', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('link_attempts_ref')
    .on('link_attempts')
    .columns(['ref_id', 'created_at'])
    .execute();
}
