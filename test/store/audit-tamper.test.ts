/**
 * Issue 9, "tests that would notice": the audit log is a hash chain, and verification must find
 * the first entry that someone with write access to the database changed, removed or moved — by
 * the function and by `GET /v1/audit/verify`. The store refuses updates and deletes of the log
 * (triggers); an intruder with the database in hand lifts that guard first, and so does this test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/store/audit.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  until,
} from '../support/system.js';
import { unguarded } from './audit-support.js';

interface Row {
  chain_id: string;
  seq: number;
  merchant_id: string | null;
  actor: string;
  action: string;
  entity: string;
  entity_id: string;
  data_json: string;
  at: string;
  prev_hash: string;
  hash: string;
}

describe.each(storeTargets)('audit chain verification against tampering on $name', (target) => {
  let sys: TestSystem;
  let admin: Client;
  let rows: Row[];

  const db = () => sys.ctx.store.db;
  const row = (seq: number): Row => {
    const r = rows.find((x) => x.seq === seq);
    if (!r) throw new Error(`no audit entry ${seq}`);
    return r;
  };
  // Every entry of this suite is the demo merchant's: its chain is the one tampered with.
  const chain = DEMO.merchantId;
  const put = (r: Row) => db().insertInto('audit_log').values(r).execute();
  const remove = (seq: number) =>
    db().deleteFrom('audit_log').where('chain_id', '=', chain).where('seq', '=', seq).execute();
  const set = (seq: number, values: Partial<Omit<Row, 'seq'>>) =>
    db().updateTable('audit_log').set(values).where('chain_id', '=', chain).where('seq', '=', seq).execute();

  /** The verdict of the function (whole chain and one merchant's view) and of the API must agree. */
  async function expectBrokenAt(seq: number): Promise<void> {
    const all = await verifyAudit(sys.ctx.store);
    expect(all).toMatchObject({ ok: false, firstBrokenSeq: seq });
    expect(await verifyAudit(sys.ctx.store, DEMO.merchantId)).toMatchObject({
      ok: false,
      firstBrokenSeq: seq,
    });
    const api = await admin.call('GET', '/v1/audit/verify');
    expect(api.status).toBe(200);
    expect(api.body).toMatchObject({ ok: false, firstBrokenSeq: seq });
  }

  async function expectIntact(): Promise<void> {
    expect(await verifyAudit(sys.ctx.store)).toEqual({ ok: true, entries: rows.length });
    expect((await admin.call('GET', '/v1/audit/verify')).body).toMatchObject({ ok: true });
  }

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl());
    admin = await signIn(sys.base, '99', '12345678');
    // Real activity: a sale and two refunds through the API, each audited on its way.
    const cashier = await signIn(sys.base, '01', '1111');
    const paid = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('AUD'),
      amount: 10_000,
      currency: 'CNY',
      method: 'qr',
    });
    expect(paid.status).toBe(201);
    for (const amount of [1_000, 2_000]) {
      const r = await cashier.call('POST', '/v1/refunds', {
        paymentId: paid.body.id,
        amount,
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
      });
      expect(r.status).toBe(201);
      await until(
        () => cashier.call('GET', `/v1/refunds/${r.body.id}`),
        (x) => x.body.status === 'succeeded',
      );
    }
    rows = (await db().selectFrom('audit_log').selectAll().orderBy('seq').execute()).map((r) => ({
      ...r,
      seq: Number(r.seq),
    })) as Row[];
    expect(rows.length).toBeGreaterThanOrEqual(8);
    expect(rows.every((r) => r.chain_id === chain)).toBe(true);
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('verifies the untouched chain', async () => {
    await expectIntact();
  });

  /** Tamper, expect verification to break at `seq`, and repair — even when the expectation fails. */
  async function tampered(tamper: () => Promise<unknown>, repair: () => Promise<unknown>, seq: number) {
    await unguarded(sys.ctx.store, async () => {
      await tamper();
    });
    try {
      await expectBrokenAt(seq);
    } finally {
      await unguarded(sys.ctx.store, async () => {
        await repair();
      });
    }
    await expectIntact();
  }

  it("finds an entry whose content was edited, at that entry's sequence number", async () => {
    const victim = row(Math.ceil(rows.length / 2));
    const edits: Partial<Row>[] = [
      { actor: 'mallory' },
      { data_json: JSON.stringify({ ...JSON.parse(victim.data_json), amount: 1 }) },
      { at: new Date(Date.parse(victim.at) + 1_000).toISOString() },
      { merchant_id: 'another-merchant' },
    ];
    for (const edit of edits) {
      await tampered(
        () => set(victim.seq, edit),
        () => set(victim.seq, victim),
        victim.seq,
      );
    }
  });

  it('finds a removed entry: in the middle at its sequence number, at the end by the chain head', async () => {
    const middle = row(3);
    await tampered(
      () => remove(middle.seq),
      () => put(middle),
      middle.seq,
    );
    const last = row(rows.length);
    await tampered(
      () => remove(last.seq),
      () => put(last),
      last.seq,
    );
  });

  it('finds two entries swapped in order, at the first of them', async () => {
    const a = row(4);
    const b = row(5);
    const contentOf = ({ seq: _seq, ...rest }: Row) => rest;
    await tampered(
      async () => {
        await set(a.seq, contentOf(b));
        await set(b.seq, contentOf(a));
      },
      async () => {
        await set(a.seq, contentOf(a));
        await set(b.seq, contentOf(b));
      },
      a.seq,
    );
  });

  it('finds an altered hash or back-link at that entry', async () => {
    const victim = row(6);
    const other = victim.hash.startsWith('0') ? `1${victim.hash.slice(1)}` : `0${victim.hash.slice(1)}`;
    await tampered(
      () => set(victim.seq, { hash: other }),
      () => set(victim.seq, victim),
      victim.seq,
    );
    await tampered(
      () => set(victim.seq, { prev_hash: row(2).hash }),
      () => set(victim.seq, victim),
      victim.seq,
    );
  });

  it('finds a chain head that no longer matches the last entry', async () => {
    const head = await db()
      .selectFrom('audit_head')
      .selectAll()
      .where('chain_id', '=', chain)
      .executeTakeFirstOrThrow();
    const setHead = (values: { last_seq?: number; last_hash?: string }) =>
      db().updateTable('audit_head').set(values).where('chain_id', '=', chain).execute();
    const restore = () => setHead({ last_seq: Number(head.last_seq), last_hash: head.last_hash });
    await tampered(() => setHead({ last_hash: row(2).hash }), restore, rows.length + 1);
    await tampered(() => setHead({ last_seq: Number(head.last_seq) + 1 }), restore, rows.length + 1);
  });
});
