import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessAcquirer } from '../../src/simulator/in-process/acquirer.js';
import { migrate, openStore, type Store } from '../../src/store/db.js';
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

const silent = pino({ level: process.env.TEST_LOG ?? 'silent' });

describe.each(storeTargets)('outbox shared by several workers on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  const extra: { store: Store; worker: OutboxWorker; network: InProcessAcquirer }[] = [];

  beforeAll(async () => {
    // The API process runs no worker; three separate worker stacks (own store connections) share the outbox.
    sys = await startTestSystem(await target.freshUrl(), { worker: false });
    cashier = await signIn(sys.base, '01', '1111');
    for (let i = 0; i < 3; i++) {
      const store = openStore(sys.url);
      await migrate(store);
      const network = new InProcessAcquirer(store, { processingDelayMs: 10 });
      const worker = new OutboxWorker({
        store,
        network,
        log: silent,
        pollIntervalMs: 5,
        batchSize: 3,
        workerId: `w${i}`,
      });
      extra.push({ store, worker, network });
    }
  });
  afterAll(async () => {
    for (const e of extra) {
      await e.worker.stop();
      await e.network.close();
      await e.store.close();
    }
    await sys?.close();
  });

  it('submits every approved refund exactly once and applies every result', async () => {
    const payment = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo(),
      amount: 100_000,
      currency: 'CNY',
      method: 'qr',
    });
    expect(payment.status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await cashier.call('POST', '/v1/refunds', {
        paymentId: payment.body.id,
        amount: 100 + i,
        reason: { code: 'quality_issue' },
        approvals: [supervisor],
      });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    for (const e of extra) e.worker.start();
    const db = sys.ctx.store.db;
    await until(
      () => db.selectFrom('refunds').select('status').where('payment_id', '=', payment.body.id).execute(),
      (rows) => rows.every((r) => r.status === 'succeeded'),
      20_000,
    );
    const outbox = await db
      .selectFrom('outbox')
      .select(['ref_id', 'attempts', 'status'])
      .where('ref_id', 'in', ids)
      .execute();
    expect(outbox).toHaveLength(30);
    // One claim per row: no two workers ever held the same row.
    expect(outbox.every((o) => o.attempts === 1 && o.status === 'done')).toBe(true);
    const acquirer = await db
      .selectFrom('acq_transactions')
      .select('request_id')
      .where('request_id', 'in', ids)
      .execute();
    expect(new Set(acquirer.map((a) => a.request_id)).size).toBe(30);
    const p = await cashier.call('GET', `/v1/payments/${payment.body.id}`);
    expect(p.body.refundedAmount).toBe(ids.reduce((s, _id, i) => s + 100 + i, 0));
    expect(p.body.inFlightAmount).toBe(0);
  });
});

describe.each(storeTargets)('migrations on $name', (target) => {
  it('are versioned and apply once', async () => {
    const store = openStore(await target.freshUrl());
    try {
      expect(await migrate(store)).toEqual([
        '0001_init',
        '0002_card_link',
        '0003_reconciliation',
        '0004_receipts',
        '0005_receipt_sends',
        '0006_link_state',
        '0007_workflows',
        '0008_auth_attempts',
        '0009_approval_lock',
        '0010_api_key_life',
        '0012_distribution_keys',
        '0013_audit_chains',
        '0014_growth_indexes',
        '0015_worker_indexes',
        '0016_drop_refunds_day_index',
        '0017_operator_admin',
        '0018_review_evidence',
        '0019_phone_search',
        '0020_settlement_lists',
        '0021_returns',
        '0022_one_refund_per_return',
      ]);
      expect(await migrate(store)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
