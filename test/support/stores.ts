import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * The store suites run on every dialect. SQLite always; PostgreSQL at TEST_DATABASE_URL
 * (default: the role and database that scripts/ensure-postgres.sh creates). Outside CI a missing
 * server skips those suites with a note; in CI (CI=true) it fails the run instead.
 */
export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://refund:refund@127.0.0.1:5432/refund_test';

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const pgUp = await postgresReachable();
if (!pgUp && process.env.CI === 'true') {
  throw new Error(
    `CI=true but PostgreSQL is not reachable at ${PG_URL}: the PostgreSQL suites must run in CI`,
  );
}
if (!pgUp)
  process.stderr.write(`note: PostgreSQL not reachable at ${PG_URL}; PostgreSQL suites are skipped\n`);

export interface StoreTarget {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty database URL for one suite. */
  freshUrl(): Promise<string>;
}

let pgSchemaCounter = 0;

export const storeTargets: StoreTarget[] = [
  {
    name: 'sqlite',
    async freshUrl() {
      return `sqlite:${join(mkdtempSync(join(tmpdir(), 'refund-desk-test-')), 'test.db')}`;
    },
  },
  ...(pgUp
    ? [
        {
          name: 'postgres' as const,
          async freshUrl() {
            // A fresh schema per suite, selected through the connection's search_path.
            const schema = `t_${process.pid}_${Date.now()}_${pgSchemaCounter++}`;
            const client = new pg.Client({ connectionString: PG_URL });
            await client.connect();
            await client.query(`create schema ${schema}`);
            await client.end();
            const url = new URL(PG_URL);
            url.searchParams.set('options', `-c search_path=${schema}`);
            return url.toString();
          },
        },
      ]
    : []),
];
