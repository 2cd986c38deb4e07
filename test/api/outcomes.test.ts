import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELAYED_CODE, outcomeFor } from '../../src/domain/outcomes.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';

const PAN = testPan('622202100009876');

describe.each(storeTargets)('refund outcomes in plain words on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let offsetMs = 0;

  beforeAll(async () => {
    // A short processing SLA and fast retries, so a refund stuck at a down network turns delayed quickly.
    sys = await startTestSystem(
      await target.freshUrl(),
      { workerDelayedAfterMs: 300, workerBackoffMs: 20 },
      { clock: () => new Date(Date.now() + offsetMs) },
    );
    cashier = await signIn(sys.base, '01', '1111');
  });
  afterAll(async () => {
    if (sys?.inProcess) sys.inProcess.down = false;
    await sys?.close();
  });

  const inProcess = () => {
    if (!sys.inProcess) throw new Error('this suite runs on the in-process acquirer');
    return sys.inProcess;
  };

  async function pay(amount: number) {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('OUT'),
      amount,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  }

  async function refund(paymentId: string, amount: number, reason: { code: string; note?: string }) {
    const r = await cashier.call('POST', '/v1/refunds', {
      paymentId,
      amount,
      reason,
      approvals: [supervisor],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  }

  const settled = (id: string) =>
    until(
      async () => (await cashier.call('GET', `/v1/refunds/${id}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
    );

  it('explains a scheme refusal (reason not compliant) with its cause and fix', async () => {
    const p = await pay(3_000);
    const r = await refund(p.id, 1_000, { code: 'other', note: 'no' });
    const done = await settled(r.id);
    expect(done).toMatchObject({ status: 'failed', network: { responseCode: '57' } });
    expect(done.network.reference === null || typeof done.network.reference === 'string').toBe(true);
    expect(done.network.outcome).toMatchObject({ code: '57', kind: 'failure' });
    expect(done.network.outcome.message['zh-CN']).toContain('退款原因');
    expect(done.network.outcome.message['zh-TW']).toContain('退款原因不符規定');
    expect(done.network.outcome.fix.en).toMatch(/reason/);
  });

  it('shows a succeeded refund as a success with its arrival date', async () => {
    const p = await pay(5_000);
    const r = await refund(p.id, 2_000, { code: 'quality_issue' });
    expect(r.network.outcome === null || r.network.outcome.kind === 'success').toBe(true);
    const done = await settled(r.id);
    expect(done.status).toBe('succeeded');
    expect(done.network).toMatchObject({ responseCode: '00', outcome: { code: '00', kind: 'success' } });
    expect(done.network.outcome.fix.en).toContain(done.expectedArrival);
  });

  it('lists every response code and explains one, known or not', async () => {
    const all = await cashier.call('GET', '/v1/response-codes');
    expect(all.status).toBe(200);
    const codes = all.body.data.map((o: { code: string }) => o.code);
    expect(codes).toEqual(
      expect.arrayContaining([
        '00',
        '03',
        '12',
        '13',
        '25',
        '51',
        '57',
        '77',
        '91',
        '96',
        '98',
        'A0',
        DELAYED_CODE,
      ]),
    );
    for (const o of all.body.data) {
      expect(Object.keys(o.message).sort()).toEqual(['en', 'zh-CN', 'zh-TW']);
      expect(Object.keys(o.fix).sort()).toEqual(['en', 'zh-CN', 'zh-TW']);
    }
    const one = await cashier.call('GET', '/v1/response-codes/51');
    expect(one.status).toBe(200);
    expect(one.body).toEqual(outcomeFor('51'));
    // A code we have no entry for may still come from a real host: a generic entry, not a 404.
    const unknown = await cashier.call('GET', '/v1/response-codes/Z5');
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({ code: 'Z5', kind: 'failure' });
    expect(unknown.body.message.en).toContain('Z5');
    const bad = await cashier.call('GET', '/v1/response-codes/%20x');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('asks for a signed-in caller and documents the endpoints', async () => {
    const anon = await call(sys.base, 'GET', '/v1/response-codes');
    expect(anon.status).toBe(401);
    expect(anon.body.code).toBe('unauthenticated');
    expect((await call(sys.base, 'GET', '/v1/response-codes/00')).status).toBe(401);
    const doc = await call(sys.base, 'GET', '/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/v1/response-codes', '/v1/response-codes/{code}']),
    );
  });

  it('marks a refund delayed when the network sits on it past the SLA, with the same helper', async () => {
    // A slow acquirer: accepted at once, answered only after 20 s.
    const slow = await startTestSystem(await target.freshUrl(), {
      workerDelayedAfterMs: 300,
      networkDelayMs: 20_000,
    });
    try {
      const c = await signIn(slow.base, '01', '1111');
      const p = await c.call('POST', '/v1/payments', {
        orderNo: orderNo('SLOW'),
        amount: 2_000,
        currency: 'CNY',
        method: 'card',
        card: { pan: PAN, expiry: '2912' },
      });
      const r = await c.call('POST', '/v1/refunds', {
        paymentId: p.body.id,
        amount: 500,
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
      });
      expect(r.status).toBe(201);
      const delayed = await until(
        async () => (await c.call('GET', `/v1/refunds/${r.body.id}`)).body,
        (x) => x.delayed === true,
      );
      expect(delayed.status).toBe('processing');
      expect(delayed.expectedArrival >= r.body.expectedArrival).toBe(true);
      expect(delayed.network.outcome).toMatchObject({ code: DELAYED_CODE, kind: 'delay' });
      const audit = await slow.ctx.store.db
        .selectFrom('audit_log')
        .select('data_json')
        .where('entity_id', '=', r.body.id)
        .where('action', '=', 'refund.delayed')
        .execute();
      expect(audit.map((a) => JSON.parse(a.data_json).cause)).toEqual(['processing_overdue']);
    } finally {
      await slow.close();
    }
  });

  // Runs last: it moves the suite's clock two weeks on.
  it('marks a refund whose submission keeps failing delayed, pushes its arrival out and audits it', async () => {
    const p = await pay(4_000);
    inProcess().down = true;
    try {
      const r = await refund(p.id, 1_500, { code: 'quality_issue' });
      expect(r.delayed).toBe(false);
      // Two weeks pass with the link down (always spanning a business day, whatever the holidays):
      // the new expected arrival counts from the new today.
      offsetMs += 14 * 86_400_000;
      cashier = await signIn(sys.base, '01', '1111');
      const delayed = await until(
        async () => (await cashier.call('GET', `/v1/refunds/${r.id}`)).body,
        (x) => x.delayed === true,
      );
      expect(delayed.status).toBe('approved');
      expect(
        delayed.expectedArrival > r.expectedArrival,
        `${delayed.expectedArrival} after ${r.expectedArrival}`,
      ).toBe(true);
      expect(delayed.network).toMatchObject({
        reference: null,
        responseCode: null,
        outcome: { code: DELAYED_CODE, kind: 'delay' },
      });
      expect(delayed.network.outcome.message['zh-CN']).toContain('退款延迟');
      expect(delayed.network.outcome.fix['zh-CN']).toContain(`预计 ${delayed.expectedArrival} 前到账`);

      // Audited once, without a status event.
      const audits = await sys.ctx.store.db
        .selectFrom('audit_log')
        .select(['action', 'data_json'])
        .where('entity_id', '=', r.id)
        .where('action', '=', 'refund.delayed')
        .execute();
      expect(audits).toHaveLength(1);
      expect(JSON.parse(audits[0]?.data_json ?? '{}')).toMatchObject({
        cause: 'submission_failing',
        expectedArrival: delayed.expectedArrival,
        previousExpectedArrival: r.expectedArrival,
      });
      const events = (await cashier.call('GET', `/v1/refunds/${r.id}/events`)).body.data.map(
        (e: { to: string }) => e.to,
      );
      expect(events).toEqual(['approved']);
      expect((await admin()).body).toMatchObject({ ok: true });
    } finally {
      inProcess().down = false;
    }
  });

  async function admin() {
    const a = await signIn(sys.base, '99', '12345678');
    return a.call('GET', '/v1/audit/verify');
  }
});
