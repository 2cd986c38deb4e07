import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentMethod } from '../../src/domain/payment.js';
import { insertOperation, scheduleRecovery } from '../../src/store/operations.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';

/**
 * A sale whose request died between its reservation and its write is resolved by the outbox's
 * `operation.recover`, which looks the sale up at the network (nothing is sent again: we never keep
 * the card number) — judged by the simulator's own ledger.
 */
const PAN = testPan('622202100007777');

interface Effect {
  reference: string;
  kind: string;
  amount: number;
}

describe.each(storeTargets)('recovery of a sale whose request died, on $name', (target) => {
  let sys: TestSystem;
  let cashier: Client;
  let control: string;

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), {
      network: 'sim',
      dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-recovery-')),
      networkDelayMs: 20,
      workerBackoffMs: 50,
    });
    cashier = await signIn(sys.base, '01', '1111');
    control = `http://127.0.0.1:${sys.simulator?.controlPort}`;
  });
  afterAll(async () => {
    await sys?.close();
  });

  const effects = async (): Promise<Effect[]> =>
    (await call(control, 'GET', `/ledger?merchantId=${DEMO.merchantId}`)).body.effects;

  /** What a sale request leaves behind when it dies after reserving: the operation and its recovery, due now. */
  async function diedAfterReserving(method: PaymentMethod, order: string, paymentId: string, amount: number) {
    const id = `op_${ulid()}`;
    const now = new Date();
    await sys.ctx.store.tx(async (trx) => {
      await insertOperation(trx, {
        id,
        merchantId: DEMO.merchantId,
        kind: 'sale',
        orderNo: order,
        paymentId,
        payload: { amountMinor: amount, currency: 'CNY', method, terminalId: DEMO.terminalId },
        at: now,
      });
      await scheduleRecovery(trx, id, now, now);
    });
    return id;
  }

  const recovered = (operationId: string, status: string) =>
    until(
      async () => {
        await sys.worker?.tick();
        return sys.ctx.store.db
          .selectFrom('operations')
          .select('status')
          .where('id', '=', operationId)
          .executeTakeFirstOrThrow();
      },
      (op) => op.status === status,
      20_000,
    );

  it('releases a card sale reservation whose request died before anything was sent', async () => {
    const order = orderNo('RC');
    const op = await diedAfterReserving('card', order, `pay_${ulid()}`, 4_321);
    expect((await recovered(op, 'released')).status).toBe('released');
    expect((await effects()).filter((e) => e.amount === 4_321)).toEqual([]);
    // The order number is free again: the cashier can take the payment.
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: order,
      amount: 4_321,
      currency: 'CNY',
      method: 'card',
      card: { pan: PAN, expiry: '2912' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  });

  it('voids at the network a card sale that was approved but never recorded', async () => {
    const order = orderNo('RA');
    const paymentId = `pay_${ulid()}`;
    const sale = await sys.network.authorizeSale({
      requestId: paymentId,
      merchantId: DEMO.merchantId,
      terminalId: DEMO.terminalId,
      orderNo: order,
      amountMinor: 5_432,
      currency: 'CNY',
      method: 'card',
      pan: PAN,
      expiry: '2912',
    });
    expect(sale.approved).toBe(true);
    expect((await effects()).filter((e) => e.reference === sale.reference)).toHaveLength(1);

    const op = await diedAfterReserving('card', order, paymentId, 5_432);
    expect((await recovered(op, 'compensated')).status).toBe('compensated');
    expect((await effects()).filter((e) => e.reference === sale.reference)).toEqual([]);
    const payments = await sys.ctx.store.db
      .selectFrom('payments')
      .select('id')
      .where('order_no', '=', order)
      .execute();
    expect(payments).toEqual([]);
  });

  it('releases a QR sale reservation the wallet never saw, and closes the order at the wallet', async () => {
    const paymentId = `pay_${ulid()}`;
    const op = await diedAfterReserving('qr', orderNo('RQ'), paymentId, 6_543);
    expect((await recovered(op, 'released')).status).toBe('released');
    // The lost request, should it still arrive, is refused: the wallet closed the order.
    const late = await sys.network.authorizeSale({
      requestId: paymentId,
      merchantId: DEMO.merchantId,
      terminalId: DEMO.terminalId,
      orderNo: 'late',
      amountMinor: 6_543,
      currency: 'CNY',
      method: 'qr',
    });
    expect(late.approved).toBe(false);
    expect((await effects()).filter((e) => e.amount === 6_543)).toEqual([]);
  });
});
