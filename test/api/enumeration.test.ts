import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.js';
import { call, DEMO, startTestSystem, type TestSystem } from '../support/system.js';

/** Issue 9, defect 4: sign-in never tells who exists — same answer for every wrong combination. */
describe.each(storeTargets)('sign-in without operator enumeration on $name', (target) => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl());
  });
  afterAll(async () => {
    await sys?.close();
  });

  const attempt = async (terminalId: string, operatorNo: string, password: string) => {
    const r = await call(sys.base, 'POST', '/v1/sessions', { terminalId, operatorNo, password });
    const { instance: _i, requestId: _r, ...rest } = r.body as Record<string, unknown>;
    return { status: r.status, body: rest };
  };

  it('answers a wrong password, an unknown operator and an unknown terminal alike', async () => {
    const wrongPassword = await attempt(DEMO.terminalId, '02', 'not-it');
    const unknownOperator = await attempt(DEMO.terminalId, '77', 'not-it');
    const unknownTerminal = await attempt('T9999999', '02', 'not-it');
    expect(wrongPassword.status).toBe(401);
    expect(wrongPassword.body).not.toHaveProperty('attemptsLeft');
    expect(unknownOperator).toEqual(wrongPassword);
    expect(unknownTerminal).toEqual(wrongPassword);
  });
});
