import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
} from '../support/system.js';

/**
 * Issue 12: the consumer's routes need no sign-in — the link is the key — so a guesser is slowed
 * per client: past CONSUMER_PER_MINUTE requests a client gets 429 `rate_limited` (problem+json,
 * Retry-After) on those routes, another client does not, and the merchant's signed-in routes keep
 * their own, higher limit.
 */
const LIMIT = 5;
const tokenOf = (url: string) => new URL(url).pathname.split('/')[2] ?? '';

describe.each(storeTargets)('consumer routes rate limit on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let trackToken = '';
  let returnToken = '';
  let refundId = '';

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), { consumerPerMinute: LIMIT });
    cashier = await signIn(sys.base, '01', '1111');
    const sale = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('RL'),
      amount: 10_000,
      currency: 'CNY',
      method: 'cash',
      items: [{ sku: 'ONE', name: '一件', qty: 2, unitAmount: 5_000 }],
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    const refund = await cashier.call('POST', '/v1/refunds', {
      paymentId: sale.body.id,
      items: [{ sku: 'ONE', qty: 1 }],
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    refundId = refund.body.id;
    trackToken = tokenOf((await cashier.call('GET', `/v1/refunds/${refundId}/tracking`)).body.url);
    const ret = await cashier.call('POST', '/v1/returns', {
      orderNo: sale.body.orderNo,
      items: [{ sku: 'ONE', qty: 1 }],
    });
    expect(ret.status, JSON.stringify(ret.body)).toBe(201);
    returnToken = tokenOf(ret.body.url);
  });
  afterAll(async () => {
    await sys?.close();
  });

  /** A request from client `ip` (the rate limit keys on the client's address). */
  const from = (ip: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
    sys.app.inject({
      method,
      url,
      remoteAddress: ip,
      ...(payload === undefined
        ? {}
        : {
            payload: payload as object,
            headers: { 'idempotency-key': `rl-${randomBytes(8).toString('hex')}` },
          }),
    });

  function expectLimited(r: Awaited<ReturnType<typeof from>>) {
    expect(r.statusCode, r.body).toBe(429);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = r.json();
    expect(body).toMatchObject({ status: 429, code: 'rate_limited' });
    const retryAfter = Number(r.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The refusal names no refund, return or merchant.
    expect(r.body).not.toContain(refundId);
  }

  it('answers a status link at most CONSUMER_PER_MINUTE times a minute per client, guesses included', async () => {
    const ip = '10.1.0.1';
    // Guesses count: a guesser cannot spend the budget on misses and keep trying.
    for (let i = 0; i < LIMIT - 1; i++) {
      const miss = await from(ip, 'GET', `/v1/track/${randomBytes(24).toString('base64url')}`);
      expect(miss.statusCode).toBe(404);
    }
    expect((await from(ip, 'GET', `/v1/track/${trackToken}`)).statusCode).toBe(200);
    expectLimited(await from(ip, 'GET', `/v1/track/${trackToken}`));
    expectLimited(await from(ip, 'GET', `/v1/track/${randomBytes(24).toString('base64url')}`));
    // Another client is not slowed by this one.
    const other = await from('10.1.0.2', 'GET', `/v1/track/${trackToken}`);
    expect(other.statusCode).toBe(200);
    expect(other.json().refundId).toBe(refundId);
  });

  it('limits the return page and the submission too, and a limited submission changes nothing', async () => {
    const ip = '10.2.0.1';
    for (let i = 0; i < LIMIT; i++)
      expect((await from(ip, 'GET', `/v1/consumer/returns/${returnToken}`)).statusCode).toBe(200);
    expectLimited(await from(ip, 'GET', `/v1/consumer/returns/${returnToken}`));

    const ip2 = '10.2.0.2';
    const bad = `${returnToken.slice(0, -1)}${returnToken.endsWith('A') ? 'B' : 'A'}`;
    for (let i = 0; i < LIMIT; i++) {
      const r = await from(ip2, 'POST', `/v1/consumer/returns/${bad}/submit`, {
        reason: { code: 'quality_issue' },
        contact: { phone: '13800138000' },
      });
      expect(r.statusCode, r.body).toBe(404);
    }
    const refundsBefore = await sys.ctx.store.db.selectFrom('refunds').select('id').execute();
    // The real link, one request too many: refused before it is looked at.
    expectLimited(
      await from(ip2, 'POST', `/v1/consumer/returns/${returnToken}/submit`, {
        reason: { code: 'quality_issue' },
        contact: { phone: '13800138000' },
      }),
    );
    expect(await sys.ctx.store.db.selectFrom('refunds').select('id').execute()).toEqual(refundsBefore);
    const ret = await cashier.call('GET', `/v1/returns?limit=10`);
    expect(ret.body.data.find((r: { status: string }) => r.status === 'open')).toBeTruthy();
    // The voucher download counts as well.
    const ip3 = '10.2.0.3';
    for (let i = 0; i < LIMIT; i++)
      expect((await from(ip3, 'GET', `/v1/track/${trackToken}/voucher?format=text`)).statusCode).toBe(200);
    expectLimited(await from(ip3, 'GET', `/v1/track/${trackToken}/voucher?format=text`));
  });

  it("does not slow the merchant's signed-in routes from a client the consumer limit stopped", async () => {
    const ip = '10.3.0.1';
    for (let i = 0; i < LIMIT; i++) await from(ip, 'GET', `/v1/track/${trackToken}`);
    expectLimited(await from(ip, 'GET', `/v1/track/${trackToken}`));
    const auth = { authorization: `Bearer ${cashier.token}` };
    for (let i = 0; i < 4 * LIMIT; i++) {
      const r = await sys.app.inject({
        method: 'GET',
        url: `/v1/refunds/${refundId}`,
        remoteAddress: ip,
        headers: auth,
      });
      expect(r.statusCode, r.body).toBe(200);
    }
    const link = await sys.app.inject({
      method: 'GET',
      url: `/v1/refunds/${refundId}/tracking`,
      remoteAddress: ip,
      headers: auth,
    });
    expect(link.statusCode).toBe(200);
    // …and the consumer's limit is still in force for that client.
    expectLimited(await from(ip, 'GET', `/v1/track/${trackToken}`));
  });
});

describe('CONSUMER_PER_MINUTE', () => {
  it('is read once from the environment, bounded; unset leaves the routes their default', () => {
    expect(loadConfig({ CONSUMER_PER_MINUTE: '5' }).consumerPerMinute).toBe(5);
    expect(loadConfig({}).consumerPerMinute).toBeUndefined();
    for (const bad of ['0', '-1', '2.5', 'many', '100001'])
      expect(() => loadConfig({ CONSUMER_PER_MINUTE: bad }), bad).toThrow(/CONSUMER_PER_MINUTE/);
  });
});
