/**
 * The review queue's backend (issue 11) on both stores: the policy's risk rules holding counter
 * refunds (each rule at its boundary, worked out by hand), the review checklist that releases them,
 * and evidence photos. Runs against the bundled simulator, so "nothing reached the network" and
 * "the refund succeeded at the network" are read from the simulator's own books.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  supervisor2,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';

const PAN_A = testPan('622202100004411');
const PAN_B = testPan('622202100004422');
type Rules = Record<'operatorRefundsPerHour' | 'cardRefundsPerDay' | 'shareOfDaySalesPercent', number | null>;
const OFF: Rules = { operatorRefundsPerHour: null, cardRefundsPerDay: null, shareOfDaySalesPercent: null };
const CHECKED = {
  voucherMatches: true,
  amountMatches: true,
  goodsCondition: 'intact',
  note: '  box sealed ',
};
const MIN = 60_000;

/** The smallest files that are what they say: each type's magic bytes and a little more. */
const png = (size = 64) =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(size - 8, 7)]);
const jpeg = () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(60, 3)]);
const webp = () =>
  Buffer.concat([
    Buffer.from('RIFF'),
    Buffer.from([52, 0, 0, 0]),
    Buffer.from('WEBPVP8 '),
    Buffer.alloc(44, 5),
  ]);

