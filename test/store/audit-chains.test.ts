/**
 * Issue 10, "audit chain without a global lock": every merchant's audit entries form their own
 * hash chain (entries without a merchant, the system's), so appends of two merchants never wait
 * for each other, and verification still finds any edit, removal, insertion or move — per chain.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditEntry,
  appendAudit,
  canonicalJson,
  GENESIS_HASH,
  legacyEntryHash,
  SYSTEM_CHAIN,
  verifyAudit,
} from '../../src/store/audit.js';
import { type Dialect, migrate, openStore, type Store } from '../../src/store/db.js';
import type { AuditTable } from '../../src/store/schema.js';
import { storeTargets } from '../support/stores.js';
import { unguarded } from './audit-support.js';

const A = '898100000000101';
const B = '898100000000102';
const C = '898100000000103';
const AT = Date.parse('2026-03-10T03:00:00.000Z');
let n = 0;

const entry = (merchantId: string | null): AuditEntry => {
  n++;
  return {
    merchantId,
    actor: 'test',
    action: 'refund.created',
    entity: 'refund',
    entityId: `r${n}`,
    data: { n },
    at: new Date(AT + n * 1_000),
  };
};

const append = (store: Store, merchantId: string | null) =>
  store.tx((trx) => appendAudit(trx, entry(merchantId)));

const chainRows = async (store: Store, chain: string): Promise<AuditTable[]> =>
  (
    await store.db.selectFrom('audit_log').selectAll().where('chain_id', '=', chain).orderBy('seq').execute()
  ).map((r) => ({ ...r, seq: Number(r.seq) }));

const headOf = (store: Store, chain: string) =>
  store.db.selectFrom('audit_head').selectAll().where('chain_id', '=', chain).executeTakeFirst();

describe.each(storeTargets)('one audit chain per merchant on $name', (target) => {
  let store: Store;

  beforeAll(async () => {
    store = openStore(await target.freshUrl(), { poolSize: 4 });
    await migrate(store);
    for (const m of [A, B, A, null, B, A, A, B, A]) await append(store, m);
  });
  afterAll(async () => {
    await store?.close();
  });

  it("numbers each merchant's entries in its own chain, and entries without a merchant in the system's", async () => {
    const a = await chainRows(store, A);
    expect(a.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(a.every((r) => r.merchant_id === A)).toBe(true);
    expect((await chainRows(store, B)).map((r) => r.seq)).toEqual([1, 2, 3]);
    const system = await chainRows(store, SYSTEM_CHAIN);
    expect(system.map((r) => [r.seq, r.merchant_id])).toEqual([[1, null]]);
    // Every chain starts at the anchor: the zero hash on a store that never had the global chain.
    expect(a[0]?.prev_hash).toBe(GENESIS_HASH);
    expect(system[0]?.prev_hash).toBe(GENESIS_HASH);
    expect(await headOf(store, A)).toMatchObject({ last_seq: 5, last_hash: a[4]?.hash });

    expect(await verifyAudit(store)).toEqual({ ok: true, entries: 9 });
    expect(await verifyAudit(store, A)).toEqual({ ok: true, entries: 5 });
    expect(await verifyAudit(store, B)).toEqual({ ok: true, entries: 3 });
    expect(await verifyAudit(store, C)).toEqual({ ok: true, entries: 0 });
  });

  it('appends for several merchants in one transaction, and a savepoint rolled back leaves every chain whole', async () => {
    const before = { a: await headOf(store, A), b: await headOf(store, B) };
    await store.tx(async (trx) => {
      await appendAudit(trx, entry(A));
      await appendAudit(trx, entry(B));
      await appendAudit(trx, entry(A));
      // One request's work in its savepoint (group commit): its entries, and a new chain's
      // head (C's first entry), are undone with it.
      await sql`savepoint request_2`.execute(trx);
      await appendAudit(trx, entry(A));
      await appendAudit(trx, entry(C));
      await sql`rollback to savepoint request_2`.execute(trx);
      await appendAudit(trx, entry(A));
      await sql`savepoint request_3`.execute(trx);
      await appendAudit(trx, entry(C));
      await sql`release savepoint request_3`.execute(trx);
    });
    expect((await headOf(store, A))?.last_seq).toBe(Number(before.a?.last_seq) + 3);
    expect((await headOf(store, B))?.last_seq).toBe(Number(before.b?.last_seq) + 1);
    expect((await chainRows(store, C)).map((r) => r.seq)).toEqual([1]);
    expect((await verifyAudit(store)).ok).toBe(true);
    for (const m of [A, B, C]) expect((await verifyAudit(store, m)).ok).toBe(true);
  });

  describe('tampering with one chain', () => {
    /** Tamper, expect `chain` broken at `seq` (alone and in the whole) and the others whole, then repair. */
    async function tampered(
      chain: string,
      seq: number,
      tamper: () => Promise<unknown>,
      repair: () => Promise<unknown>,
      alsoBroken: [string, number][] = [],
    ) {
      const others = [A, B, C].filter((m) => m !== chain && !alsoBroken.some(([c]) => c === m));
      await unguarded(store, async () => {
        await tamper();
      });
      try {
        expect(await verifyAudit(store, chain)).toMatchObject({ ok: false, firstBrokenSeq: seq });
        for (const [c, s] of alsoBroken)
          expect(await verifyAudit(store, c)).toMatchObject({ ok: false, firstBrokenSeq: s });
        for (const m of others) expect((await verifyAudit(store, m)).ok, m).toBe(true);
        expect((await verifyAudit(store)).ok).toBe(false);
      } finally {
        await unguarded(store, async () => {
          await repair();
        });
      }
      expect((await verifyAudit(store)).ok).toBe(true);
    }
    const put = (r: AuditTable) => store.db.insertInto('audit_log').values(r).execute();
    const remove = (r: AuditTable) =>
      store.db.deleteFrom('audit_log').where('chain_id', '=', r.chain_id).where('seq', '=', r.seq).execute();
    const set = (r: AuditTable, values: Partial<AuditTable>) =>
      store.db
        .updateTable('audit_log')
        .set(values)
        .where('chain_id', '=', r.chain_id)
        .where('seq', '=', r.seq)
        .execute();
    const at = async (chain: string, seq: number): Promise<AuditTable> => {
      const r = (await chainRows(store, chain)).find((x) => x.seq === seq);
      if (!r) throw new Error(`no entry ${chain}/${seq}`);
      return r;
    };

    it("finds an edited entry at its number, in that merchant's chain only", async () => {
      const victim = await at(A, 3);
      for (const edit of [
        { actor: 'mallory' },
        { data_json: canonicalJson({ n: 0 }) },
        { merchant_id: B },
        { merchant_id: null },
      ]) {
        await tampered(
          A,
          3,
          () => set(victim, edit),
          () => set(victim, victim),
        );
      }
    });

    it('finds a removed entry in the middle at its number', async () => {
      const victim = await at(B, 2);
      await tampered(
        B,
        2,
        () => remove(victim),
        () => put(victim),
      );
    });

    it("finds the last entries removed by the chain's head", async () => {
      const rows = await chainRows(store, A);
      const tail = rows.slice(-2);
      const first = tail[0]?.seq as number;
      await tampered(
        A,
        first,
        async () => {
          for (const r of tail) await remove(r);
        },
        async () => {
          for (const r of tail) await put(r);
        },
      );
      // Every entry of a chain gone, its head left: broken at the chain's first number.
      await tampered(
        A,
        1,
        async () => {
          for (const r of rows) await remove(r);
        },
        async () => {
          for (const r of rows) await put(r);
        },
      );
    });

    it('finds a removed head, entries left behind', async () => {
      const head = await headOf(store, B);
      if (!head) throw new Error('no head of B');
      const rows = await chainRows(store, B);
      await tampered(
        B,
        rows.length + 1,
        () => store.db.deleteFrom('audit_head').where('chain_id', '=', B).execute(),
        () => store.db.insertInto('audit_head').values(head).execute(),
      );
    });

    it('finds two entries swapped in order, at the first of them', async () => {
      const a = await at(A, 2);
      const b = await at(A, 3);
      const content = ({ seq: _seq, chain_id: _chain, ...rest }: AuditTable) => rest;
      await tampered(
        A,
        2,
        async () => {
          await set(a, content(b));
          await set(b, content(a));
        },
        async () => {
          await set(a, content(a));
          await set(b, content(b));
        },
      );
    });

    it("finds an entry moved into another merchant's chain, in both chains", async () => {
      const moved = await at(A, 2);
      const bHead = await headOf(store, B);
      if (!bHead) throw new Error('no head of B');
      const next = Number(bHead.last_seq) + 1;
      // Filed under B at B's next number, B's head advanced to it, as an intruder would.
      const asB = { ...moved, chain_id: B, seq: next, prev_hash: bHead.last_hash };
      await tampered(
        A,
        2,
        async () => {
          await remove(moved);
          await put(asB);
          await store.db
            .updateTable('audit_head')
            .set({ last_seq: next, last_hash: moved.hash })
            .where('chain_id', '=', B)
            .execute();
        },
        async () => {
          await remove(asB);
          await put(moved);
          await store.db.updateTable('audit_head').set(bHead).where('chain_id', '=', B).execute();
        },
        [[B, next]],
      );
    });

    it('finds an entry inserted in the middle, even with a hash made by the rule', async () => {
      const rows = await chainRows(store, B);
      expect(rows.length).toBeGreaterThanOrEqual(3);
      const first = rows[0] as AuditTable;
      const shifted = rows.slice(1).map((r) => ({ ...r, seq: r.seq + 1 }));
      // The hash is a public rule (no key): an intruder can compute it for a forged entry, but not
      // for the entries after it without rewriting them all.
      const body = { ...first, seq: 2, actor: 'mallory', entity_id: 'forged', prev_hash: first.hash };
      const forged = {
        ...body,
        hash: createHash('sha256')
          .update(first.hash)
          .update('\n')
          .update(
            canonicalJson({
              chain_id: B,
              seq: 2,
              merchant_id: B,
              actor: body.actor,
              action: body.action,
              entity: body.entity,
              entity_id: body.entity_id,
              data_json: body.data_json,
              at: body.at,
            }),
          )
          .digest('hex'),
      };
      await tampered(
        B,
        3,
        async () => {
          for (const r of rows.slice(1).reverse()) await remove(r);
          for (const r of shifted) await put(r);
          await put(forged);
        },
        async () => {
          await remove(forged);
          for (const r of shifted) await remove(r);
          for (const r of rows.slice(1)) await put(r);
        },
      );
    });
  });
});

