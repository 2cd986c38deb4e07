import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dialect, migrate, openStore, type Store } from '../../src/store/db.js';
import {
  citusDistributeSql,
  distributedTables,
  referenceTables,
  type TableName,
  tablePlacement,
} from '../../src/store/distribution.js';
import { catalogTables } from '../integration/support/dump.js';
import { storeTargets } from '../support/stores.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const postgres = storeTargets.find((t) => t.name === 'postgres');
const distributionColumn = new Map(distributedTables().map((d) => [d.table as string, d.column]));
const order = Object.keys(tablePlacement);

interface UniqueIndex {
  table: string;
  index: string;
  primary: boolean;
  columns: string[];
}
interface ForeignKey {
  table: string;
  name: string;
  parent: string;
  columns: string[];
  parent_columns: string[];
}

async function uniqueIndexes(store: Store): Promise<UniqueIndex[]> {
  const r = await sql<UniqueIndex>`
    select c.relname as "table", i.relname as "index", ix.indisprimary as "primary",
      array(select a.attname::text from unnest(ix.indkey::int2[]) with ordinality k(attnum, n)
            join pg_attribute a on a.attrelid = ix.indrelid and a.attnum = k.attnum order by k.n) as columns
    from pg_index ix
    join pg_class c on c.oid = ix.indrelid
    join pg_class i on i.oid = ix.indexrelid
    where ix.indisunique and c.relnamespace = current_schema()::regnamespace
    order by 1, 2`.execute(store.db);
  return r.rows;
}

async function foreignKeys(store: Store): Promise<ForeignKey[]> {
  const r = await sql<ForeignKey>`
    select c.relname as "table", con.conname as name, p.relname as parent,
      array(select a.attname::text from unnest(con.conkey) with ordinality k(attnum, n)
            join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.n) as columns,
      array(select a.attname::text from unnest(con.confkey) with ordinality k(attnum, n)
            join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum order by k.n) as parent_columns
    from pg_constraint con
    join pg_class c on c.oid = con.conrelid
    join pg_class p on p.oid = con.confrelid
    where con.contype = 'f' and con.connamespace = current_schema()::regnamespace
    order by 1, 2`.execute(store.db);
  return r.rows;
}

