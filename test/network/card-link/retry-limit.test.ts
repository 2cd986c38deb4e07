/**
 * Issue 9, "tests that would notice": a card refund the host never answers is reversed and tried
 * again with a new trace number — at most MAX_REFUND_ATTEMPTS (3) times. Then it fails with `98` (no
 * answer, reversed automatically) and its amount is back in the payment's refundable remainder
 * (README, "Every request is an attempt recorded before it is sent").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NO_ANSWER_CODE } from '../../../src/network/card-link/adapter.js';
import { storeTargets } from '../../support/stores.js';
import { orderNo, signIn, supervisor, type TestSystem, testPan, until } from '../../support/system.js';
import { FakeAcquirerHost, startWithHost } from './fake-host.js';
import { TMK } from './support.js';

const PAN = testPan('622202100008888');
/** README: an unanswered refund is tried "at most 3 times; then it fails with `98`". */
const ATTEMPT_LIMIT = 3;

describe.each(storeTargets)('the refund attempt limit of the card link on $name', (target) => {
  let host: FakeAcquirerHost | null = null;
  let sys: TestSystem | null = null;
  afterEach(async () => {
    await sys?.close();
    await host?.close();
    sys = null;
    host = null;
  });

  it(`reverses ${ATTEMPT_LIMIT} unanswered attempts, makes no fourth, and fails the refund with ${NO_ANSWER_CODE}`, async () => {
    // The host approves sales and acknowledges reversals, but never answers a refund.
    host = await FakeAcquirerHost.start({
      tmkHex: TMK,
      reply: (r, h) => (r.mti === '0220' ? { kind: 'silent' } : h.approve(r)),
    });
    const fake = host;
    ({ sys } = await startWithHost(await target.freshUrl(), fake, {
      networkTimeoutMs: 800,
      workerBackoffMs: 1,
    }));
    const s = sys;
    const cashier = await signIn(s.base, '01', '1111');
    const paid = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('LIM'),
      amount: 8_000,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    expect(paid.status).toBe(201);
    const created = await cashier.call('POST', '/v1/refunds', {
      paymentId: paid.body.id,
      amount: 2_500,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(created.status).toBe(201);

    const ended = await until(
      () => cashier.call('GET', `/v1/refunds/${created.body.id}`),
      (r) => r.body.status === 'failed' || r.body.status === 'succeeded',
      30_000,
    );
    expect(ended.body.status).toBe('failed');
    expect(ended.body.network.responseCode).toBe(NO_ANSWER_CODE);
    expect(ended.body.network.outcome.kind).toBe('failure');

    // Give a fourth attempt time to show itself: it must not come.
    await new Promise((r) => setTimeout(r, 1_000));
    const sent = fake.requests('0220');
    expect(sent).toHaveLength(ATTEMPT_LIMIT);
    const stans = sent.map((m) => m.fields['11']);
    expect(new Set(stans).size).toBe(ATTEMPT_LIMIT);
    // Each attempt was reversed at the host (0400, same trace number) before the next was sent.
    const at = (mti: string, stan: string | undefined) =>
      fake.received.findIndex((m) => m.mti === mti && m.fields['11'] === stan);
    for (const [i, stan] of stans.entries()) {
      expect(at('0400', stan)).toBeGreaterThan(at('0220', stan));
      if (i + 1 < stans.length) expect(at('0400', stan)).toBeLessThan(at('0220', stans[i + 1]));
    }
    const attempts = await s.ctx.store.db
      .selectFrom('link_attempts')
      .select(['stan', 'state'])
      .where('ref_id', '=', created.body.id)
      .orderBy('id')
      .execute();
    expect(attempts).toEqual(stans.map((stan) => ({ stan, state: 'reversed' })));

    // The amount is released: nothing refunded, nothing in flight, the whole payment refundable again.
    const payment = await cashier.call('GET', `/v1/payments/${paid.body.id}`);
    expect(payment.body).toMatchObject({ refundedAmount: 0, inFlightAmount: 0, refundableAmount: 8_000 });
    const outbox = await s.ctx.store.db
      .selectFrom('outbox')
      .select('status')
      .where('ref_id', '=', created.body.id)
      .where('kind', '=', 'refund.submit')
      .execute();
    expect(outbox).toEqual([{ status: 'done' }]);
  });
});
