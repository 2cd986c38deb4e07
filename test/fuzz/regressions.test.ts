/**
 * Defects the API fuzzer found (api.fuzz.test.ts), each pinned by the smallest case that showed it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.js';
import { type Client, call, signIn, startTestSystem, type TestSystem } from '../support/system.js';

describe.each(storeTargets)('defects found by fuzzing, on $name', (target) => {
  let sys: TestSystem;
  let admin: Client;

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), { network: 'in-process', worker: false });
    admin = await signIn(sys.base, '99', '12345678');
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('answers a URL the router cannot decode as problem+json, like every other client error', async () => {
    // Found as `GET /v1/orders/%` → 400 with Fastify's own application/json body.
    const badEscape = await fetch(`${sys.base}/v1/orders/%E0%A4%A`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(badEscape.status).toBe(400);
    expect(badEscape.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(badEscape.headers.get('x-request-id')).toMatch(/^req_/);
    expect(await badEscape.json()).toMatchObject({ status: 400, code: 'validation_failed' });

    // Found as `GET /v1/payments/xxx…` (a parameter over the router's 100 characters) → 414, same shape.
    const longParam = await call(sys.base, 'GET', `/v1/payments/${'x'.repeat(101)}`, undefined, {
      authorization: `Bearer ${admin.token}`,
    });
    expect(longParam.status).toBe(414);
    expect(longParam.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(longParam.body).toMatchObject({ status: 414, code: 'validation_failed' });
  });

  it('does not hash the body of a call that reads none: a deeply nested one is no 500', async () => {
    // Found as `POST /v1/operators/0/unlock` with `{"a":{"a":…}}` 5,000 deep and an Idempotency-Key:
    // the key's fingerprint hashed the unvalidated body recursively and overflowed the stack.
    const deep = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
    const send = (payload: string) =>
      fetch(`${sys.base}/v1/operators/01/unlock`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${admin.token}`,
          'content-type': 'application/json',
          'idempotency-key': `regression-deep-body-${target.name}`,
        },
        body: payload,
      });
    const first = await send(deep);
    expect(first.status, await first.clone().text()).toBe(200);
    // The body is not part of the request: the same key with another body is the same call.
    const again = await send('{}');
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });
});
