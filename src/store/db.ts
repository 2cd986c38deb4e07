import { chmodSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type Pg from 'pg';
import { SAFETY_NET_PAGES, startCheckpointer } from './checkpointer.js';
import { type Db, type Dialect, registerDialect, type Tx } from './dialect.js';
import { type Batchable, GroupCommitter, type GroupStats, savepointsInOneRoundTrip } from './group-commit.js';
import * as m0001 from './migrations/0001_init.js';
import * as m0002 from './migrations/0002_card_link.js';
import * as m0003 from './migrations/0003_reconciliation.js';
import * as m0004 from './migrations/0004_receipts.js';
import * as m0005 from './migrations/0005_receipt_sends.js';
import * as m0006 from './migrations/0006_link_state.js';
import * as m0007 from './migrations/0007_workflows.js';
import * as m0008 from './migrations/0008_auth_attempts.js';
import * as m0009 from './migrations/0009_approval_lock.js';
import * as m0010 from './migrations/0010_api_key_life.js';
import * as m0012 from './migrations/0012_distribution_keys.js';
import * as m0013 from './migrations/0013_audit_chains.js';
import * as m0014 from './migrations/0014_growth_indexes.js';
import * as m0015 from './migrations/0015_worker_indexes.js';
import * as m0016 from './migrations/0016_drop_refunds_day_index.js';
import * as m0017 from './migrations/0017_operator_admin.js';
import * as m0018 from './migrations/0018_review_evidence.js';
import * as m0019 from './migrations/0019_phone_search.js';
import * as m0020 from './migrations/0020_settlement_lists.js';
import * as m0021 from './migrations/0021_returns.js';
import * as m0022 from './migrations/0022_one_refund_per_return.js';
import type { Database } from './schema.js';

export { type Db, type Dialect, dialectOf, forUpdate, type Tx } from './dialect.js';

export interface Store {
  db: Db;
  dialect: Dialect;
  /** Run `fn` in one transaction that serialises with every other writer of the rows it locks. */
  tx<T>(fn: (trx: Tx) => Promise<T>): Promise<T>;
  /**
   * Run `fn` like `tx`, but in a transaction shared with the other requests of the same lane
   * (group commit, see group-commit.ts): its own savepoint, its own result or error, resolved
   * only after the shared commit. `lane` is the merchant whose rows `fn` writes.
   */
  group<T, I = never>(lane: string, fn: (trx: Tx) => Promise<T>, batch?: Batchable<I>): Promise<T>;
  /** How group commit has grouped so far: transactions, requests, the largest group. */
  groupStats(): GroupStats;
  close(): Promise<void>;
}

/**
 * The PostgreSQL driver, loaded the first time a PostgreSQL store opens: a SQLite deployment
 * (the default) never pays its memory (≈ 15 MB of the server's RSS, issue 10).
 */
let pgDriver: typeof Pg | null = null;
function loadPg(): typeof Pg {
  if (pgDriver) return pgDriver;
  const loaded = createRequire(import.meta.url)('pg') as typeof Pg;
  // PostgreSQL int8 arrives as text; every int8 we store is a bounded amount or counter (< 2^53).
  loaded.types.setTypeParser(20, (v: string) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new Error(`int8 ${v} is beyond the safe integer range`);
    return n;
  });
  pgDriver = loaded;
  return loaded;
}

export interface StoreOptions {
  /** PostgreSQL connections (default 10). */
  poolSize?: number;
  /**
   * SQLite: checkpoint the WAL from a worker thread instead of inside commits (checkpointer.ts);
   * for the long-running server, not for short-lived CLI commands and tests.
   */
  backgroundCheckpoints?: boolean;
  /** Told when a background checkpoint fails (the server's own connection then checkpoints past its safety net). */
  onCheckpointError?: (message: string) => void;
}

export function openStore(url: string, opts: StoreOptions = {}): Store {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return openPostgres(url, opts.poolSize ?? 10);
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  const background = opts.backgroundCheckpoints === true && path !== ':memory:';
  return openSqlite(path, background ? { onError: opts.onCheckpointError } : null);
}

/**
 * Kysely's SQLite driver prepares every statement anew; better-sqlite3 statements are reusable,
 * and preparing is a good part of a small query's cost. The query texts are Kysely's compiled
 * SQL (values are parameters), so the set of distinct texts is bounded by the code's queries;
 * the cap only guards against an unforeseen source of distinct texts.
 */
