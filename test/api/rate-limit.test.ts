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
