import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call, signIn, supervisor } from '../support/system.js';
import { spawnServer } from './support/server.js';

describe('graceful shutdown', () => {
  it('finishes the requests in flight on SIGTERM, then exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refund-desk-shutdown-'));
    const server = await spawnServer({
      DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      DATA_DIR: dir,
      NETWORK: 'in-process',
    });
    const cashier = await signIn(server.base, '01', '1111');
    const pay = await cashier.call('POST', '/v1/payments', {
      orderNo: 'SHUT-1',
      amount: 5_000,
      currency: 'CNY',
      method: 'cash',
    });
    expect(pay.status).toBe(201);
    // A request that verifies a password (argon2id) is still running when the signal arrives.
    const inFlight = cashier.call('POST', '/v1/refunds', {
      paymentId: pay.body.id,
      amount: 100,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    await new Promise((r) => setTimeout(r, 5));
    const exit = server.stop(15_000);
    const answer = await inFlight;
    expect(answer.status).toBe(201);
    expect(await exit).toBe(0);
    await expect(call(server.base, 'GET', '/v1/health')).rejects.toThrow();
  });
});
