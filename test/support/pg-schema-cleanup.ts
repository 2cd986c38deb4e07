import pg from 'pg';
import { afterAll } from 'vitest';
import { PG_URL } from './stores.js';

/**
 * Setup file of vitest.stryker.config.ts only. Under mutation testing every test file runs once per
 * mutant it covers, and each PostgreSQL suite makes a fresh schema (stores.ts): thousands of them
 * in one run. After each file, drop the schemas this process made (named t_<pid>_…).
 */
afterAll(async () => {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query(`set lock_timeout = '5s'`);
    const mine = await client.query<{ nspname: string }>(
      'select nspname from pg_namespace where nspname like $1',
      [`t\\_${process.pid}\\_%`],
    );
    for (const { nspname } of mine.rows) await client.query(`drop schema if exists "${nspname}" cascade`);
  } catch {
    // No PostgreSQL (its suites were skipped) or a schema still locked: leave it for the next file.
  } finally {
    await client.end().catch(() => undefined);
  }
});