function cachedStatements(raw: SqliteDatabase.Database) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  const CAP = 2000;
  return {
    close: () => raw.close(),
    prepare(text: string) {
      let stmt = cache.get(text);
      if (!stmt) {
        stmt = raw.prepare(text);
        if (cache.size >= CAP) cache.clear();
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

function openSqlite(
  path: string,
  checkpoints: { onError?: ((message: string) => void) | undefined } | null,
): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const raw = new SqliteDatabase(path);
  // The ledger is readable by its owner only (SQLite gives the -wal and -shm files the same mode).
  if (path !== ':memory:') chmodSync(path, 0o600);
  raw.pragma('journal_mode = WAL');
  // FULL: a committed refund survives power loss too, not only a process crash.
  raw.pragma('synchronous = FULL');
  raw.pragma('busy_timeout = 10000');
  raw.pragma('foreign_keys = ON');
  // 16 MiB of page cache (the default is 2 MiB): the hot index pages of a store with millions of
  // rows stay in the process instead of being read back through the file system on every refund.
  raw.pragma('cache_size = -16384');
  const checkpointer = checkpoints ? startCheckpointer(path, checkpoints) : null;
  // With the checkpointer, this connection checkpoints only if the WAL outgrows it by far.
  if (checkpointer) raw.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachedStatements(raw) }) });
  registerDialect(db, 'sqlite');
  const tx = <T>(fn: (trx: Tx) => Promise<T>): Promise<T> =>
    db.connection().execute(async (conn) => {
      registerDialect(conn, 'sqlite');
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn);
        throw err;
      }
    });
  const committer = new GroupCommitter({ tx });
  return {
    db,
    dialect: 'sqlite',
    // Kysely gives SQLite one connection behind a mutex, so transactions in this process already
    // run one at a time; BEGIN IMMEDIATE also takes the write lock up front against other processes
    // (the CLI, a second server) so no transaction can fail half-way on an upgrade to writer.
    tx,
    // One writer: one lane for every merchant, so each group is as large as the load allows.
    group: (_lane, fn, batch) => committer.run('sqlite', fn, batch),
    groupStats: () => ({ ...committer.stats }),
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}

/**
 * A PostgreSQL transaction keeps the ids of the first 64 subtransactions (savepoints that wrote)
 * in shared memory; past that every other session's snapshots slow down. One per request.
 */
const PG_MAX_GROUP = 48;

function openPostgres(url: string, poolSize: number): Store {
  const pool = new (loadPg().Pool)({ connectionString: url, max: poolSize });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  registerDialect(db, 'postgres');
  const tx = <T>(fn: (trx: Tx) => Promise<T>): Promise<T> =>
    db.transaction().execute((trx) => {
      registerDialect(trx, 'postgres');
      return fn(trx);
    });
  const committer = new GroupCommitter({ tx, savepoint: savepointsInOneRoundTrip, maxGroup: PG_MAX_GROUP });
  return {
    db,
    dialect: 'postgres',
    tx,
    group: (lane, fn, batch) => committer.run(lane, fn, batch),
    groupStats: () => ({ ...committer.stats }),
    close: () => db.destroy(),
  };
}

const migrations: { name: string; up: (db: Kysely<never>, d: Dialect) => Promise<void> }[] = [
  { name: '0001_init', up: m0001.up },
  { name: '0002_card_link', up: m0002.up },
  { name: '0003_reconciliation', up: m0003.up },
  { name: '0004_receipts', up: m0004.up },
  { name: '0005_receipt_sends', up: m0005.up },
  { name: '0006_link_state', up: m0006.up },
  { name: '0007_workflows', up: m0007.up },
  { name: '0008_auth_attempts', up: m0008.up },
  { name: '0009_approval_lock', up: m0009.up },
  { name: '0010_api_key_life', up: m0010.up },
  { name: '0012_distribution_keys', up: m0012.up },
  { name: '0013_audit_chains', up: m0013.up },
  { name: '0014_growth_indexes', up: m0014.up },
  { name: '0015_worker_indexes', up: m0015.up },
  { name: '0016_drop_refunds_day_index', up: m0016.up },
  { name: '0017_operator_admin', up: m0017.up },
  { name: '0018_review_evidence', up: m0018.up },
  { name: '0019_phone_search', up: m0019.up },
  { name: '0020_settlement_lists', up: m0020.up },
  { name: '0021_returns', up: m0021.up },
  { name: '0022_one_refund_per_return', up: m0022.up },
];

/**
 * Versioned migrations, applied in order under a lock. Kysely's Migrator cannot hand the dialect
 * to a migration (our append-only trigger differs per dialect), so this small runner does it.
 */
export async function migrate(store: Store): Promise<string[]> {
  const { db } = store;
  await sql`create table if not exists schema_migrations (name text primary key, applied_at text not null)`.execute(
    db,
  );
  const applied: string[] = [];
  await store.tx(async (trx) => {
    if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(8981001)`.execute(trx);
    const rows = await sql<{ name: string }>`select name from schema_migrations`.execute(trx);
    const done = new Set(rows.rows.map((r) => r.name));
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      await m.up(trx as unknown as Kysely<never>, store.dialect);
      await sql`insert into schema_migrations (name, applied_at) values (${m.name}, ${new Date().toISOString()})`.execute(
        trx,
      );
      applied.push(m.name);
    }
  });
  return applied;
}
