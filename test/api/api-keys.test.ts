import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.js';
import { type Client, call, orderNo, signIn, startTestSystem, type TestSystem } from '../support/system.js';

/** Issue 9, defect 7: API keys are listed, revoked at once, expire, and show their last use. */
describe.each(storeTargets)('API key life on $name', (target) => {
  let sys: TestSystem;
  let admin: Client;
  let cashier: Client;
  let offsetMs = 0;

  beforeAll(async () => {
    sys = await startTestSystem(
      await target.freshUrl(),
      {},
      { clock: () => new Date(Date.now() + offsetMs) },
    );
    admin = await signIn(sys.base, '99', '12345678');
    cashier = await signIn(sys.base, '01', '1111');
  });
  afterAll(async () => {
    await sys?.close();
  });

  const asKey = (key: string, method: string, path: string, body?: unknown) =>
    call(sys.base, method, path, body, {
      authorization: `Bearer ${key}`,
      ...(method === 'POST' ? { 'idempotency-key': `k-${orderNo()}` } : {}),
    });

  it('lists keys without the key, revokes one at once, and refuses sign-out as a way to revoke', async () => {
    const created = await admin.call('POST', '/v1/api-keys', { name: 'web shop' });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect((await asKey(key, 'GET', '/v1/payments?limit=1')).status).toBe(200);

    const signOut = await asKey(key, 'DELETE', '/v1/sessions/current');
    expect(signOut.status).toBe(400);
    expect((await asKey(key, 'GET', '/v1/payments?limit=1')).status).toBe(200);

    const listed = await admin.call('GET', '/v1/api-keys');
    expect(listed.status).toBe(200);
    const mine = listed.body.data.find((k: { id: string }) => k.id === created.body.id);
    expect(mine).toMatchObject({ name: 'web shop', revokedAt: null, expiresAt: null });
    expect(mine.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed.body)).not.toContain(key);
    expect((await cashier.call('GET', '/v1/api-keys')).status).toBe(403);

    const revoked = await admin.call('DELETE', `/v1/api-keys/${created.body.id}`);
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const refused = await asKey(key, 'GET', '/v1/payments?limit=1');
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('unauthenticated');
    expect((await admin.call('DELETE', '/v1/api-keys/key_missing')).status).toBe(404);
  });

  it('stops accepting a key once it expires', async () => {
    const created = await admin.call('POST', '/v1/api-keys', { name: 'till export', expiresInDays: 30 });
    expect(created.body.expiresAt).not.toBeNull();
    const key = created.body.key as string;
    expect((await asKey(key, 'GET', '/v1/payments?limit=1')).status).toBe(200);
    offsetMs = 31 * 86_400_000;
    try {
      expect((await asKey(key, 'GET', '/v1/payments?limit=1')).status).toBe(401);
    } finally {
      offsetMs = 0;
    }
  });
});
