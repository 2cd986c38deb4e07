import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxWorker } from '../../src/worker/outbox.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  until,
} from '../support/system.js';

/**
 * PRODUCT.md §8 runs API processes apart from workers (WORKER=0). The wallet's refund
 * notifications arrive at whichever process serves the notify URL: an API-only process must apply
 * them itself, not answer `success` and drop them.
 */
describe.each(storeTargets)('an API-only process on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), {
      network: 'sim',
      worker: false,
      dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-api-only-')),
      networkDelayMs: 200,
    });
    cashier = await signIn(sys.base, '01', '1111');
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('applies a QR refund result from the wallet notification, with no worker polling', async () => {
    expect(sys.worker).toBeNull();
    const sale = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('API'),
      amount: 8_000,
      currency: 'CNY',
      method: 'qr',
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    const refund = await cashier.call('POST', '/v1/refunds', {
      paymentId: sale.body.id,
      amount: 3_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    expect(refund.body.status).toBe('approved');
    // A worker elsewhere submits it once; it never polls, so only the notification can finish it.
    const worker = new OutboxWorker({
      store: sys.ctx.store,
      network: sys.network,
      log: pino({ level: 'silent' }),
    });
    const { submitted } = await worker.tick();
    expect(submitted).toBeGreaterThanOrEqual(1);
    expect((await cashier.call('GET', `/v1/refunds/${refund.body.id}`)).body.status).toBe('processing');
    const done = await until(
      async () => (await cashier.call('GET', `/v1/refunds/${refund.body.id}`)).body,
      (r) => r.status === 'succeeded',
      10_000,
    );
    expect(done.network.responseCode).toBe('00');
    const events = (await cashier.call('GET', `/v1/refunds/${refund.body.id}/events`)).body.data;
    expect(events.at(-1)).toMatchObject({ from: 'processing', to: 'succeeded', actor: 'network' });
  });
});
