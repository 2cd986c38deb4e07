import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migration API
type Db = Kysely<any>;

/**
 * Ready for sharding by merchant (Citus; docs/production.md, src/store/distribution.ts).
 *
 * 1. Every row of merchant data names its merchant: the tables that reached it only through a
 *    parent (line items, refund events, vouchers, card-link attempts and keys, password checks)
 *    get `merchant_id`, copied from the parent, NOT NULL from now on.
 * 2. PostgreSQL: every primary key and unique constraint of a distributed table includes
 *    `merchant_id`, and every foreign key between two of them carries it on both sides (Citus
 *    enforces a constraint inside one shard only, so it must hold within one merchant). The key
 *    columns come first and `merchant_id` last, so every lookup by id alone still uses the index.
 *    The composite foreign keys also check that a child's merchant is its parent's.
 * 3. SQLite keeps its keys: it is one file on one machine, never sharded, and changing a key
 *    there means rebuilding the table (and every table that references it) with foreign keys
 *    switched off, which cannot happen inside the migration's transaction. Its single-column keys
 *    are stricter than the composite ones, so nothing PostgreSQL refuses is accepted here. What
 *    the code relies on is made equal: an insert without `merchant_id` fails (a trigger: SQLite
 *    cannot add a NOT NULL column without a default), and an ON CONFLICT target that changed
 *    (link_terminal_keys) has a unique index on the same columns.
 */

/** Tables that gain `merchant_id`, and the parent row it is copied from. */
const inherited = [
  { table: 'payment_items', parent: 'payments', via: 'payment_id' },
  { table: 'refund_events', parent: 'refunds', via: 'refund_id' },
  { table: 'receipt_prints', parent: 'refunds', via: 'refund_id' },
  { table: 'receipt_sends', parent: 'refunds', via: 'refund_id' },
  { table: 'link_attempts', parent: 'terminals', via: 'terminal_id' },
  { table: 'link_terminal_keys', parent: 'terminals', via: 'terminal_id' },
  { table: 'auth_attempts', parent: 'operators', via: 'operator_id' },
] as const;

/** PostgreSQL primary keys that become (key…, merchant_id); the constraint keeps its name. */
const primaryKeys: { table: string; name: string; columns: string[] }[] = [
  { table: 'terminals', name: 'terminals_pkey', columns: ['id'] },
  { table: 'operators', name: 'operators_pkey', columns: ['id'] },
  { table: 'sessions', name: 'sessions_pkey', columns: ['token_hash'] },
  { table: 'api_keys', name: 'api_keys_pkey', columns: ['id'] },
  { table: 'payments', name: 'payments_pkey', columns: ['id'] },
  { table: 'payment_items', name: 'payment_items_pk', columns: ['payment_id', 'line_no'] },
  { table: 'refunds', name: 'refunds_pkey', columns: ['id'] },
  { table: 'refund_events', name: 'refund_events_pkey', columns: ['id'] },
  { table: 'adjustments', name: 'adjustments_pkey', columns: ['id'] },
  { table: 'settlements', name: 'settlements_pkey', columns: ['id'] },
  { table: 'reconciliations', name: 'reconciliations_pkey', columns: ['id'] },
  { table: 'operations', name: 'operations_pkey', columns: ['id'] },
  { table: 'receipt_prints', name: 'receipt_prints_pkey', columns: ['id'] },
  { table: 'receipt_sends', name: 'receipt_sends_pkey', columns: ['id'] },
  { table: 'link_attempts', name: 'link_attempts_pkey', columns: ['id'] },
  { table: 'link_terminal_keys', name: 'link_terminal_keys_pkey', columns: ['terminal_id'] },
  { table: 'auth_attempts', name: 'auth_attempts_pkey', columns: ['id'] },
];

/**
 * PostgreSQL unique constraints that become (columns…, merchant_id). An API key's hash and a
 * terminal's batch are unique per merchant from now on; key hashes are 256-bit random values, and
 * terminal ids are assigned by the acquirer, one merchant each.
 */
