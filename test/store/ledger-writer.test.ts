/**
 * The ledger writer and its repository, on every dialect: where each write moves the merchant's
 * money, the day's refund total and the payment's totals; what a lookup may find; the outbox's dead
 * letters and the operations journal. Gaps found by mutation testing (issue 9, RELIABILITY.md): the
 * suites that start whole systems run these paths without checking them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { verifyAudit } from '../../src/store/audit.js';
import { migrate, openStore, type Store, type Tx } from '../../src/store/db.js';
import {
  insertPayment,
  insertRefund,
  markSettled,
  markVoided,
  moveRefund,
  updateRefund,
} from '../../src/store/ledger.js';
import {
  activeOperations,
  insertOperation,
  moveOperation,
  RECOVER_AFTER_MS,
  RECOVER_KIND,
  refuseWhileActive,
} from '../../src/store/operations.js';
import { buryOutbox, deadOutbox } from '../../src/store/outbox.js';
import {
  enqueueOutbox,
  loadPaymentRow,
  loadRefundRow,
  lockMerchant,
  lockRefund,
  merchantDayTotal,
  paymentState,
  paymentStates,
} from '../../src/store/repo.js';
import type { PaymentTable, RefundTable } from '../../src/store/schema.js';
import { storeTargets } from '../support/stores.js';

const M = 'mch_ledger';
const OTHER = 'mch_other';
const DAY = '2026-09-18';
const AT = new Date('2026-09-18T02:00:00.000Z');
const FUNDS = 1_000_000;

let serial = 0;
const id = (prefix: string) => `${prefix}_${++serial}`;

function sale(amountMinor: number, feeMinor: number, over: Partial<PaymentTable> = {}): PaymentTable {
  const pid = id('pay');
  return {
    id: pid,
    merchant_id: M,
    terminal_id: null,
    order_no: `O-${pid}`,
    kind: 'sale',
    parent_payment_id: null,
    amount_minor: amountMinor,
    currency: 'CNY',
    method: 'card',
    fee_minor: feeMinor,
    card_bin: null,
    card_last4: null,
    card_token: null,
    voided: 0,
    voided_at: null,
    settled: 0,
    settlement_id: null,
    refunded_minor: 0,
    in_flight_minor: 0,
    network_reference: null,
    captured_at: AT.toISOString(),
    created_at: AT.toISOString(),
    updated_at: AT.toISOString(),
    ...over,
  };
}

function refund(p: PaymentTable, amountMinor: number, over: Partial<RefundTable> = {}): RefundTable {
  return {
    id: id('rf'),
    merchant_id: p.merchant_id,
    payment_id: p.id,
    order_no: p.order_no,
    terminal_id: null,
    amount_minor: amountMinor,
    fee_minor: 0,
    net_amount_minor: amountMinor,
    merchant_fee_returned_minor: 0,
    currency: 'CNY',
    reason_code: 'quality_issue',
    reason_note: null,
    method: 'original',
    status: 'approved',
    items_json: '[]',
    approvals_json: '[]',
    consumer_enc: null,
    consumer_masked_json: null,
    delayed: 0,
    expected_arrival: '2026-09-23',
    network_reference: null,
    response_code: null,
    created_by: 'op_01',
    settlement_id: null,
    created_day: DAY,
    created_at: AT.toISOString(),
    updated_at: AT.toISOString(),
    handed_off_at: null,
    ...over,
  };
}

const items = [{ line_no: 1, sku: 'TEA', name: 'Tea', qty: 2, unit_amount_minor: 5_000 }];

describe.each(storeTargets)('the ledger writer on $name', (target) => {
  let store: Store;
  const tx = <T>(work: (trx: Tx) => Promise<T>) => store.tx(work);

  async function funds(merchantId = M): Promise<number> {
    const m = await store.db
      .selectFrom('merchants')
      .select('available_funds_minor')
      .where('id', '=', merchantId)
      .executeTakeFirstOrThrow();
    return Number(m.available_funds_minor);
  }
  const dayTotal = (day = DAY) => tx((trx) => merchantDayTotal(trx, M, day));
  const paymentRow = (pid: string) =>
    store.db.selectFrom('payments').selectAll().where('id', '=', pid).executeTakeFirstOrThrow();
  async function teaRefunded(pid: string): Promise<number> {
    const item = await store.db
      .selectFrom('payment_items')
      .select('refunded_qty')
      .where('payment_id', '=', pid)
      .where('sku', '=', 'TEA')
      .executeTakeFirstOrThrow();
    return Number(item.refunded_qty);
  }
  async function newSale(amountMinor = 10_000, feeMinor = 60): Promise<PaymentTable> {
    const p = sale(amountMinor, feeMinor);
    await tx((trx) => insertPayment(trx, p, items));
    return p;
  }

  beforeAll(async () => {
    store = openStore(await target.freshUrl());
    await migrate(store);
    for (const m of [M, OTHER]) {
      await store.db
        .insertInto('merchants')
        .values({
          id: m,
          name: m,
          currency: 'CNY',
          available_funds_minor: FUNDS,
          policy_json: '{}',
          created_at: AT.toISOString(),
        })
        .execute();
    }
  });
  afterAll(async () => {
    await store?.close();
  });

  it('adds a sale to the merchant funds less the acquirer fee, and a void takes exactly that back', async () => {
    const before = await funds();
    const p = await newSale(10_000, 60);
    expect(await funds()).toBe(before + 9_940);
    await tx((trx) => markVoided(trx, p, AT));
    expect(await funds()).toBe(before);
    expect(await paymentRow(p.id)).toMatchObject({ voided: 1, voided_at: AT.toISOString() });
  });

  it('reserves a refund (net funds, units, day total), gives it all back on release, keeps it on success', async () => {
    const p = await newSale();
    const start = { funds: await funds(), day: await dayTotal() };
    const r1 = refund(p, 5_000, {
      net_amount_minor: 4_900,
      fee_minor: 100,
      items_json: '[{"sku":"TEA","qty":1}]',
    });
    await tx((trx) => insertRefund(trx, r1));
    expect(await funds()).toBe(start.funds - 4_900);
    expect(await dayTotal()).toBe(start.day + 5_000);
    expect(await teaRefunded(p.id)).toBe(1);
    expect(await paymentRow(p.id)).toMatchObject({ in_flight_minor: 5_000, refunded_minor: 0 });

    const moved = await tx((trx) =>
      moveRefund(trx, r1.id, 'canceled', { actor: 'op_02', note: 'the customer kept it', at: AT }),
    );
    expect(moved).toMatchObject({ id: r1.id, from: 'approved', status: 'canceled' });
    expect(await funds()).toBe(start.funds);
    expect(await dayTotal()).toBe(start.day);
    expect(await teaRefunded(p.id)).toBe(0);
    expect(await paymentRow(p.id)).toMatchObject({ in_flight_minor: 0, refunded_minor: 0 });
    const events = await store.db
      .selectFrom('refund_events')
      .select(['from_status', 'to_status', 'actor', 'note'])
      .where('refund_id', '=', r1.id)
      .orderBy('id')
      .execute();
    expect(events).toEqual([
      { from_status: null, to_status: 'approved', actor: 'op_01', note: null },
      { from_status: 'approved', to_status: 'canceled', actor: 'op_02', note: 'the customer kept it' },
    ]);

    const r2 = refund(p, 3_000);
    await tx((trx) => insertRefund(trx, r2));
    await tx((trx) => moveRefund(trx, r2.id, 'processing', { actor: 'worker', at: AT }));
    await tx((trx) =>
      moveRefund(trx, r2.id, 'succeeded', { actor: 'network', at: AT, set: { response_code: '00' } }),
    );
    expect(await funds()).toBe(start.funds - 3_000);
    expect(await dayTotal()).toBe(start.day + 3_000);
    expect(await dayTotal('2026-09-19')).toBe(0);
    expect(await paymentRow(p.id)).toMatchObject({ in_flight_minor: 0, refunded_minor: 3_000 });
    expect(await tx((trx) => loadRefundRow(trx, M, r2.id, false))).toMatchObject({
      status: 'succeeded',
      response_code: '00',
    });
  });

  it('refuses a refund past the captured amount and leaves the money where it was', async () => {
    const p = await newSale(1_000, 6);
    const before = await funds();
    await expect(tx((trx) => insertRefund(trx, refund(p, 1_001)))).rejects.toThrow(
      /invariant|CHECK constraint|violates check constraint/,
    );
    expect(await funds()).toBe(before);
    expect(await paymentRow(p.id)).toMatchObject({ in_flight_minor: 0 });
  });

  it("records a settlement on the batch's payments and refunds, and the domain then sees the payment settled", async () => {
    const p = await newSale();
    const r = refund(p, 1_000);
    await tx((trx) => insertRefund(trx, r));
    await tx((trx) => markSettled(trx, M, 'st_1', [p.id], [r.id]));
    await tx((trx) => markSettled(trx, M, 'st_2', [], []));
    expect(await paymentRow(p.id)).toMatchObject({ settled: 1, settlement_id: 'st_1' });
    expect(await tx((trx) => loadRefundRow(trx, M, r.id, false))).toMatchObject({ settlement_id: 'st_1' });
    // Read first: SQLite has one connection, and store.db inside a transaction would wait for it.
    const row = await paymentRow(p.id);
    const state = await tx((trx) => paymentState(trx, row));
    expect(state.settled).toBe(true);
  });

  it('updates the fields of a refund that change without a status move', async () => {
    const p = await newSale();
    const r = refund(p, 500);
    await tx((trx) => insertRefund(trx, r));
    const later = new Date(AT.getTime() + 60_000);
    await tx((trx) => updateRefund(trx, M, r.id, { delayed: 1, expected_arrival: '2026-09-30' }, later));
    expect(await tx((trx) => loadRefundRow(trx, M, r.id, false))).toMatchObject({
      delayed: 1,
      expected_arrival: '2026-09-30',
      updated_at: later.toISOString(),
      status: 'approved',
    });
  });
});

describe.each(storeTargets)('ledger lookups on $name', (target) => {
  let store: Store;
  const tx = <T>(work: (trx: Tx) => Promise<T>) => store.tx(work);
  let p1: PaymentTable;
  let p2: PaymentTable;
  let r1: RefundTable;

  beforeAll(async () => {
    store = openStore(await target.freshUrl());
    await migrate(store);
    for (const m of [M, OTHER]) {
      await store.db
        .insertInto('merchants')
        .values({
          id: m,
          name: m,
          currency: 'CNY',
          available_funds_minor: FUNDS,
          policy_json: '{}',
          created_at: AT.toISOString(),
        })
        .execute();
    }
    p1 = sale(10_000, 60);
    p2 = sale(4_000, 24);
    r1 = refund(p1, 1_000);
    await tx(async (trx) => {
      await insertPayment(trx, p1, items);
      await insertPayment(trx, p2, [
        { line_no: 1, sku: 'CUP', name: 'Cup', qty: 1, unit_amount_minor: 4_000 },
      ]);
      await insertRefund(trx, r1);
    });
  });
  afterAll(async () => {
    await store?.close();
  });

  const code = async (work: Promise<unknown>) => {
    try {
      await work;
    } catch (err) {
      if (err instanceof DomainError) return err.code;
      throw err;
    }
    return 'none';
  };

  it("finds a sale by its order number, and only the merchant's own payments and refunds", async () => {
    expect((await tx((trx) => loadPaymentRow(trx, M, { orderNo: p1.order_no }, false))).id).toBe(p1.id);
    expect(await code(tx((trx) => loadPaymentRow(trx, M, { orderNo: 'O-none' }, false)))).toBe('not_found');
    expect(await code(tx((trx) => loadPaymentRow(trx, M, {}, false)))).toBe('validation_failed');
    expect(await code(tx((trx) => loadPaymentRow(trx, OTHER, { paymentId: p1.id }, false)))).toBe(
      'not_found',
    );
    expect(await code(tx((trx) => loadRefundRow(trx, OTHER, r1.id, false)))).toBe('not_found');
    expect(await code(tx((trx) => loadRefundRow(trx, null, 'rf_none', false)))).toBe('not_found');
    expect(await code(tx((trx) => lockMerchant(trx, 'mch_none')))).toBe('not_found');
    expect(await tx((trx) => lockRefund(trx, null, 'rf_none'))).toBeUndefined();
    expect((await tx((trx) => lockRefund(trx, null, r1.id)))?.id).toBe(r1.id);
  });

  it('reads each payment with its own line items, and nothing for no payments', async () => {
    const rows = await store.db
      .selectFrom('payments')
      .selectAll()
      .where('id', 'in', [p1.id, p2.id])
      .orderBy('amount_minor')
      .execute();
    const states = await tx((trx) => paymentStates(trx, rows));
    expect(states.map((s) => [s.id, s.items.map((i) => i.sku), s.settled, s.inFlightMinor])).toEqual([
      [p2.id, ['CUP'], false, 0],
      [p1.id, ['TEA'], false, 1_000],
    ]);
    expect(await tx((trx) => paymentStates(trx, []))).toEqual([]);
  });

  it("lists a buried outbox row as the merchant's dead letter, audited, and not as anyone else's", async () => {
    await tx((trx) =>
      enqueueOutbox(trx, {
        id: 'ob_dead',
        kind: 'refund.submit',
        refId: r1.id,
        payload: {},
        at: AT,
        merchantId: M,
      }),
    );
    const row = await store.db
      .selectFrom('outbox')
      .selectAll()
      .where('id', '=', 'ob_dead')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ merchant_id: M, status: 'pending', next_attempt_at: AT.toISOString() });
    const diedAt = new Date(AT.getTime() + 5_000);
    await buryOutbox(store, { ...row, attempts: 100 }, M, 'the network never answered', diedAt);
    expect(await deadOutbox(store, M, 10)).toEqual([
      {
        id: 'ob_dead',
        kind: 'refund.submit',
        refId: r1.id,
        attempts: 0,
        lastError: 'the network never answered',
        createdAt: AT.toISOString(),
        diedAt: diedAt.toISOString(),
      },
    ]);
    expect(await deadOutbox(store, OTHER, 10)).toEqual([]);
    const audit = await store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'outbox.dead')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      merchant_id: M,
      actor: 'worker',
      entity: 'outbox',
      entity_id: 'ob_dead',
    });
    expect(JSON.parse(audit[0]?.data_json ?? '{}')).toEqual({
      kind: 'refund.submit',
      refId: r1.id,
      attempts: 100,
      error: 'the network never answered',
    });
    expect((await verifyAudit(store)).ok).toBe(true);
  });

  it('holds a reservation on the order until the operation moves on, then lets the next one in', async () => {
    const opId = 'op_void_1';
    await tx((trx) =>
      insertOperation(trx, {
        id: opId,
        merchantId: M,
        kind: 'void',
        orderNo: p2.order_no,
        paymentId: p2.id,
        payload: { why: 'test' },
        at: AT,
      }),
    );
    const recovery = () =>
      store.db
        .selectFrom('outbox')
        .selectAll()
        .where('kind', '=', RECOVER_KIND)
        .where('ref_id', '=', opId)
        .executeTakeFirstOrThrow();
    expect(await recovery()).toMatchObject({
      status: 'pending',
      next_attempt_at: new Date(AT.getTime() + RECOVER_AFTER_MS).toISOString(),
    });
    expect(JSON.parse((await recovery()).payload_json)).toEqual({ operationId: opId });

    const refused = await tx((trx) =>
      refuseWhileActive(trx, M, { orderNo: p2.order_no, kinds: ['void', 'sale'] }, 'a refund').then(
        () => null,
        (err: unknown) => err,
      ),
    );
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'operation_in_progress', extra: { operation: 'void' } });
    // Its own workflow, another order, another kind, another merchant: not held up.
    for (const where of [
      { orderNo: p2.order_no, kinds: ['void'] as const, exceptId: opId },
      { orderNo: p1.order_no, kinds: ['void'] as const },
      { orderNo: p2.order_no, kinds: ['adjustment'] as const },
    ]) {
      await expect(
        tx((trx) => refuseWhileActive(trx, M, { ...where, kinds: [...where.kinds] }, 'x')),
      ).resolves.toBeUndefined();
    }
    await expect(
      tx((trx) => refuseWhileActive(trx, OTHER, { orderNo: p2.order_no, kinds: ['void'] }, 'x')),
    ).resolves.toBeUndefined();
    expect(
      (await tx((trx) => activeOperations(trx, M, { paymentId: p2.id, kinds: ['void'] }))).map((o) => o.id),
    ).toEqual([opId]);
    expect(await tx((trx) => activeOperations(trx, M, { paymentId: p1.id, kinds: ['void'] }))).toEqual([]);

    const later = new Date(AT.getTime() + 1_000);
    expect(await tx((trx) => moveOperation(trx, M, opId, 'reserved', 'applied', later, 'RRN000000001'))).toBe(
      true,
    );
    expect(await tx((trx) => moveOperation(trx, M, opId, 'reserved', 'released', later))).toBe(false);
    expect(
      await store.db.selectFrom('operations').selectAll().where('id', '=', opId).executeTakeFirstOrThrow(),
    ).toMatchObject({
      status: 'applied',
      reference: 'RRN000000001',
      updated_at: later.toISOString(),
    });
    expect(await recovery()).toMatchObject({ status: 'done' });
    await expect(
      tx((trx) => refuseWhileActive(trx, M, { orderNo: p2.order_no, kinds: ['void'] }, 'x')),
    ).resolves.toBeUndefined();
  });
});