describe.skipIf(!postgres)('sharding by merchant: the PostgreSQL catalog', () => {
  let store: Store;

  beforeAll(async () => {
    store = openStore(await (postgres as NonNullable<typeof postgres>).freshUrl(), { poolSize: 2 });
    await migrate(store);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('places every table of the database, distributed by merchant or reference, and nothing else', async () => {
    expect((await catalogTables(store)).sort()).toEqual([...order].sort());
  });

  it('puts the distribution column in every primary key and unique index of a distributed table', async () => {
    const indexes = await uniqueIndexes(store);
    const missing = indexes
      .filter((ix) => distributionColumn.has(ix.table))
      .filter((ix) => !ix.columns.includes(distributionColumn.get(ix.table) as string))
      .map((ix) => `${ix.table}.${ix.index} (${ix.columns.join(', ')})`);
    expect(missing).toEqual([]);
    // Every distributed table has its primary key (Citus routes by it; the store looks rows up by it).
    const withPrimary = new Set(indexes.filter((ix) => ix.primary).map((ix) => ix.table));
    expect(distributedTables().filter((d) => !withPrimary.has(d.table))).toEqual([]);
  });

  it('keeps the distribution column NOT NULL (Citus cannot place a row without it)', async () => {
    const r = await sql<{ table_name: string; column_name: string; is_nullable: string }>`
      select table_name, column_name, is_nullable from information_schema.columns
      where table_schema = current_schema()`.execute(store.db);
    const nullable = distributedTables().filter(({ table, column }) => {
      const col = r.rows.find((c) => c.table_name === table && c.column_name === column);
      return col?.is_nullable !== 'NO';
    });
    expect(nullable).toEqual([]);
  });

  it('carries the distribution column on both sides of every foreign key between distributed tables', async () => {
    const bad: string[] = [];
    const fks = await foreignKeys(store);
    expect(fks).toContainEqual({
      table: 'refunds',
      name: 'refunds_payment_id_fkey',
      parent: 'payments',
      columns: ['payment_id', 'merchant_id'],
      parent_columns: ['id', 'merchant_id'],
    });
    for (const fk of fks) {
      const child = distributionColumn.get(fk.table);
      const parent = distributionColumn.get(fk.parent);
      const what = `${fk.table}.${fk.name} (${fk.columns.join(', ')}) → ${fk.parent} (${fk.parent_columns.join(', ')})`;
      if (child === undefined && parent !== undefined)
        bad.push(`reference table points at a distributed one: ${what}`);
      if (child !== undefined && parent !== undefined) {
        const at = fk.columns.indexOf(child);
        if (at < 0 || fk.parent_columns[at] !== parent) bad.push(`not by merchant: ${what}`);
      }
      // The Citus script distributes in list order: a parent must already be placed.
      if (order.indexOf(fk.parent) > order.indexOf(fk.table))
        bad.push(`parent listed after its child: ${what}`);
    }
    expect(bad).toEqual([]);
  });

  it('says why each reference table is not distributed', () => {
    for (const t of referenceTables()) {
      const p = tablePlacement[t];
      expect(p.kind === 'reference' && p.why.length > 10, t).toBe(true);
    }
  });
});

describe('scripts/citus-distribute.sql', () => {
  it('is generated from the one list of placements', () => {
    expect(readFileSync(join(root, 'scripts/citus-distribute.sql'), 'utf8')).toBe(citusDistributeSql());
  });

  it('distributes every distributed table and copies every reference table exactly once', () => {
    const script = citusDistributeSql();
    for (const t of Object.keys(tablePlacement) as TableName[]) {
      const calls = script.match(new RegExp(`create_(distributed|reference)_table\\('${t}'`, 'g')) ?? [];
      expect(calls, t).toHaveLength(1);
    }
  });
});

// Rows as they were before migration 0012: children reach their merchant only through a parent.
// biome-ignore lint/suspicious/noExplicitAny: rows of a past schema, not today's typed one
type PastDb = Kysely<any>;

async function migrateBefore0012(store: Store): Promise<void> {
  const dir = join(root, 'src/store/migrations');
  const earlier = readdirSync(dir)
    .filter((f) => /^\d{4}_.*\.ts$/.test(f) && f < '0012')
    .sort();
  await sql`create table if not exists schema_migrations (name text primary key, applied_at text not null)`.execute(
    store.db,
  );
  await store.tx(async (trx) => {
    for (const f of earlier) {
      const m = (await import(join(dir, f))) as { up: (db: PastDb, d: Dialect) => Promise<void> };
      await m.up(trx as unknown as PastDb, store.dialect);
      await sql`insert into schema_migrations (name, applied_at) values (${f.replace(/\.ts$/, '')}, 'test')`.execute(
        trx,
      );
    }
  });
}

const AT = '2026-03-10T03:00:00.000Z';

async function seedPast(db: PastDb, merchant: string, n: number): Promise<void> {
  const p = `p${n}`;
  const r = `r${n}`;
  const t = `T${n}`;
  const op = `op${n}`;
  await db
    .insertInto('merchants')
    .values({
      id: merchant,
      name: merchant,
      currency: 'CNY',
      available_funds_minor: 0,
      policy_json: '{}',
      created_at: AT,
    })
    .execute();
  await db
    .insertInto('terminals')
    .values({ id: t, merchant_id: merchant, name: t, batch_no: 1, created_at: AT })
    .execute();
  await db
    .insertInto('operators')
    .values({
      id: op,
      merchant_id: merchant,
      operator_no: '01',
      role: 'cashier',
      name: 'cashier',
      password_hash: 'x',
      created_at: AT,
    })
    .execute();
  await db
    .insertInto('sessions')
    .values({
      token_hash: `s${n}`,
      operator_id: op,
      merchant_id: merchant,
      terminal_id: t,
      expires_at: AT,
      created_at: AT,
    })
    .execute();
  await db
    .insertInto('payments')
    .values({
      id: p,
      merchant_id: merchant,
      terminal_id: t,
      order_no: `O${n}`,
      kind: 'sale',
      amount_minor: 10_000,
      currency: 'CNY',
      method: 'card',
      fee_minor: 60,
      refunded_minor: 1_000,
      captured_at: AT,
      created_at: AT,
      updated_at: AT,
    })
    .execute();
  await db
    .insertInto('payment_items')
    .values({ payment_id: p, line_no: 1, sku: 'A', name: 'A', qty: 1, unit_amount_minor: 10_000 })
    .execute();
  await db
    .insertInto('refunds')
    .values({
      id: r,
      merchant_id: merchant,
      payment_id: p,
      order_no: `O${n}`,
      amount_minor: 1_000,
      fee_minor: 6,
      net_amount_minor: 994,
      merchant_fee_returned_minor: 6,
      currency: 'CNY',
      reason_code: 'quality_issue',
      method: 'original',
      status: 'succeeded',
      items_json: '[]',
      approvals_json: '[]',
      expected_arrival: AT,
      created_by: 'op:01',
      created_day: '2026-03-10',
      created_at: AT,
      updated_at: AT,
    })
    .execute();
  await db
    .insertInto('refund_events')
    .values({ refund_id: r, to_status: 'succeeded', actor: 'op:01', at: AT })
    .execute();
  await db
    .insertInto('receipt_prints')
    .values({
      id: `rp${n}`,
      refund_id: r,
      print_no: 1,
      format: 'text',
      width_mm: 58,
      actor: 'op:01',
      printed_at: AT,
    })
    .execute();
  await db
    .insertInto('receipt_sends')
    .values({
      id: `rs${n}`,
      refund_id: r,
      channel: 'sms',
      destination_enc: 'x',
      destination_masked: '138****0000',
      status: 'sent',
      created_at: AT,
    })
    .execute();
  await db
    .insertInto('link_attempts')
    .values({
      id: `la${n}`,
      kind: 'refund',
      ref_id: r,
      terminal_id: t,
      stan: '000001',
      batch_no: '000001',
      request_json: '{}',
      state: 'answered',
      created_at: AT,
      updated_at: AT,
    })
    .execute();
  await db
    .insertInto('link_terminal_keys')
    .values({ terminal_id: t, key_version: 1, updated_at: AT })
    .execute();
  await db
    .insertInto('auth_attempts')
    .values({ id: `aa${n}`, operator_id: op, started_at: AT, purpose: 'approval' })
    .execute();
}

const inheriting = [
  ['payment_items', 'payment_id', 'p'],
  ['refund_events', 'refund_id', 'r'],
  ['receipt_prints', 'refund_id', 'r'],
  ['receipt_sends', 'refund_id', 'r'],
  ['link_attempts', 'terminal_id', 'T'],
  ['link_terminal_keys', 'terminal_id', 'T'],
  ['auth_attempts', 'operator_id', 'op'],
] as const;

describe.each(storeTargets)('migration 0012 on a store that already holds rows ($name)', (target) => {
  let store: Store;
  afterAll(async () => {
    await store?.close();
  });

  it('gives every child row its parent’s merchant, and keeps every key working', async () => {
    store = openStore(await target.freshUrl(), { poolSize: 2 });
    await migrateBefore0012(store);
    const past = store.db as unknown as PastDb;
    await seedPast(past, 'M1', 1);
    await seedPast(past, 'M2', 2);
    expect(await migrate(store)).toContain('0012_distribution_keys');

    for (const [table, via, prefix] of inheriting) {
      const rows = await sql<{ via: string; merchant_id: string }>`
        select ${sql.ref(via)} as via, merchant_id from ${sql.table(table)} order by 1`.execute(store.db);
      expect(rows.rows, table).toEqual([
        { via: `${prefix}1`, merchant_id: 'M1' },
        { via: `${prefix}2`, merchant_id: 'M2' },
      ]);
    }
    // A child row must name its merchant from now on, on both stores.
    await expect(
      past
        .insertInto('refund_events')
        .values({ refund_id: 'r1', to_status: 'succeeded', actor: 'x', at: AT })
        .execute(),
    ).rejects.toThrow(/merchant_id/);
    // The link journal's ON CONFLICT target has its unique index on both stores.
    await store.db
      .insertInto('link_terminal_keys')
      .values({ terminal_id: 'T1', merchant_id: 'M1', key_version: 0, updated_at: AT })
      .onConflict((oc) => oc.columns(['terminal_id', 'merchant_id']).doNothing())
      .execute();
    const key = await store.db
      .selectFrom('link_terminal_keys')
      .selectAll()
      .where('terminal_id', '=', 'T1')
      .execute();
    expect(key.map((k) => k.key_version)).toEqual([1]);
    if (store.dialect === 'postgres') {
      // The composite foreign keys also check that a child's merchant is its parent's.
      await expect(
        store.db
          .insertInto('refund_events')
          .values({ refund_id: 'r1', merchant_id: 'M2', to_status: 'succeeded', actor: 'x', at: AT })
          .execute(),
      ).rejects.toThrow(/foreign key/);
    }
  });

  it('refuses to guess the merchant of a row whose parent is gone, and changes nothing', async () => {
    const orphaned = openStore(await target.freshUrl(), { poolSize: 2 });
    try {
      await migrateBefore0012(orphaned);
      await seedPast(orphaned.db as unknown as PastDb, 'M1', 1);
      await (orphaned.db as unknown as PastDb)
        .insertInto('link_attempts')
        .values({
          id: 'la-orphan',
          kind: 'sale',
          ref_id: 'p-x',
          terminal_id: 'T-GONE',
          stan: '000009',
          batch_no: '000001',
          request_json: '{}',
          state: 'answered',
          created_at: AT,
          updated_at: AT,
        })
        .execute();
      await expect(migrate(orphaned)).rejects.toThrow(/1 row\(s\) of link_attempts name no terminals/);
      const applied = await sql<{ name: string }>`select name from schema_migrations`.execute(orphaned.db);
      expect(applied.rows.map((r) => r.name)).not.toContain('0012_distribution_keys');
      const cols = await sql`select merchant_id from payment_items`
        .execute(orphaned.db)
        .catch((e: Error) => e);
      expect(cols).toBeInstanceOf(Error);
    } finally {
      await orphaned.close();
    }
  });
});
