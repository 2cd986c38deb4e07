import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { migrate, openStore, type Store } from '../../src/store/db.js';
import {
  CLAIM_STALE_MS,
  claimKey,
  completeKey,
  type IdempotencyScope,
  releaseKey,
} from '../../src/store/idempotency.js';
import { storeTargets } from '../support/stores.js';

/**
 * An Idempotency-Key is claimed before a request's first step. A claim left by a process that
 * died is taken over once stale; the slow original, if it was alive after all, can then no longer
 * record its answer, so one key never commits two results.
 */
describe.each(storeTargets)('idempotency claims on $name', (target) => {
  let store: Store;
  beforeAll(async () => {
    store = openStore(await target.freshUrl());
    await migrate(store);
  });
  afterAll(async () => {
    await store?.close();
  });

  const scope = (key: string, body: unknown = { amount: 100 }): IdempotencyScope => ({
    merchantId: 'm1',
    key,
    fingerprint: { method: 'POST', path: '/v1/refunds', body },
  });
  const code = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'ok';
    } catch (err) {
      return err instanceof DomainError ? err.code : String(err);
    }
  };

  it('refuses a second claim while the first runs, and replays the answer once recorded', async () => {
    const t0 = new Date('2026-12-03T02:00:00Z');
    const first = await claimKey(store, scope('k1'), t0);
    expect('token' in first).toBe(true);
    expect(await code(claimKey(store, scope('k1'), new Date(t0.getTime() + 1_000)))).toBe(
      'idempotency_key_in_use',
    );
    if (!('token' in first)) throw new Error('unreachable');
    await store.tx((trx) => completeKey(trx, scope('k1'), first, { statusCode: 201, body: { id: 're_1' } }));
    const again = await claimKey(store, scope('k1'), new Date(t0.getTime() + 2_000));
    expect(again).toEqual({ statusCode: 201, body: { id: 're_1' }, replayed: true });
    expect(await code(claimKey(store, scope('k1', { amount: 200 }), t0))).toBe('idempotency_key_reused');
  });

  it('takes a stale claim over; the old claimant can then neither record nor release it', async () => {
    const t0 = new Date('2026-12-03T03:00:00Z');
    const old = await claimKey(store, scope('k2'), t0);
    const later = new Date(t0.getTime() + CLAIM_STALE_MS + 1);
    const fresh = await claimKey(store, scope('k2'), later);
    if (!('token' in old) || !('token' in fresh)) throw new Error('both must be claims');
    expect(fresh.token).not.toBe(old.token);
    const recorded = store.tx((trx) =>
      completeKey(trx, scope('k2'), old, { statusCode: 201, body: { id: 're_old' } }),
    );
    expect(await code(recorded)).toBe('idempotency_key_in_use');
    await releaseKey(store, scope('k2'), old);
    await store.tx((trx) =>
      completeKey(trx, scope('k2'), fresh, { statusCode: 201, body: { id: 're_new' } }),
    );
    const replay = await claimKey(store, scope('k2'), new Date(later.getTime() + 1));
    expect(replay).toMatchObject({ body: { id: 're_new' }, replayed: true });
  });

  it('gives a failed request its key back for a retry', async () => {
    const t0 = new Date('2026-12-03T04:00:00Z');
    const claim = await claimKey(store, scope('k3'), t0);
    if (!('token' in claim)) throw new Error('a claim');
    await releaseKey(store, scope('k3'), claim);
    const retry = await claimKey(store, scope('k3'), new Date(t0.getTime() + 10));
    expect('token' in retry).toBe(true);
  });
});
