import { type Kysely, sql } from 'kysely';
import { SYSTEM_CHAIN, verifyLegacyChain } from '../audit.js';
import type { Tx } from '../dialect.js';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * One audit hash chain per merchant (issue 10: no global lock; src/store/audit.ts).
 *
 * Until now every entry of every merchant was linked into one chain whose head row (audit_head,
 * id 1) every append locked: all refunds of all merchants took turns on it, and on Citus the log
 * had to be a reference table written on every node.
 *
 * 1. The old chain is verified as it stands, before anything changes. Its entries are neither
 *    re-hashed nor renumbered: re-hashing would launder whatever someone changed in them. It
 *    becomes the closed chain every new chain starts from; its head goes to `audit_anchor`,
 *    with the first number that did not verify (null when whole). A break is recorded, not
 *    refused: the rows keep the evidence either way, and refusing would stop the service until
 *    someone rewrote history to make it pass — the thing the chain exists to reveal.
 *    `verifyAudit` keeps reporting a recorded break.
 * 2. `audit_log` gains `chain_id` (the merchant's id, or SYSTEM_CHAIN for entries without one),
 *    NOT NULL, and its key becomes (chain_id, seq): numbers are per chain from now on. Old entries
 *    are filed under their merchant's chain id too, so on Citus a merchant's whole history sits in
 *    its shard. An index on seq keeps the closed chain's walk, in its global order, linear.
 *    The table is rebuilt on both dialects (SQLite cannot change a key in place; nothing
 *    references the log), and the append-only triggers are put back on the new table.
 * 3. `audit_head` becomes one row per chain, keyed by chain_id; a chain's first append creates
 *    its row at the anchor.
 */
export async function up(db: Db, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const head = await db
    .selectFrom('audit_head')
    .select(['last_seq', 'last_hash'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
  // The hashing of the old chain is frozen: audit.ts keeps it as `legacyEntryHash` for good.
  const verdict = await verifyLegacyChain(db as unknown as Tx, head);

  await db.schema
    .createTable('audit_anchor')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_hash', 'text', (c) => c.notNull())
    .addColumn('broken_seq', 'bigint')
    .execute();
  await db
    .insertInto('audit_anchor')
    .values({
      id: 1,
      last_seq: head.last_seq,
      last_hash: head.last_hash,
      broken_seq: verdict.ok ? null : verdict.firstBrokenSeq,
    })
    .execute();

  await db.schema
    .createTable('audit_log_0013')
    .addColumn('chain_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('merchant_id', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('data_json', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_log_chain_seq', ['chain_id', 'seq'])
    .execute();
  await sql`insert into audit_log_0013
      (chain_id, seq, merchant_id, actor, action, entity, entity_id, data_json, at, prev_hash, hash)
    select coalesce(merchant_id, ${SYSTEM_CHAIN}), seq, merchant_id, actor, action, entity, entity_id,
      data_json, at, prev_hash, hash
    from audit_log`.execute(db);
  await db.schema.dropTable('audit_log').execute();
  await db.schema.alterTable('audit_log_0013').renameTo('audit_log').execute();
  await db.schema.createIndex('audit_log_seq').on('audit_log').column('seq').execute();
  // Append-only, as 0001 made it: the store itself refuses to rewrite history.
  if (dialect === 'postgres') {
    await sql`create trigger audit_log_no_update before update or delete on audit_log
      for each row execute function audit_log_append_only()`.execute(db);
  } else {
    await sql`create trigger audit_log_no_update before update on audit_log
      begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
    await sql`create trigger audit_log_no_delete before delete on audit_log
      begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
  }

  await db.schema.dropTable('audit_head').execute();
  await db.schema
    .createTable('audit_head')
    .addColumn('chain_id', 'text', (c) => c.primaryKey())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_hash', 'text', (c) => c.notNull())
    .execute();
}
