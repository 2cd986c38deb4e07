import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.js';
import { type Client, signIn, startTestSystem, type TestSystem } from '../support/system.js';

/** Issue 9, defect 5: every page and answer carries the security headers; API answers are never cached. */
const sqlite = storeTargets.filter((t) => t.name === 'sqlite');

describe.each(sqlite)('security headers on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl());
    cashier = await signIn(sys.base, '01', '1111');
  });
  afterAll(async () => {
    await sys?.close();
  });

  const fetchHeaders = async (path: string, auth = false) => {
    const res = await fetch(`${sys.base}${path}`, {
      headers: auth ? { authorization: `Bearer ${cashier.token}` } : {},
      redirect: 'manual',
    });
    await res.arrayBuffer();
    return res.headers;
  };

  for (const path of ['/terminal/', '/v1/health', '/docs/', '/openapi.json', '/v1/no-such-route']) {
    it(`sends CSP with frame-ancestors, nosniff and a referrer policy on ${path}`, async () => {
      const h = await fetchHeaders(path);
      expect(h.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(h.get('content-security-policy')).toContain("script-src 'self'");
      expect(h.get('content-security-policy')).not.toContain("script-src 'self' 'unsafe-inline'");
      expect(h.get('x-content-type-options')).toBe('nosniff');
      expect(h.get('referrer-policy')).toBe('no-referrer');
      expect(h.get('x-frame-options')).toBe('SAMEORIGIN');
    });
  }

  it('marks authenticated JSON answers and problems no-store', async () => {
    expect((await fetchHeaders('/v1/payments?limit=1', true)).get('cache-control')).toBe('no-store');
    expect((await fetchHeaders('/v1/refunds/re_missing', true)).get('cache-control')).toBe('no-store');
    const r = await cashier.call('GET', '/v1/policy');
    expect(r.headers.get('cache-control')).toBe('no-store');
  });

  it('leaves the terminal page revalidated, not no-store: only API answers are never kept', async () => {
    expect((await fetchHeaders('/terminal/')).get('cache-control')).toBe('no-cache');
  });
});