describe.each(storeTargets)('review queue on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let boss: Client;
  let admin: Client;
  // The system's clock, moved by the tests: 2026-11-02 10:00 in Shanghai to begin with.
  let now = new Date('2026-11-02T02:00:00.000Z');

  async function signInAll() {
    cashier = await signIn(sys.base, '01', '1111');
    boss = await signIn(sys.base, '00', '123456');
    admin = await signIn(sys.base, '99', '12345678');
  }

  beforeAll(async () => {
    sys = await startTestSystem(
      await target.freshUrl(),
      { network: 'sim', dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-review-')) },
      { clock: () => now },
    );
    await until(
      async () => (await fetch(`${sys.base}/v1/health`)).json() as Promise<{ network: string }>,
      (h) => h.network === 'up',
      20_000,
    );
    await signInAll();
  });
  afterAll(async () => {
    await sys?.close();
  });
  afterEach(async () => {
    expect((await admin.call('PUT', '/v1/policy', { riskRules: OFF })).status).toBe(200);
  });

  /** Move the clock to a moment of a fresh day (sessions expire after 12 hours: sign in again). */
  async function moveTo(iso: string) {
    now = new Date(iso);
    await signInAll();
  }
  const rules = async (r: Partial<Rules>) => {
    const res = await admin.call('PUT', '/v1/policy', { riskRules: { ...OFF, ...r } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };
  async function sale(amount: number, pan?: string) {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('RV'),
      amount,
      currency: 'CNY',
      method: pan ? 'card' : 'cash',
      ...(pan ? { card: { pan, expiry: '2812' } } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as string;
  }
  async function refund(who: Client, paymentId: string, amount: number, approvals?: unknown[]) {
    const r = await who.call('POST', '/v1/refunds', {
      paymentId,
      amount,
      reason: { code: 'quality_issue' },
      ...(approvals ? { approvals } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  }
  const at = (ms: number, from: Date) => {
    now = new Date(from.getTime() + ms);
  };
  const heldBy = (r: { hold: { rule: string } | null }) => r.hold?.rule ?? null;

  it('keeps the rules off by default; stores, validates and audits a change; PUT without them keeps them', async () => {
    const p = (await cashier.call('GET', '/v1/policy')).body;
    expect(p.riskRules).toEqual(OFF);
    const on = { operatorRefundsPerHour: 10, cardRefundsPerDay: 3, shareOfDaySalesPercent: 50 };
    const put = await admin.call('PUT', '/v1/policy', { riskRules: on });
    expect(put.status).toBe(200);
    expect(put.body.riskRules).toEqual(on);
    // A body without riskRules (as before issue 11) changes nothing of them.
    const other = await admin.call('PUT', '/v1/policy', { refundsEnabled: true });
    expect(other.body.riskRules).toEqual(on);

    const bad = [
      { ...on, operatorRefundsPerHour: 0 },
      { ...on, operatorRefundsPerHour: 1001 },
      { ...on, cardRefundsPerDay: 2.5 },
      { ...on, cardRefundsPerDay: 101 },
      { ...on, shareOfDaySalesPercent: '50' },
      { ...on, shareOfDaySalesPercent: -1 },
      { operatorRefundsPerHour: 5, cardRefundsPerDay: 3 },
      { ...on, extra: 1 },
    ];
    for (const riskRules of bad) {
      const r = await admin.call('PUT', '/v1/policy', { riskRules });
      expect(r.status, JSON.stringify(riskRules)).toBe(400);
      expect(r.body.code).toBe('validation_failed');
    }
    expect((await admin.call('GET', '/v1/policy')).body.riskRules).toEqual(on);

    const audit = (await admin.call('GET', '/v1/audit')).body.data as {
      action: string;
      data: { changed: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
    }[];
    const change = audit.find((e) => e.action === 'policy.changed' && e.data.changed.includes('riskRules'));
    expect(change?.data.before.riskRules).toEqual(OFF);
    expect(change?.data.after.riskRules).toEqual(on);
  });

  it("holds an operator's (N+1)th refund within 60 minutes, and not one an hour after the first", async () => {
    await moveTo('2026-11-03T02:00:00.000Z');
    await rules({ operatorRefundsPerHour: 2 });
    const t = now;
    const p = await sale(100_000);
    // At t and t + 1 min: each of three operators makes two refunds; none is held (0, then 1 before).
    const first: Record<string, unknown>[] = [];
    for (const offset of [0, MIN]) {
      at(offset, t);
      first.push(await refund(cashier, p, 100, [supervisor]));
      first.push(await refund(boss, p, 100, [supervisor2]));
      first.push(await refund(admin, p, 100, [supervisor]));
    }
    expect(first.map((r) => [r.status, r.hold])).toEqual(Array(6).fill(['approved', null]));

    // t + 2 min: the cashier's third in the hour is held, its counter approval kept.
    at(2 * MIN, t);
    const third = await refund(cashier, p, 100, [supervisor]);
    expect(third.status).toBe('requested');
    expect(third.hold).toEqual({
      rule: 'operator_refunds_per_hour',
      detail: expect.stringContaining('operator 01 already created 2 refunds in the last 60 minutes'),
    });
    expect(third.approvals.map((a: { operatorNo: string }) => a.operatorNo)).toEqual(['00']);
    expect(third.nextStep).toMatchObject({
      code: 'review_required',
      approvalsRequired: 2,
      approvalsGiven: 1,
    });

    // t + 59:59.999: the admin's refunds of t and t + 1 min are both still within the hour.
    at(60 * MIN - 1, t);
    expect(heldBy(await refund(admin, p, 100, [supervisor]))).toBe('operator_refunds_per_hour');
    // t + 60 min: the supervisor's refund of t is an hour old and no longer counts (1 < 2).
    at(60 * MIN, t);
    const later = await refund(boss, p, 100, [supervisor2]);
    expect([later.status, later.hold]).toEqual(['approved', null]);

    // A merchant system is no operator: its refunds are not counted by this rule.
    const key = (await admin.call('POST', '/v1/api-keys', { name: 'review test' })).body.key as string;
    const system: Client = {
      token: key,
      call: (method, path, body, headers = {}) =>
        call(sys.base, method, path, body, {
          authorization: `Bearer ${key}`,
          'idempotency-key': `rv-${randomUUID()}`,
          ...headers,
        }),
    };
    for (let i = 0; i < 3; i++) expect((await refund(system, p, 100, [supervisor])).hold).toBeNull();
  });

  it('holds a refund on a card refunded on more than N different orders in the business day', async () => {
    await moveTo('2026-11-04T02:00:00.000Z');
    await rules({ cardRefundsPerDay: 2 });
    // Three orders paid with card A, one with card B.
    const o1 = await sale(5_000, PAN_A);
    const o2 = await sale(5_000, PAN_A);
    const o3 = await sale(5_000, PAN_A);
    const b1 = await sale(5_000, PAN_B);
    const ok = async (id: string) => {
      const r = await refund(cashier, id, 100, [supervisor]);
      expect([r.status, r.hold], r.id).toEqual(['approved', null]);
    };
    await ok(o1); // one order on card A today
    await ok(o1); // the same order again: still one
    await ok(o2); // two orders: not more than 2
    const held = await refund(cashier, o3, 100, [supervisor]);
    expect(held.status).toBe('requested');
    expect(held.hold).toEqual({
      rule: 'card_refunds_per_day',
      detail: expect.stringContaining(
        `card ending ${PAN_A.slice(-4)} has refunds on 3 different orders on 2026-11-04`,
      ),
    });
    await ok(b1); // another card: its own count
    // The next business day (Shanghai) counts afresh: order 3 alone is one order.
    await moveTo('2026-11-05T02:00:00.000Z');
    await ok(o3);
  });

  it("holds a refund above X % of the day's sales (captured, not voided), by the merchant's day", async () => {
    await moveTo('2026-11-06T02:00:00.000Z');
    const yesterdays = await sale(100_000);
    await moveTo('2026-11-07T02:00:00.000Z');
    await rules({ shareOfDaySalesPercent: 50 });
    await sale(10_000);
    const voided = await sale(7_000);
    expect(
      (await cashier.call('POST', `/v1/payments/${voided}/void`, { approvals: [supervisor] })).status,
    ).toBe(200);
    // The day's sales: 10,000 (the voided 7,000 left out); 50 % of them is 5,000.
    const half = await refund(cashier, yesterdays, 5_000, [supervisor]);
    expect([half.status, half.hold]).toEqual(['approved', null]);
    const above = await refund(cashier, yesterdays, 5_001, [supervisor]);
    expect(above.status).toBe('requested');
    expect(above.hold).toEqual({
      rule: 'share_of_day_sales',
      detail: expect.stringContaining("more than 50% of the merchant's sales of 2026-11-07 (10000)"),
    });
    // 23:59 in Shanghai is still that day; 00:00 the next day has sold nothing yet.
    await moveTo('2026-11-07T15:59:00.000Z');
    expect((await refund(cashier, yesterdays, 5_000, [supervisor])).hold).toBeNull();
    now = new Date('2026-11-07T16:00:00.000Z');
    const midnight = await refund(cashier, yesterdays, 1, [supervisor]);
    expect(heldBy(midnight)).toBe('share_of_day_sales');
    expect(midnight.hold.detail).toContain('2026-11-08 (0)');
  });

  it('keeps a held card refund from the network until it is accepted and approved with the checklist', async () => {
    await moveTo('2026-11-09T02:00:00.000Z');
    await rules({ shareOfDaySalesPercent: 50 });
    const p = await sale(20_000, PAN_A);
    const refundEffects = () =>
      (sys.simulator?.ledger.effects() ?? []).filter((e) => e.kind === 'refund' && e.amount === 15_000);
    const before = refundEffects().length;

    const held = await refund(cashier, p, 15_000, [supervisor]);
    expect(held).toMatchObject({ status: 'requested', hold: { rule: 'share_of_day_sales' } });
    expect(held.approvals.map((a: { operatorNo: string }) => a.operatorNo)).toEqual(['00']);
    // The worker runs: give it time to (wrongly) submit, then read the network's books.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(refundEffects()).toHaveLength(before);
    const queued = await sys.ctx.store.db
      .selectFrom('outbox')
      .select('id')
      .where('ref_id', '=', held.id)
      .execute();
    expect(queued).toEqual([]);
    expect((await boss.call('GET', `/v1/refunds/${held.id}`)).body).toMatchObject({
      status: 'requested',
      network: { reference: null },
    });

    // Straight from the queue without a review: refused, nothing changed.
    const eventsBefore = (await boss.call('GET', `/v1/refunds/${held.id}/events`)).body.data;
    const bare = await boss.call('POST', `/v1/refunds/${held.id}/approve`, { approvals: [supervisor2] });
    expect([bare.status, bare.body.code]).toEqual([422, 'review_checklist_incomplete']);

    const accepted = await boss.call('POST', `/v1/refunds/${held.id}/accept`, {});
    expect(accepted.body.status).toBe('under_review');
    const refusals = [
      { approvals: [supervisor2] },
      { approvals: [supervisor2], checklist: { ...CHECKED, voucherMatches: false } },
      { approvals: [supervisor2], checklist: { ...CHECKED, amountMatches: false } },
    ];
    for (const body of refusals) {
      const r = await boss.call('POST', `/v1/refunds/${held.id}/approve`, body);
      expect([r.status, r.body.code], JSON.stringify(body)).toEqual([422, 'review_checklist_incomplete']);
    }
    // A malformed checklist is refused by the schema.
    const malformed = await boss.call('POST', `/v1/refunds/${held.id}/approve`, {
      approvals: [supervisor2],
      checklist: { voucherMatches: true, amountMatches: true, goodsCondition: 'like new' },
    });
    expect(malformed.status).toBe(400);
    // The counter's approver cannot release it: the review is a second person's.
    const same = await boss.call('POST', `/v1/refunds/${held.id}/approve`, {
      approvals: [supervisor],
      checklist: CHECKED,
    });
    expect([same.status, same.body.code]).toEqual([422, 'same_approver']);
    const unchanged = (await boss.call('GET', `/v1/refunds/${held.id}`)).body;
    expect(unchanged.status).toBe('under_review');
    expect(unchanged.approvals).toHaveLength(1);
    const eventsAfter = (await boss.call('GET', `/v1/refunds/${held.id}/events`)).body.data;
    expect(eventsAfter).toHaveLength(eventsBefore.length + 1); // the accept, nothing more

    const approved = await boss.call('POST', `/v1/refunds/${held.id}/approve`, {
      approvals: [supervisor2],
      checklist: CHECKED,
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.approvals.map((a: { operatorNo: string }) => a.operatorNo)).toEqual(['00', '02']);
    // Released: the hold still says why it waited.
    expect(approved.body.hold.rule).toBe('share_of_day_sales');
    const done = await until(
      async () => (await boss.call('GET', `/v1/refunds/${held.id}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
      20_000,
    );
    expect(done.status).toBe('succeeded');
    const effect = refundEffects().find((e) => e.reference === done.network.reference);
    expect(effect?.amount).toBe(done.netAmount);

    const events = (await boss.call('GET', `/v1/refunds/${held.id}/events`)).body.data as {
      from: string | null;
      to: string;
      checklist: unknown;
    }[];
    const review = {
      voucherMatches: true,
      amountMatches: true,
      goodsCondition: 'intact',
      note: 'box sealed',
    };
    expect(events.find((e) => e.to === 'approved')).toMatchObject({
      from: 'under_review',
      checklist: review,
    });
    expect(events.filter((e) => e.to !== 'approved').every((e) => e.checklist === null)).toBe(true);
    const audit = (await admin.call('GET', '/v1/audit')).body.data as {
      action: string;
      entity_id: string;
      data: Record<string, unknown>;
    }[];
    expect(audit.find((e) => e.action === 'refund.approved' && e.entity_id === held.id)?.data).toMatchObject({
      approvedBy: ['02'],
      checklist: review,
    });
    expect(audit.find((e) => e.action === 'refund.created' && e.entity_id === held.id)?.data).toMatchObject({
      status: 'requested',
      hold: { rule: 'share_of_day_sales' },
    });
  });

  it('asks the checklist of a refund accepted from the queue, not of the counter’s second approval', async () => {
    await moveTo('2026-11-10T02:00:00.000Z');
    const p = await sale(900_000);
    // From the queue: created without approvals, accepted, then approved.
    const queued = await refund(cashier, p, 1_000);
    expect(queued.hold).toBeNull();
    await boss.call('POST', `/v1/refunds/${queued.id}/accept`, {});
    const bare = await boss.call('POST', `/v1/refunds/${queued.id}/approve`, { approvals: [supervisor] });
    expect([bare.status, bare.body.code]).toEqual([422, 'review_checklist_incomplete']);
    const reviewed = await boss.call('POST', `/v1/refunds/${queued.id}/approve`, {
      approvals: [supervisor],
      checklist: { voucherMatches: true, amountMatches: true, goodsCondition: 'not_applicable' },
    });
    expect(reviewed.body.status).not.toBe('under_review');
    // At the counter: a large refund with one supervisor is under review until the second one.
    const large = await refund(cashier, p, 600_000, [supervisor]);
    expect(large.status).toBe('under_review');
    const second = await cashier.call('POST', `/v1/refunds/${large.id}/approve`, {
      approvals: [supervisor2],
    });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    // A requested refund approved at once from the queue (no accept) needs none either, as before.
    const direct = await refund(cashier, p, 500);
    expect(
      (await boss.call('POST', `/v1/refunds/${direct.id}/approve`, { approvals: [supervisor] })).status,
    ).toBe(200);
  });

  describe('evidence photos', () => {
    let refundId = '';

    const upload = async (
      id: string,
      type: string | null,
      body: Buffer | null,
      opts: { token?: string; key?: string | null } = {},
    ) => {
      const res = await fetch(`${sys.base}/v1/refunds/${id}/evidence`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${opts.token ?? boss.token}`,
          ...(type ? { 'content-type': type } : {}),
          ...(opts.key === null ? {} : { 'idempotency-key': opts.key ?? `ev-${randomUUID()}` }),
        },
        ...(body ? { body } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    };
    const evidenceRows = async () =>
      (
        await sys.ctx.store.db
          .selectFrom('refund_evidence')
          .select('id')
          .where('refund_id', '=', refundId)
          .execute()
      ).length;

    beforeAll(async () => {
      await moveTo('2026-11-11T02:00:00.000Z');
      refundId = (await refund(cashier, await sale(3_000), 1_000)).id;
    });

    it('takes PNG, JPEG and WebP, lists them and serves each as it was checked', async () => {
      const sent = [
        ['image/png', png()],
        ['image/jpeg', jpeg()],
        ['image/webp; charset=binary', webp()],
      ] as const;
      const ids: string[] = [];
      for (const [type, bytes] of sent) {
        const r = await upload(refundId, type, bytes);
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        expect(r.body).toEqual({
          id: expect.stringMatching(/^ev_/),
          refundId,
          contentType: type.split(';')[0],
          bytes: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          uploadedBy: 'op:00',
          at: now.toISOString(),
        });
        ids.push(r.body.id);
      }
      const list = await boss.call('GET', `/v1/refunds/${refundId}/evidence`);
      expect(list.body.data.map((e: { id: string }) => e.id)).toEqual(ids);
      for (const [i, [type, bytes]] of sent.entries()) {
        const res = await fetch(`${sys.base}/v1/refunds/${refundId}/evidence/${ids[i]}`, {
          headers: { authorization: `Bearer ${boss.token}` },
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe(type.split(';')[0]);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('content-disposition')).toBe('inline');
        expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
      }
      // Audited by hash and size, never by the bytes.
      const audit = (await admin.call('GET', '/v1/audit')).body.data as {
        action: string;
        data: Record<string, unknown>;
      }[];
      const added = audit.filter((e) => e.action === 'refund.evidence_added');
      expect(added.map((e) => Object.keys(e.data).sort())).toContainEqual([
        'bytes',
        'contentType',
        'evidenceId',
        'sha256',
      ]);
      // Another refund's path does not reach the photo.
      const other = (await refund(cashier, await sale(2_000), 500)).id;
      expect((await boss.call('GET', `/v1/refunds/${other}/evidence/${ids[0]}`)).status).toBe(404);
    });

    it('refuses a renamed text file, a type mismatch, a body too large and a stranger, writing nothing', async () => {
      const before = await evidenceRows();
      const refusals: [string | null, Buffer | null, number, string][] = [
        ['image/png', Buffer.from('just some text, renamed to photo.png'), 415, 'evidence_type_unsupported'],
        ['image/jpeg', png(), 415, 'evidence_type_unsupported'],
        ['text/plain', Buffer.from('hello'), 415, 'evidence_type_unsupported'],
        ['application/json', Buffer.from('{}'), 415, 'evidence_type_unsupported'],
        [null, null, 415, 'evidence_type_unsupported'],
        ['image/png', png(2 * 1024 * 1024 + 1), 413, 'evidence_too_large'],
      ];
      for (const [type, body, status, code] of refusals) {
        const r = await upload(refundId, type, body);
        expect([r.status, r.body?.code], `${type} ${body?.length}`).toEqual([status, code]);
        expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
      const asCashier = await upload(refundId, 'image/png', png(), { token: cashier.token });
      expect([asCashier.status, asCashier.body.code]).toEqual([403, 'forbidden']);
      expect((await cashier.call('GET', `/v1/refunds/${refundId}/evidence`)).status).toBe(403);
      const noKey = await upload(refundId, 'image/png', png(), { key: null });
      expect([noKey.status, noKey.body.code]).toEqual([400, 'idempotency_key_required']);
      const unknown = await upload('re_00000000000000000000000000', 'image/png', png());
      expect([unknown.status, unknown.body.code]).toEqual([404, 'not_found']);
      expect(await evidenceRows()).toBe(before);
    });

    it('replays a retried upload and refuses its key with another photo', async () => {
      const key = `ev-${randomUUID()}`;
      const first = await upload(refundId, 'image/png', png(100), { key });
      expect(first.status).toBe(201);
      const again = await upload(refundId, 'image/png', png(100), { key });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body.id).toBe(first.body.id);
      const other = await upload(refundId, 'image/png', png(101), { key });
      expect([other.status, other.body.code]).toEqual([422, 'idempotency_key_reused']);
    });

    it('keeps at most six photos of 2 MiB each, and none once the refund is decided', async () => {
      // Four so far; a photo of exactly 2 MiB is within the limit.
      expect(await evidenceRows()).toBe(4);
      expect((await upload(refundId, 'image/png', png(2 * 1024 * 1024))).status).toBe(201);
      expect((await upload(refundId, 'image/jpeg', jpeg())).status).toBe(201);
      const seventh = await upload(refundId, 'image/png', png());
      expect([seventh.status, seventh.body.code]).toEqual([409, 'evidence_limit']);
      expect(await evidenceRows()).toBe(6);

      const decided = (await refund(cashier, await sale(3_000), 1_000)).id;
      expect((await upload(decided, 'image/png', png())).status).toBe(201);
      await boss.call('POST', `/v1/refunds/${decided}/reject`, { note: 'receipt does not match' });
      const late = await upload(decided, 'image/png', png());
      expect([late.status, late.body.code]).toEqual([409, 'invalid_state_transition']);
    });
  });
});
