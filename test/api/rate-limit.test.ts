import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.js';
import { call, DEMO, startTestSystem, type TestSystem } from '../support/system.js';

/** Issue 9, defect 3: limits per client and per operator, answered 429 problem+json with Retry-After. */
const sqlite = storeTargets.filter((t) => t.name === 'sqlite');

describe.each(sqlite)('rate limits on $name', (target) => {
  let sys: TestSystem;

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), { rateLimitPerMinute: 40, signInLimitPerMinute: 3 });
  });
  afterAll(async () => {
    await sys?.close();
  });

  const signIn = (operatorNo: string, password: string) =>
    call(sys.base, 'POST', '/v1/sessions', { terminalId: DEMO.terminalId, operatorNo, password });

  it('limits sign-ins of one operator, whatever the password, and leaves other operators alone', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await signIn('00', `guess-${i}`));
    expect(answers.slice(0, 3).map((a) => a.status)).toEqual([401, 401, 401]);
    const limited = answers[3];
    expect(limited?.status).toBe(429);
    expect(limited?.body.code).toBe('rate_limited');
    expect(limited?.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Even the right password waits out the window: the limit is checked before any password.
    expect((await signIn('00', '123456')).status).toBe(429);
    expect((await signIn('01', '1111')).status).toBe(201);
  });

  it('limits one client across every route', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await call(sys.base, 'GET', '/v1/health')).status);
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(40);
  });
});

describe.each(sqlite)('rate limits behind a load balancer on $name', (target) => {
  const burst = async (base: string, forwardedFor: string) => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++)
      statuses.push(
        (await call(base, 'GET', '/v1/health', undefined, { 'x-forwarded-for': forwardedFor })).status,
      );
    return statuses;
  };

  it('with TRUST_PROXY, limits each client the balancer names, not the balancer', async () => {
    const sys = await startTestSystem(await target.freshUrl(), {
      rateLimitPerMinute: 10,
      trustProxy: ['127.0.0.1'],
    });
    try {
      expect(await burst(sys.base, '203.0.113.7')).toContain(429);
      // Another shop client behind the same balancer still has its own minute.
      expect((await burst(sys.base, '203.0.113.8')).slice(0, 10)).toEqual(Array(10).fill(200));
    } finally {
      await sys.close();
    }
  });

  it('without TRUST_PROXY, a forwarded header cannot buy a client a fresh bucket', async () => {
    const sys = await startTestSystem(await target.freshUrl(), { rateLimitPerMinute: 10 });
    try {
      expect(await burst(sys.base, '203.0.113.7')).toContain(429);
      expect((await burst(sys.base, '198.51.100.1')).every((s) => s === 429)).toBe(true);
    } finally {
      await sys.close();
    }
  });
});
