/**
 * Group commit (src/store/group-commit.ts): concurrent requests share one transaction and one
 * commit, yet each keeps its own outcome. On both stores: a request that fails leaves no trace and
 * takes no one else down, a failing SQL statement is rolled back to its own savepoint, answers
 * come only after the commit, and (PostgreSQL) one merchant's group never waits for another's.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { appendAudit, verifyAudit } from '../../src/store/audit.js';
import { migrate, openStore, type Store, type Tx } from '../../src/store/db.js';
import { type BatchOutcome, GroupCommitter, type SavepointOp } from '../../src/store/group-commit.js';
import { storeTargets } from '../support/stores.js';

describe('the group committer (no database)', () => {
  /** A fake transaction: records what ran in it, commits or fails as told. */
  function fakeStore(failCommit = () => false) {
    const log: string[][] = [];
    let current: string[] = [];
    const tx = async <T>(fn: (trx: Tx) => Promise<T>): Promise<T> => {
      current = [];
      log.push(current);
      const result = await fn({} as Tx);
      if (failCommit()) throw new Error('commit failed');
      return result;
    };
    const savepoint = async (_trx: Tx, ops: SavepointOp[]) => {
      current.push(...ops);
    };
    return { tx, savepoint, log };
  }

  it('runs the requests of one event-loop turn in one transaction, each with its own outcome', async () => {
    const { tx, savepoint, log } = fakeStore();
    const gc = new GroupCommitter({ tx, savepoint });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) =>
        gc.run('m1', async () => {
          if (i === 2) throw new DomainError('validation_failed', 'number two is refused');
          return i * 10;
        }),
      ),
    );
    expect(log).toHaveLength(1);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'refused'))).toEqual([
      0,
      10,
      'refused',
      30,
      40,
    ]);
    // Every request in its own savepoint; the refused one rolled back to it.
    expect(log[0]?.filter((s) => s === 'savepoint')).toHaveLength(5);
    expect(log[0]?.filter((s) => s === 'rollback')).toHaveLength(1);
    expect(gc.stats).toEqual({ groups: 1, requests: 5, largest: 5, batched: 0, batchFallbacks: 0 });
  });

  it('fails every request of a group whose commit fails', async () => {
    const { tx, savepoint } = fakeStore(() => true);
    const gc = new GroupCommitter({ tx, savepoint });
    const results = await Promise.allSettled([1, 2, 3].map((i) => gc.run('m1', async () => i)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
  });

  it('queues what arrives while a group runs for the next group, bounded by maxGroup', async () => {
    const { tx, savepoint, log } = fakeStore();
    const gc = new GroupCommitter({ tx, savepoint, maxGroup: 3 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const first = gc.run('m1', async () => {
      await gate;
      return 'first';
    });
    await new Promise((r) => setImmediate(r));
    // The first group is running; these seven wait, then go in groups of at most three.
    const later = Array.from({ length: 7 }, (_, i) => gc.run('m1', async () => i));
    release();
    expect(await first).toBe('first');
    expect(await Promise.all(later)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Groups of 1, 3, 3, 1; a request alone in its transaction needs no savepoint.
    expect(log.map((g) => g.filter((s) => s === 'savepoint').length)).toEqual([0, 3, 3, 0]);
    expect(gc.stats).toEqual({ groups: 4, requests: 8, largest: 3, batched: 0, batchFallbacks: 0 });
  });

  it('decides requests of one kind in one call, runs those it leaves alone, and falls back when it throws', async () => {
    const { tx, savepoint } = fakeStore();
    const gc = new GroupCommitter({ tx, savepoint });
    const calls: number[][] = [];
    const many = async (_trx: Tx, inputs: number[]): Promise<BatchOutcome[]> => {
      calls.push(inputs);
      if (inputs.includes(99)) throw new Error('the batch broke');
      return inputs.map((n) => (n === 3 ? { alone: true } : { ok: true, value: n * 10 }));
    };
    const run = (n: number) => gc.run('m1', async () => n * 100, { kind: 'k', input: n, many });
    // 1 and 2 decided together; 3 left alone runs its own fn.
    expect(await Promise.all([run(1), run(2), run(3)])).toEqual([10, 20, 300]);
    expect(calls).toEqual([[1, 2, 3]]);
    expect(gc.stats).toMatchObject({ batched: 2, batchFallbacks: 0 });
    // A batch that throws: every request runs its own fn, each with its own answer.
    expect(await Promise.all([run(4), run(99)])).toEqual([400, 9_900]);
    expect(gc.stats).toMatchObject({ batched: 2, batchFallbacks: 1 });
  });

  it('runs different lanes side by side', async () => {
    const { tx, savepoint } = fakeStore();
    const gc = new GroupCommitter({ tx, savepoint });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = gc.run('m1', async () => {
      await gate;
      return 'm1';
    });
    // m2 finishes while m1's group is still open.
    expect(await gc.run('m2', async () => 'm2')).toBe('m2');
    release();
    expect(await slow).toBe('m1');
  });
});

describe.each(storeTargets)('group commit on $name', (target) => {
  let store: Store;
  let url: string;

  beforeAll(async () => {
    url = await target.freshUrl();
    store = openStore(url);
    await sql`create table gc_rows (id text primary key, merchant text not null, n integer not null check (n >= 0))`.execute(
      store.db,
    );
  });
  afterAll(async () => {
    await store.close();
  });

  const insert = (trx: Tx, id: string, merchant: string, n: number) =>
    sql`insert into gc_rows (id, merchant, n) values (${id}, ${merchant}, ${n})`.execute(trx);
  const ids = async (prefix: string) =>
    (
      await sql<{ id: string }>`select id from gc_rows where id like ${`${prefix}%`} order by id`.execute(
        store.db,
      )
    ).rows.map((r) => r.id);

  it('keeps each request’s outcome: a domain refusal and a failing statement roll back alone', async () => {
    const results = await Promise.allSettled([
      store.group('m1', (trx) => insert(trx, 'a1', 'm1', 1).then(() => 'a1')),
      store.group('m1', async (trx) => {
        await insert(trx, 'a2', 'm1', 2);
        throw new DomainError('refund_exceeds_refundable', 'refused after writing');
      }),
      // Violates the CHECK: the database refuses the statement; on PostgreSQL that would abort
      // the whole transaction without the item's savepoint.
      store.group('m1', async (trx) => {
        await insert(trx, 'a3', 'm1', 3);
        await insert(trx, 'a3x', 'm1', -1);
        return 'a3';
      }),
      store.group('m1', (trx) => insert(trx, 'a4', 'm1', 4).then(() => 'a4')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(DomainError);
    expect(await ids('a')).toEqual(['a1', 'a4']);
  });

  it('answers only after the commit: a second connection already sees every answered row', async () => {
    const other = openStore(url);
    try {
      const seen = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store
            .group('m1', (trx) => insert(trx, `b${String(i).padStart(2, '0')}`, 'm1', i))
            .then(async () => {
              const row = await sql<{
                n: number;
              }>`select n from gc_rows where id = ${`b${String(i).padStart(2, '0')}`}`.execute(other.db);
              return row.rows.length;
            }),
        ),
      );
      expect(seen).toEqual(Array(20).fill(1));
    } finally {
      await other.close();
    }
  });

  it('writes exactly what concurrent requests asked for, however they were grouped', async () => {
    const n = 200;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        store.group(`m${i % 4}`, (trx) => insert(trx, `c${String(i).padStart(3, '0')}`, `m${i % 4}`, i)),
      ),
    );
    expect(await ids('c')).toHaveLength(n);
  });

  it.runIf(target.name === 'postgres')(
    'lets another merchant’s group commit while one merchant’s group holds its locks',
    async () => {
      await store.db.transaction().execute(async (trx) => {
        await insert(trx, 'd0', 'm1', 0);
      });
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const m1 = store.group('m1', async (trx) => {
        await sql`select n from gc_rows where id = 'd0' for update`.execute(trx);
        await gate;
        return 'm1';
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(await store.group('m2', (trx) => insert(trx, 'd2', 'm2', 2).then(() => 'm2'))).toBe('m2');
      release();
      expect(await m1).toBe('m1');
    },
  );
});

describe.each(storeTargets)('audit entries of a group on $name', (target) => {
  let store: Store;

  beforeAll(async () => {
    store = openStore(await target.freshUrl());
    await migrate(store);
  });
  afterAll(async () => {
    await store.close();
  });

  const entry = (merchantId: string | null, entityId: string) => ({
    merchantId,
    actor: 'op:01',
    action: 'refund.created',
    entity: 'refund',
    entityId,
    data: { n: entityId },
    at: new Date('2026-12-03T08:00:00.000Z'),
  });

  it('links the entries of the requests that succeeded, in their order, once per chain, and none of a refused one', async () => {
    const results = await Promise.allSettled([
      store.group('m', (trx) => appendAudit(trx, entry('mA', 'e1'))),
      store.group('m', async (trx) => {
        await appendAudit(trx, entry('mA', 'refused'));
        throw new DomainError('validation_failed', 'refused after its audit entry');
      }),
      store.group('m', async (trx) => {
        await appendAudit(trx, entry('mB', 'e2'));
        await appendAudit(trx, entry(null, 'e3'));
      }),
      store.group('m', (trx) => appendAudit(trx, entry('mA', 'e4'))),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const rows = await store.db
      .selectFrom('audit_log')
      .select(['chain_id', 'seq', 'entity_id'])
      .orderBy('chain_id')
      .orderBy('seq')
      .execute();
    const ofChain = (c: string) => rows.filter((r) => r.chain_id === c).map((r) => r.entity_id);
    expect(ofChain('mA')).toEqual(['e1', 'e4']);
    expect(ofChain('mB')).toEqual(['e2']);
    expect(rows.map((r) => r.entity_id)).not.toContain('refused');
    expect(await verifyAudit(store)).toMatchObject({ ok: true, entries: 4 });
    expect(await verifyAudit(store, 'mA')).toMatchObject({ ok: true, entries: 2 });
    // Appends after the group continue each chain.
    await store.group('m', (trx) => appendAudit(trx, entry('mA', 'e5')));
    expect(await verifyAudit(store, 'mA')).toMatchObject({ ok: true, entries: 3 });
  });
});