const postgres = storeTargets.find((t) => t.name === 'postgres');

describe.runIf(postgres)('no global audit lock on postgres', () => {
  let store: Store;

  beforeAll(async () => {
    store = openStore(await (postgres as NonNullable<typeof postgres>).freshUrl(), { poolSize: 4 });
    await migrate(store);
    await append(store, A);
    await append(store, B);
  });
  afterAll(async () => {
    await store?.close();
  });

  it("completes merchant B's append while merchant A's transaction holds A's chain head", async () => {
    let appended!: () => void;
    let release!: () => void;
    const aAppended = new Promise<void>((r) => {
      appended = r;
    });
    const aReleased = new Promise<void>((r) => {
      release = r;
    });
    const holder = store.tx(async (trx) => {
      await appendAudit(trx, entry(A));
      appended();
      await aReleased;
    });
    await aAppended;
    try {
      // A's head is held: another append to A waits (and gives up after its lock timeout)...
      const blocked = store.tx(async (trx) => {
        await sql`set local lock_timeout = '300ms'`.execute(trx);
        await appendAudit(trx, entry(A));
      });
      await expect(blocked).rejects.toMatchObject({ code: '55P03' });
      // ...while B's append, and the system's, go through under the same lock timeout.
      for (const m of [B, null]) {
        await store.tx(async (trx) => {
          await sql`set local lock_timeout = '300ms'`.execute(trx);
          await appendAudit(trx, entry(m));
        });
      }
    } finally {
      release();
      await holder;
    }
    expect(await verifyAudit(store)).toEqual({ ok: true, entries: 5 });
    expect(await verifyAudit(store, A)).toEqual({ ok: true, entries: 2 });
    expect(await verifyAudit(store, B)).toEqual({ ok: true, entries: 2 });
  });

  it("creates a new chain's head once when two first appends race", async () => {
    const D = '898100000000104';
    await Promise.all([append(store, D), append(store, D), append(store, D)]);
    expect((await chainRows(store, D)).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(await verifyAudit(store, D)).toEqual({ ok: true, entries: 3 });
  });
});

// ---- migration 0013: the global chain of an older store becomes the closed chain they start from

const root = fileURLToPath(new URL('../../', import.meta.url));
// biome-ignore lint/suspicious/noExplicitAny: rows of a past schema, not today's typed one
type PastDb = Kysely<any>;

async function migrateBefore0013(store: Store): Promise<void> {
  const dir = join(root, 'src/store/migrations');
  const earlier = readdirSync(dir)
    .filter((f) => /^\d{4}_.*\.ts$/.test(f) && f < '0013')
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

/** The global chain as the store wrote it before 0013: all merchants and the system interleaved. */
async function writePastChain(store: Store, merchants: (string | null)[]): Promise<void> {
  const db = store.db as unknown as PastDb;
  let prev = GENESIS_HASH;
  let seq = 0;
  for (const m of merchants) {
    seq++;
    const e = entry(m);
    const row = {
      seq,
      merchant_id: m,
      actor: e.actor,
      action: e.action,
      entity: e.entity,
      entity_id: e.entityId,
      data_json: canonicalJson(e.data),
      at: e.at.toISOString(),
    };
    const hash = legacyEntryHash(prev, row);
    await db
      .insertInto('audit_log')
      .values({ ...row, prev_hash: prev, hash })
      .execute();
    prev = hash;
  }
  await db.updateTable('audit_head').set({ last_seq: seq, last_hash: prev }).where('id', '=', 1).execute();
}

const PAST = [A, B, null, A, A, B, A];

describe.each(storeTargets)('migrating the global audit chain on $name', (target) => {
  const opened: Store[] = [];
  const pastStore = async (): Promise<Store> => {
    const store = openStore(await target.freshUrl(), { poolSize: 2 });
    opened.push(store);
    await migrateBefore0013(store);
    await writePastChain(store, PAST);
    return store;
  };
  afterAll(async () => {
    for (const s of opened) await s.close();
  });

  it('keeps every old entry and hash, and starts each chain at the old head', async () => {
    const store = await pastStore();
    const before = await store.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    expect(await migrate(store)).toContain('0013_audit_chains');

    const after = await store.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    expect(after.map(({ chain_id: _c, ...r }) => ({ ...r, seq: Number(r.seq) }))).toEqual(
      before.map((r) => ({ ...r, seq: Number(r.seq) })),
    );
    expect(after.map((r) => r.chain_id)).toEqual(PAST.map((m) => m ?? SYSTEM_CHAIN));
    const oldHead = before[before.length - 1]?.hash;
    expect(await store.db.selectFrom('audit_anchor').selectAll().executeTakeFirst()).toMatchObject({
      last_seq: PAST.length,
      last_hash: oldHead,
      broken_seq: null,
    });
    expect(await verifyAudit(store)).toEqual({ ok: true, entries: PAST.length });

    await append(store, A);
    await append(store, null);
    await append(store, A);
    const a = (await chainRows(store, A)).filter((r) => r.seq > PAST.length);
    // A merchant's numbers keep ascending across the migration; the chain links to the old head.
    expect(a.map((r) => r.seq)).toEqual([PAST.length + 1, PAST.length + 2]);
    expect(a[0]?.prev_hash).toBe(oldHead);
    expect((await chainRows(store, SYSTEM_CHAIN)).at(-1)?.prev_hash).toBe(oldHead);
    expect(await verifyAudit(store)).toEqual({ ok: true, entries: PAST.length + 3 });
    expect(await verifyAudit(store, A)).toEqual({ ok: true, entries: 2 });
    expect(await verifyAudit(store, B)).toEqual({ ok: true, entries: 0 });

    // An old entry edited after the migration: the closed chain no longer verifies.
    const victim = after[3] as AuditTable;
    const setActor = (actor: string) =>
      store.db
        .updateTable('audit_log')
        .set({ actor })
        .where('chain_id', '=', victim.chain_id)
        .where('seq', '=', victim.seq)
        .execute();
    await unguarded(store, () => setActor('mallory').then(() => undefined));
    try {
      expect(await verifyAudit(store)).toMatchObject({ ok: false, firstBrokenSeq: Number(victim.seq) });
    } finally {
      await unguarded(store, () => setActor(victim.actor).then(() => undefined));
    }
    expect((await verifyAudit(store)).ok).toBe(true);
  });

  it('carries a break found in the old chain over, without re-hashing it, for good', async () => {
    const store = await pastStore();
    const tamperedSeq = 4;
    const setActor = (actor: string) =>
      (store.db as unknown as PastDb)
        .updateTable('audit_log')
        .set({ actor })
        .where('seq', '=', tamperedSeq)
        .execute();
    await unguarded(store, () => setActor('mallory').then(() => undefined));
    const stored = await store.db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq').execute();

    expect(await migrate(store)).toContain('0013_audit_chains');
    expect(await store.db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq').execute()).toEqual(
      stored,
    );
    expect(await store.db.selectFrom('audit_anchor').select('broken_seq').executeTakeFirst()).toEqual({
      broken_seq: tamperedSeq,
    });
    expect(await verifyAudit(store)).toMatchObject({ ok: false, firstBrokenSeq: tamperedSeq });
    // Every merchant's verification (GET /v1/audit/verify) reports it too.
    await append(store, A);
    expect(await verifyAudit(store, A)).toMatchObject({ ok: false, firstBrokenSeq: tamperedSeq });
    expect(await verifyAudit(store, B)).toMatchObject({ ok: false, firstBrokenSeq: tamperedSeq });
    // Putting the row back does not erase what the migration saw.
    await unguarded(store, () => setActor('test').then(() => undefined));
    expect(await verifyAudit(store)).toMatchObject({ ok: false, firstBrokenSeq: tamperedSeq });
  });

  it('finds the last old entry removed before the migration by the old head', async () => {
    const store = await pastStore();
    await unguarded(store, () =>
      (store.db as unknown as PastDb)
        .deleteFrom('audit_log')
        .where('seq', '=', PAST.length)
        .execute()
        .then(() => undefined),
    );
    await migrate(store);
    expect(await verifyAudit(store)).toMatchObject({ ok: false, firstBrokenSeq: PAST.length });
  });
});
