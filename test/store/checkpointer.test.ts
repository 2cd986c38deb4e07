/**
 * SQLite only (PostgreSQL has no WAL file of ours to checkpoint): with background checkpoints the
 * server's connection no longer copies the WAL into the database file itself (its own threshold
 * is raised far out of reach of these writes), yet the file catches up within moments — the
 * worker thread did it — and closing the store stops the thread.
 */
import { statSync } from 'node:fs';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/db.js';
import { storeTargets } from '../support/stores.js';

const sqlite = storeTargets.find((t) => t.name === 'sqlite');

describe('background WAL checkpoints', () => {
  it('copies committed pages into the database file from a worker thread', async () => {
    if (!sqlite) throw new Error('SQLite is always available');
    const url = await sqlite.freshUrl();
    const path = url.slice('sqlite:'.length);
    const store = openStore(url, { backgroundCheckpoints: true });
    try {
      await sql`create table t (id integer primary key, body text not null)`.execute(store.db);
      const before = statSync(path).size;
      await store.tx(async (trx) => {
        for (let i = 0; i < 2_000; i++)
          await sql`insert into t (body) values (${`row ${i} `.repeat(20)})`.execute(trx);
      });
      // ≈ 400 KB committed: far below the connection's own threshold, so only the thread moves it.
      const deadline = Date.now() + 5_000;
      while (statSync(path).size <= before + 200_000 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(statSync(path).size).toBeGreaterThan(before + 200_000);
    } finally {
      await store.close();
    }
  });

  it('leaves the WAL to the connection without the option (tests, CLI commands)', async () => {
    if (!sqlite) throw new Error('SQLite is always available');
    const url = await sqlite.freshUrl();
    const path = url.slice('sqlite:'.length);
    const store = openStore(url);
    try {
      await sql`create table t (id integer primary key, body text not null)`.execute(store.db);
      const before = statSync(path).size;
      await store.tx(async (trx) => {
        for (let i = 0; i < 2_000; i++)
          await sql`insert into t (body) values (${`row ${i} `.repeat(20)})`.execute(trx);
      });
      // Under SQLite's default threshold of 1,000 pages, nothing is copied until one is reached.
      await new Promise((r) => setTimeout(r, 600));
      expect(statSync(path).size).toBe(before);
    } finally {
      await store.close();
    }
  });
});
