/**
 * The back office's reports (GET /v1/reports/refunds, /v1/reports/work) on both stores, checked
 * against totals worked out by hand: sales and refunds on two merchant days (one of them across
 * UTC midnight: Shanghai is UTC+8), a voided sale, a rejected refund, a second operator, the
 * refund rate in basis points, and the work waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
} from '../support/system.js';

describe.each(storeTargets)('reports on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let cashier2: Client;
  let boss: Client;
  // The system's clock, moved by the test: 2026-10-05 23:30 and 2026-10-06 00:30 in Shanghai.
  let now = new Date('2026-10-05T15:30:00.000Z');

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), { worker: false }, { clock: () => now });
    await signInAll();
  });
  async function signInAll() {
    boss = await signIn(sys.base, '99', '12345678');
    cashier = await signIn(sys.base, '01', '1111');
    cashier2 = await signIn(sys.base, '00', '123456');
  }
  afterAll(async () => {
    await sys.close();
  });

  async function sale(who: Client, amount: number) {
    const r = await who.call('POST', '/v1/payments', {
      orderNo: orderNo('R'),
      amount,
      currency: 'CNY',
      method: 'cash',
    });
    expect(r.status).toBe(201);
    return r.body.id as string;
  }
  async function refund(who: Client, paymentId: string, amount: number, code = 'quality_issue') {
    const r = await who.call('POST', '/v1/refunds', {
      paymentId,
      amount,
      reason: code === 'other' ? { code, note: 'report test' } : { code },
    });
    expect(r.status).toBe(201);
    return r.body.id as string;
  }

  const report = async (query: string) => {
    const r = await boss.call('GET', `/v1/reports/refunds?${query}`);
    expect(r.status).toBe(200);
    return r.body;
  };
  type Bucket = { key: string; count: number; amount: number };
  /** after − before, bucket by bucket (the demo seed has figures of its own). */
  const delta = (after: Bucket[], before: Bucket[]) =>
    after
      .map((a) => {
        const b = before.find((x) => x.key === a.key) ?? { count: 0, amount: 0 };
        return { key: a.key, count: a.count - b.count, amount: a.amount - b.amount };
      })
      .filter((d) => d.count !== 0 || d.amount !== 0);
  const dayDelta = (after: Record<string, number>, before: Record<string, number>) => ({
    salesCount: (after.salesCount ?? 0) - (before.salesCount ?? 0),
    salesAmount: (after.salesAmount ?? 0) - (before.salesAmount ?? 0),
    refundCount: (after.refundCount ?? 0) - (before.refundCount ?? 0),
    refundAmount: (after.refundAmount ?? 0) - (before.refundAmount ?? 0),
  });

  it('adds up sales and refunds per merchant day, reason, operator and method, with the rate', async () => {
    const window = 'from=2026-10-05&to=2026-10-06';
    const before = await report(window);
    const workBefore = (await boss.call('GET', '/v1/reports/work')).body;

    // Day 1 (2026-10-05, 23:30 in Shanghai, 15:30 UTC).
    const a = await sale(cashier, 10_000);
    const voided = await sale(cashier, 7_000);
    expect(
      (await cashier.call('POST', `/v1/payments/${voided}/void`, { approvals: [supervisor] })).status,
    ).toBe(200);
    await refund(cashier, a, 1_000);
    const rejected = await refund(cashier, a, 500);
    expect((await boss.call('POST', `/v1/refunds/${rejected}/reject`, { note: 'no receipt' })).status).toBe(
      200,
    );
    // Day 2 (2026-10-06 00:30 in Shanghai, still 2026-10-05 in UTC).
    now = new Date('2026-10-05T16:30:00.000Z');
    const b = await sale(cashier2, 20_000);
    await refund(cashier2, b, 3_000, 'other');
    await refund(cashier, a, 250);

    const after = await report(window);
    expect(after).toMatchObject({
      timeZone: 'Asia/Shanghai',
      from: '2026-10-05',
      to: '2026-10-06',
      currency: 'CNY',
    });
    expect(after.days.map((d: { day: string }) => d.day)).toEqual(['2026-10-05', '2026-10-06']);
    // Day 1: 10,000 sold (the 7,000 voided), 1,000 refunded (the 500 rejected).
    expect(dayDelta(after.days[0], before.days[0])).toEqual({
      salesCount: 1,
      salesAmount: 10_000,
      refundCount: 1,
      refundAmount: 1_000,
    });
    // Day 2: 20,000 sold, 3,000 + 250 refunded: a refund of a day-1 sale counts on the day it is made.
    expect(dayDelta(after.days[1], before.days[1])).toEqual({
      salesCount: 1,
      salesAmount: 20_000,
      refundCount: 2,
      refundAmount: 3_250,
    });
    expect(delta(after.byReason, before.byReason)).toEqual([
      { key: 'other', count: 1, amount: 3_000 },
      { key: 'quality_issue', count: 2, amount: 1_250 },
    ]);
    expect(delta(after.byOperator, before.byOperator)).toEqual([
      { key: '00', count: 1, amount: 3_000 },
      { key: '01', count: 2, amount: 1_250 },
    ]);
    expect(delta(after.byMethod, before.byMethod)).toEqual([{ key: 'original', count: 3, amount: 4_250 }]);
    // The rate is refunds / sales of the day in basis points, rounded down; the totals add the days.
    for (const d of after.days) {
      expect(d.refundRateBp).toBe(
        d.salesAmount > 0 ? Math.floor((d.refundAmount * 10_000) / d.salesAmount) : null,
      );
    }
    expect(after.totals.refundAmount).toBe(after.days[0].refundAmount + after.days[1].refundAmount);
    expect(after.totals.salesAmount).toBe(after.days[0].salesAmount + after.days[1].salesAmount);

    // The three refunds wait for a supervisor (no approvals were given); the rejected one does not.
    const work = (await boss.call('GET', '/v1/reports/work')).body;
    expect(work.queue.requested - workBefore.queue.requested).toBe(3);
    expect(work.queue.oldestCreatedAt <= now.toISOString()).toBe(true);
    expect(work).toMatchObject({ delayed: 0, failedToday: 0, deadOutbox: 0 });

    // A day with no business: no rate rather than a division by zero.
    const empty = await report('from=2027-01-05&to=2027-01-05');
    expect(empty.days).toEqual([
      {
        day: '2027-01-05',
        salesCount: 0,
        salesAmount: 0,
        refundCount: 0,
        refundAmount: 0,
        refundRateBp: null,
      },
    ]);
    expect(empty.totals.refundRateBp).toBeNull();
  });

  it('computes a known rate exactly: 4,250 of 30,000 is 1,416 basis points', async () => {
    now = new Date('2027-02-01T04:00:00.000Z');
    // Months later: the sessions have expired.
    await signInAll();
    const a = await sale(cashier, 10_000);
    const b = await sale(cashier, 20_000);
    await refund(cashier, a, 1_000);
    await refund(cashier, b, 3_250);
    const r = await report('from=2027-02-01&to=2027-02-01');
    expect(r.days).toEqual([
      {
        day: '2027-02-01',
        salesCount: 2,
        salesAmount: 30_000,
        refundCount: 2,
        refundAmount: 4_250,
        refundRateBp: 1_416,
      },
    ]);
    expect(r.totals).toEqual({
      salesCount: 2,
      salesAmount: 30_000,
      refundCount: 2,
      refundAmount: 4_250,
      refundRateBp: 1_416,
    });
  });

  it('refuses a window backwards or longer than 92 days, and a cashier', async () => {
    const back = await boss.call('GET', '/v1/reports/refunds?from=2026-10-06&to=2026-10-05');
    expect(back.status).toBe(400);
    expect(back.body.code).toBe('validation_failed');
    const long = await boss.call('GET', '/v1/reports/refunds?from=2026-01-01&to=2026-10-05');
    expect(long.status).toBe(400);
    const bad = await boss.call('GET', '/v1/reports/refunds?from=2026-13-01');
    expect(bad.status).toBe(400);
    // Shaped like a date but not one: refused, not a 500.
    const notADay = await boss.call('GET', '/v1/reports/refunds?from=2026-02-30&to=2026-03-01');
    expect(notADay.status).toBe(400);
    expect(notADay.body.code).toBe('validation_failed');
    expect((await cashier.call('GET', '/v1/reports/refunds')).status).toBe(403);
    expect((await cashier.call('GET', '/v1/reports/work')).status).toBe(403);
  });
});
