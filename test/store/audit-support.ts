import { sql } from 'kysely';
import { expect } from 'vitest';
import type { Store } from '../../src/store/db.js';

/**
 * Run `work` with the append-only guard of `audit_log` lifted, and put the guard back after: the
 * store refuses updates and deletes of the log (triggers); an intruder with the database in hand
 * lifts that guard first, and so do the tamper tests.
 */
export async function unguarded(store: Store, work: () => Promise<void>): Promise<void> {
  if (store.dialect === 'postgres') {
    await sql`alter table audit_log disable trigger audit_log_no_update`.execute(store.db);
    try {
      await work();
    } finally {
      await sql`alter table audit_log enable trigger audit_log_no_update`.execute(store.db);
    }
    return;
  }
  const triggers = await sql<{ name: string; sql: string }>`
    select name, sql from sqlite_master where type = 'trigger' and tbl_name = 'audit_log'`.execute(store.db);
  expect(triggers.rows.length).toBeGreaterThan(0);
  for (const t of triggers.rows) await sql`drop trigger ${sql.id(t.name)}`.execute(store.db);
  try {
    await work();
  } finally {
    for (const t of triggers.rows) await sql.raw(t.sql).execute(store.db);
  }
}
