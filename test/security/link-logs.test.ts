import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutLinkTokens } from '../../src/api/app.js';
import { storeTargets } from '../support/stores.js';
import { call, orderNo, signIn, startTestSystem, supervisor, type TestSystem } from '../support/system.js';

/**
 * Issue 12: a return link and a status link are the only keys to a consumer's pages, so they are
 * secrets like a session token: the request log shows every path with the token replaced, and no
 * log line carries one — not the page, not the API behind it, not a refusal.
 */
const tokenOf = (url: string) => new URL(url).pathname.split('/')[2] ?? '';

it('masks the token of every consumer path, and only that', () => {
  expect(withoutLinkTokens('/r/01ABC.898.xyz.k1.mac')).toBe('/r/[link]');
  expect(withoutLinkTokens('/t/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?lang=en')).toBe('/t/[link]?lang=en');
  expect(withoutLinkTokens('/v1/track/AAAA/voucher?format=html')).toBe(
    '/v1/track/[link]/voucher?format=html',
  );
  expect(withoutLinkTokens('/v1/consumer/returns/01ABC.898/submit')).toBe(
    '/v1/consumer/returns/[link]/submit',
  );
  expect(withoutLinkTokens('/v1/refunds/re_1/tracking')).toBe('/v1/refunds/re_1/tracking');
  expect(withoutLinkTokens('/terminal/assets/t.js')).toBe('/terminal/assets/t.js');
});

describe.each(storeTargets)('link tokens in the logs on $name', (target) => {
  let sys: TestSystem;
  let logs = '';
  const logStream = new Writable({
    write(chunk, _enc, done) {
      logs += chunk.toString();
      done();
    },
  });

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), {}, { logStream });
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('logs every consumer request with its token replaced', async () => {
    const cashier = await signIn(sys.base, '01', '1111');
    const sale = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('LOG'),
      amount: 10_000,
      currency: 'CNY',
      method: 'cash',
      items: [{ sku: 'ONE', name: '一件', qty: 2, unitAmount: 5_000 }],
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    const counter = await cashier.call('POST', '/v1/refunds', {
      paymentId: sale.body.id,
      items: [{ sku: 'ONE', qty: 1 }],
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    const counterLink = (await cashier.call('GET', `/v1/refunds/${counter.body.id}/tracking`)).body.url;
    const ret = await cashier.call('POST', '/v1/returns', {
      orderNo: sale.body.orderNo,
      items: [{ sku: 'ONE', qty: 1 }],
    });
    expect(ret.status, JSON.stringify(ret.body)).toBe(201);
    const returnToken = tokenOf(ret.body.url);

    await fetch(ret.body.url.replace(/^https?:\/\/[^/]+/, sys.base));
    await call(sys.base, 'GET', `/v1/consumer/returns/${returnToken}`);
    const sent = await call(
      sys.base,
      'POST',
      `/v1/consumer/returns/${returnToken}/submit`,
      { reason: { code: 'quality_issue' }, contact: { phone: '13800138000' } },
      { 'idempotency-key': 'log-1' },
    );
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    // Used now: the refusal is logged too.
    expect(
      (
        await call(
          sys.base,
          'POST',
          `/v1/consumer/returns/${returnToken}/submit`,
          { reason: { code: 'quality_issue' }, contact: { phone: '13800138000' } },
          { 'idempotency-key': 'log-2' },
        )
      ).status,
    ).toBe(409);
    const tokens = [returnToken, tokenOf(sent.body.trackingUrl), tokenOf(counterLink)];
    for (const t of tokens.slice(1)) {
      await fetch(`${sys.base}/t/${t}`);
      await call(sys.base, 'GET', `/v1/track/${t}`);
      await fetch(`${sys.base}/v1/track/${t}/voucher?format=html`);
    }

    const lines = logs.split('\n').filter(Boolean);
    const urls = lines
      .map((l) => JSON.parse(l) as { msg: string; req?: { url: string } })
      .filter((l) => l.msg === 'incoming request')
      .map((l) => l.req?.url);
    expect(urls).toContain('/r/[link]');
    expect(urls).toContain('/t/[link]');
    expect(urls).toContain('/v1/consumer/returns/[link]/submit');
    expect(urls).toContain('/v1/track/[link]/voucher?format=html');
    expect(lines.some((l) => l.includes('request completed'))).toBe(true);
    for (const t of tokens) {
      expect(t.length).toBeGreaterThanOrEqual(32);
      expect(logs.includes(t), `a link token in the logs: ${t}`).toBe(false);
      // Not even most of one: a token cut short in a log line is still most of a key.
      expect(logs.includes(t.slice(0, 16))).toBe(false);
    }
  });
});