const uniques: { table: string; drop: string; name: string; columns: string[] }[] = [
  { table: 'api_keys', drop: 'api_keys_key_hash_key', name: 'api_keys_key_hash', columns: ['key_hash'] },
  {
    table: 'receipt_prints',
    drop: 'receipt_prints_refund_print_no',
    name: 'receipt_prints_refund_print_no',
    columns: ['refund_id', 'print_no'],
  },
  {
    table: 'settlements',
    drop: 'settlements_batch',
    name: 'settlements_batch',
    columns: ['terminal_id', 'batch_no'],
  },
];

/** PostgreSQL foreign keys between distributed tables that become (column, merchant_id) → (id, merchant_id). */
const foreignKeys = [
  { table: 'refunds', name: 'refunds_payment_id_fkey', column: 'payment_id', parent: 'payments' },
  { table: 'payment_items', name: 'payment_items_payment_id_fkey', column: 'payment_id', parent: 'payments' },
  { table: 'refund_events', name: 'refund_events_refund_id_fkey', column: 'refund_id', parent: 'refunds' },
  { table: 'receipt_prints', name: 'receipt_prints_refund_id_fkey', column: 'refund_id', parent: 'refunds' },
  { table: 'receipt_sends', name: 'receipt_sends_refund_id_fkey', column: 'refund_id', parent: 'refunds' },
  { table: 'sessions', name: 'sessions_operator_id_fkey', column: 'operator_id', parent: 'operators' },
] as const;

const ids = (columns: readonly string[]) => sql.join(columns.map((c) => sql.id(c)));

export async function up(db: Db, dialect: 'sqlite' | 'postgres'): Promise<void> {
  for (const t of inherited) {
    await db.schema.alterTable(t.table).addColumn('merchant_id', 'text').execute();
    await sql`update ${sql.table(t.table)} set merchant_id = (
      select p.merchant_id from ${sql.table(t.parent)} p where p.id = ${sql.ref(`${t.table}.${t.via}`)})`.execute(
      db,
    );
    const orphans = await sql<{ n: number | string }>`
      select count(*) as n from ${sql.table(t.table)} where merchant_id is null`.execute(db);
    const n = Number(orphans.rows[0]?.n ?? 0);
    if (n > 0) {
      // A row whose parent is gone cannot be given a merchant; guessing one would file it with
      // the wrong merchant's books. Stop and let an operator look.
      throw new Error(
        `0012_distribution_keys: ${n} row(s) of ${t.table} name no ${t.parent} row through ${t.via}; ` +
          'their merchant is unknown, fix or remove them and migrate again',
      );
    }
    if (dialect === 'postgres') {
      await db.schema
        .alterTable(t.table)
        .alterColumn('merchant_id', (c) => c.setNotNull())
        .execute();
    } else {
      await sql`create trigger ${sql.id(`${t.table}_merchant_id_required`)}
        before insert on ${sql.table(t.table)} when new.merchant_id is null
        begin select raise(abort, ${sql.lit(`${t.table}.merchant_id is required`)}); end`.execute(db);
    }
  }
  if (dialect === 'sqlite') {
    // link-journal's ON CONFLICT target on both dialects.
    await db.schema
      .createIndex('link_terminal_keys_merchant')
      .on('link_terminal_keys')
      .columns(['terminal_id', 'merchant_id'])
      .unique()
      .execute();
    return;
  }
  // The old foreign keys hang on the single-column keys: drop them before the keys change.
  for (const f of foreignKeys)
    await sql`alter table ${sql.table(f.table)} drop constraint ${sql.id(f.name)}`.execute(db);
  for (const k of primaryKeys) {
    await sql`alter table ${sql.table(k.table)} drop constraint ${sql.id(k.name)}`.execute(db);
    await sql`alter table ${sql.table(k.table)} add constraint ${sql.id(k.name)}
      primary key (${ids([...k.columns, 'merchant_id'])})`.execute(db);
  }
  for (const u of uniques) {
    await sql`alter table ${sql.table(u.table)} drop constraint ${sql.id(u.drop)}`.execute(db);
    await sql`alter table ${sql.table(u.table)} add constraint ${sql.id(u.name)}
      unique (${ids([...u.columns, 'merchant_id'])})`.execute(db);
  }
  for (const f of foreignKeys) {
    await sql`alter table ${sql.table(f.table)} add constraint ${sql.id(f.name)}
      foreign key (${ids([f.column, 'merchant_id'])})
      references ${sql.table(f.parent)} (${ids(['id', 'merchant_id'])})`.execute(db);
  }
}
