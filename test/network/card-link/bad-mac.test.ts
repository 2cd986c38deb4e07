/**
 * Issue 9, "tests that would notice": the card link checks the MAC of every answer it acts on. An
 * answer whose MAC is false may not come from the host (or the host's keys are no longer ours): it
 * is no answer. The attempt is reversed, the terminal signs in again, the operator is told, and
 * nothing is recorded on the strength of that answer — however approving it reads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { IsoMessage } from '../../../src/network/iso8583/index.js';
import { storeTargets } from '../../support/stores.js';
import {
  type Client,
  orderNo,
  signIn,
  supervisor,
  type TestSystem,
  testPan,
  until,
} from '../../support/system.js';
import { FakeAcquirerHost, type LogLines, type Reply, startWithHost } from './fake-host.js';
import { TMK } from './support.js';

const PAN = testPan('622202100007777');
const BAD_MAC_LOG = 'answer with a bad MAC: reversing';
const amount12 = (minor: number) => String(minor).padStart(12, '0');

describe.each(storeTargets)('an answer with a bad MAC on $name', (target) => {
  let host: FakeAcquirerHost | null = null;
  let sys: TestSystem | null = null;
  afterEach(async () => {
    await sys?.close();
    await host?.close();
    sys = null;
    host = null;
  });

  /** The service against a fake host that answers as `reply` says (default: approves everything). */
  async function start(reply: (r: IsoMessage, h: FakeAcquirerHost) => Reply) {
    host = await FakeAcquirerHost.start({ tmkHex: TMK, reply });
    const started = await startWithHost(await target.freshUrl(), host, { workerBackoffMs: 20 });
    sys = started.sys;
    const cashier = await signIn(sys.base, '01', '1111');
    return { host, sys, logs: started.logs, cashier };
  }

  const attemptAt = (s: TestSystem, stan: string, kind: string) =>
    s.ctx.store.db
      .selectFrom('link_attempts')
      .selectAll()
      .where('stan', '=', stan)
      .where('kind', '=', kind as 'sale')
      .executeTakeFirstOrThrow();

  const cardSale = (cashier: Client, amount: number, order = orderNo('MAC')) =>
    cashier.call('POST', '/v1/payments', {
      orderNo: order,
      amount,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });

  function expectToldTheOperator(logs: LogLines): void {
    expect(logs.find(BAD_MAC_LOG, 50)).toHaveLength(1);
    expect(logs.find('working key failed', 40).map((l) => l.reason)).toContain(
      'an answer failed its MAC check',
    );
  }

  it('refuses a sale approved by an answer with a bad MAC, reverses it and signs in again', async () => {
    const amount = 3_301;
    const { host, sys, logs, cashier } = await start((r, h) =>
      r.mti === '0200' && r.fields['4'] === amount12(amount)
        ? { ...h.approve(r), mac: 'wrong' }
        : h.approve(r),
    );
    const signIns = host.requests('0800').length;
    const order = orderNo('MAC');

    const paid = await cardSale(cashier, amount, order);
    expect(paid.status).toBe(503);
    expect(paid.body.code).toBe('network_unavailable');
    expect(paid.body.detail).toMatch(/failed its MAC check/);
    // Nothing was recorded as paid: no payment of that order exists.
    const payments = await sys.ctx.store.db
      .selectFrom('payments')
      .select('id')
      .where('order_no', '=', order)
      .execute();
    expect(payments).toEqual([]);

    // The host approved something we could not believe: the attempt is reversed there (0400, same trace).
    const [sale] = host.requests('0200').filter((m) => m.fields['4'] === amount12(amount));
    const stan = sale?.fields['11'] ?? '';
    await until(
      () => attemptAt(sys, stan, 'sale'),
      (a) => a.state === 'reversed',
    );
    expect(host.requests('0400').map((m) => m.fields['11'])).toContain(stan);
    // The keys were distrusted and renewed, and the operator can see why.
    await until(
      async () => host.requests('0800').length,
      (n) => n > signIns,
    );
    expectToldTheOperator(logs);

    // Under the fresh key the next sale goes through.
    const next = await cardSale(cashier, 3_302);
    expect(next.status).toBe(201);
  });

  it('does not record a refund succeeded on an answer with a bad MAC: it reverses that attempt first', async () => {
    const refundAmount = 1_234;
    const answered = new Map<string, string>(); // trace number → the RRN the host answered with
    let refundsSeen = 0;
    const { host, sys, logs, cashier } = await start((r, h) => {
      const reply = h.approve(r);
      if (r.mti !== '0220' || r.fields['4'] !== amount12(refundAmount) || reply.kind !== 'answer')
        return reply;
      answered.set(r.fields['11'] ?? '', reply.fields['37'] ?? '');
      refundsSeen += 1;
      // The first answer to the refund is an approval whose MAC is false; later ones are genuine.
      return refundsSeen === 1 ? { ...reply, mac: 'wrong' } : reply;
    });

    const paid = await cardSale(cashier, 5_000);
    expect(paid.status).toBe(201);
    const created = await cashier.call('POST', '/v1/refunds', {
      paymentId: paid.body.id,
      amount: refundAmount,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(created.status).toBe(201);
    const done = await until(
      () => cashier.call('GET', `/v1/refunds/${created.body.id}`),
      (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
      20_000,
    );

    const refunds = host.requests('0220').filter((m) => m.fields['4'] === amount12(refundAmount));
    expect(refunds).toHaveLength(2);
    const [badStan, goodStan] = refunds.map((m) => m.fields['11'] ?? '');
    // Succeeded on the genuine answer to the second attempt, never on the forged approval.
    expect(done.body.status).toBe('succeeded');
    expect(done.body.network.reference).toBe(answered.get(goodStan ?? ''));
    expect(done.body.network.reference).not.toBe(answered.get(badStan ?? ''));
    // The attempt answered with a bad MAC was reversed at the host before the refund was sent again.
    const at = (mti: string, stan: string | undefined) =>
      host.received.findIndex((m) => m.mti === mti && m.fields['11'] === stan);
    expect(at('0400', badStan)).toBeGreaterThan(at('0220', badStan));
    expect(at('0400', badStan)).toBeLessThan(at('0220', goodStan));
    const attempts = await sys.ctx.store.db
      .selectFrom('link_attempts')
      .select(['stan', 'state', 'reference'])
      .where('ref_id', '=', created.body.id)
      .orderBy('created_at')
      .execute();
    expect(attempts).toEqual([
      { stan: badStan, state: 'reversed', reference: null },
      { stan: goodStan, state: 'answered', reference: answered.get(goodStan ?? '') },
    ]);
    // Only one refund reached the payment's books.
    const payment = await cashier.call('GET', `/v1/payments/${paid.body.id}`);
    expect(payment.body.refundedAmount).toBe(refundAmount);
    expectToldTheOperator(logs);
  });
});
