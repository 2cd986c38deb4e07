import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linesOf, settlementDayWindow } from '../../src/domain/reconcile.js';
import type { Caller } from '../../src/service/context.js';
import {
  getReconciliation,
  ledgerRowsForDay,
  listReconciliations,
  reconcileDay,
  recordReconciliation,
} from '../../src/service/reconciliation.js';
import { migrate, openStore, type Store } from '../../src/store/db.js';
import type { LinkAttemptTable, PaymentTable, RefundTable } from '../../src/store/schema.js';
import { storeTargets } from '../support/stores.js';
import { csvOf, DAY, networkOf, rrn } from './support.js';

/**
 * Our side of the day, read from a real store on each dialect: which payments, voids and refunds
 * belong to a settlement day, and a run stored and read back.
 */
const M = '898100000000001';
const OTHER = '898100000000002';

function payment(id: string, over: Partial<PaymentTable> = {}): PaymentTable {
  return {
    id,
    merchant_id: M,
    terminal_id: 'T0000001',
    order_no: `O-${id}`,
    kind: 'sale',
    parent_payment_id: null,
    amount_minor: 10_000,
    currency: 'CNY',
    method: 'card',
    fee_minor: 60,
    card_bin: '622202',
    card_last4: '1234',
    card_token: null,
    voided: 0,
    voided_at: null,
    settled: 0,
    settlement_id: null,
    refunded_minor: 0,
    in_flight_minor: 0,
    network_reference: null,
    captured_at: `${DAY}T03:00:00.000Z`,
    created_at: `${DAY}T03:00:00.000Z`,
    updated_at: `${DAY}T03:00:00.000Z`,
    ...over,
  };
}

function refund(id: string, paymentId: string, over: Partial<RefundTable> = {}): RefundTable {
  return {
    id,
    merchant_id: M,
    payment_id: paymentId,
    order_no: `O-${paymentId}`,
    terminal_id: 'T0000001',
    amount_minor: 1_000,
    fee_minor: 6,
    net_amount_minor: 994,
    merchant_fee_returned_minor: 6,
    currency: 'CNY',
    reason_code: 'quality_issue',
    reason_note: null,
    method: 'original',
    status: 'succeeded',
    items_json: '[]',
    approvals_json: '[]',
    consumer_enc: null,
    consumer_masked_json: null,
    delayed: 0,
    expected_arrival: `${DAY}T03:00:00.000Z`,
    network_reference: null,
    response_code: '00',
    created_by: 'op:01',
    settlement_id: null,
    created_day: DAY,
    created_at: `${DAY}T05:00:00.000Z`,
    updated_at: `${DAY}T05:00:00.000Z`,
    handed_off_at: null,
    ...over,
  };
}

function attempt(
  id: string,
  kind: LinkAttemptTable['kind'],
  refId: string,
  reference: string,
  at: string,
  over: Partial<LinkAttemptTable> = {},
): LinkAttemptTable {
  return {
    id,
    merchant_id: M,
    kind,
    ref_id: refId,
    terminal_id: 'T0000001',
    stan: '000001',
    batch_no: '000001',
    request_json: '{}',
    state: 'answered',
    response_code: '00',
    reference,
    created_at: at,
    updated_at: at,
    ...over,
  };
}

const caller: Caller = {
  merchantId: M,
  principal: 'supervisor',
  actor: 'op:00',
  operatorId: null,
  operatorNo: '00',
  terminalId: 'T0000001',
};

describe.each(storeTargets)('our side of a settlement day on $name', (target) => {
  let store: Store;

  beforeAll(async () => {
    store = openStore(await target.freshUrl());
    await migrate(store);
    const now = `${DAY}T00:00:00.000Z`;
    for (const id of [M, OTHER]) {
      await store.db
        .insertInto('merchants')
        .values({
          id,
          name: id,
          currency: 'CNY',
          available_funds_minor: 0,
          policy_json: '{}',
          created_at: now,
        })
        .execute();
    }
    await store.db
      .insertInto('payments')
      .values([
        // A card sale today, with its link attempt.
        payment('p_sale', { network_reference: rrn(1), amount_minor: 25_800 }),
        // Voided today: the sale and its void.
        payment('p_void', { network_reference: rrn(2), voided: 1, voided_at: `${DAY}T03:10:00.000Z` }),
        // Sent just before midnight: recorded just after; the attempt decides the day (look-back).
        payment('p_edge', {
          network_reference: rrn(3),
          created_at: `${DAY}T00:00:00.020Z`,
        }),
        // Yesterday, and tomorrow: not this day.
        payment('p_old', { network_reference: rrn(4), created_at: '2026-03-09T12:00:00.000Z' }),
        payment('p_next', { network_reference: rrn(5), created_at: '2026-03-11T00:00:00.000Z' }),
        // No attempt recorded (another adapter): its own time counts.
        payment('p_noattempt', { network_reference: rrn(6), amount_minor: 700 }),
        // Not through the card network.
        payment('p_cash', { method: 'cash', network_reference: null }),
        payment('p_qr', { method: 'qr', network_reference: 'QR123' }),
        // Another merchant's sale.
        payment('p_other', { merchant_id: OTHER, network_reference: rrn(7) }),
      ])
      .execute();
    await store.db
      .insertInto('refunds')
      .values([
        // Created yesterday, in review overnight, sent today: today's file.
        refund('r_ok', 'p_sale', { network_reference: rrn(10), created_at: '2026-03-09T20:00:00.000Z' }),
        // Declined by the network: kept, not standing.
        refund('r_failed', 'p_sale', { network_reference: rrn(11), status: 'failed', response_code: '51' }),
        // Paid in cash by the merchant, and a refund not yet at the network.
        refund('r_cash', 'p_sale', { method: 'cash', network_reference: 'CASH-1' }),
        refund('r_waiting', 'p_sale', { status: 'approved', network_reference: null }),
      ])
      .execute();
    await store.db
      .insertInto('link_attempts')
      .values([
        attempt('la_1', 'sale', 'p_sale', rrn(1), `${DAY}T02:59:59.900Z`),
        attempt('la_2', 'sale', 'p_void', rrn(2), `${DAY}T02:59:59.900Z`),
        attempt('la_3', 'void', 'void_p_void', rrn(8), `${DAY}T03:09:59.900Z`),
        attempt('la_4', 'sale', 'p_edge', rrn(3), '2026-03-09T23:59:59.990Z'),
        attempt('la_5', 'refund', 'r_ok', rrn(10), `${DAY}T09:00:00.000Z`),
        attempt('la_6', 'refund', 'r_failed', rrn(11), `${DAY}T05:00:00.100Z`, { response_code: '51' }),
        // A reversed attempt of the same refund: no answer, no RRN, ignored.
        attempt('la_7', 'refund', 'r_ok', '', `${DAY}T08:59:00.000Z`, { state: 'reversed', reference: null }),
      ])
      .execute();
  });

  afterAll(async () => {
    await store?.close();
  });

  it('holds card sales, voids and card refunds by the time they went to the network', async () => {
    const rows = await ledgerRowsForDay(store.db, M, settlementDayWindow(DAY));
    expect(rows.map((r) => [r.kind, r.reference, r.status, r.amountMinor, r.at])).toEqual([
      ['sale', rrn(3), 'captured', 10_000, '2026-03-09T23:59:59.990Z'],
      ['sale', rrn(1), 'captured', 25_800, `${DAY}T02:59:59.900Z`],
      ['sale', rrn(2), 'voided', 10_000, `${DAY}T02:59:59.900Z`],
      ['sale', rrn(6), 'captured', 700, `${DAY}T03:00:00.000Z`],
      ['void', rrn(8), 'voided', 10_000, `${DAY}T03:09:59.900Z`],
      ['refund', rrn(11), 'failed', 994, `${DAY}T05:00:00.100Z`],
      ['refund', rrn(10), 'succeeded', 994, `${DAY}T09:00:00.000Z`],
    ]);
    const v = rows.find((r) => r.kind === 'void');
    expect(v).toMatchObject({ originalReference: rrn(2), paymentId: 'p_void' });
    expect(rows.find((r) => r.refundId === 'r_ok')).toMatchObject({ originalReference: rrn(1) });
  });

  it('reconciles the day balanced against the matching file, stores the run and reads it back', async () => {
    const rows = await ledgerRowsForDay(store.db, M, settlementDayWindow(DAY));
    // The edge sale was booked by the network after midnight: in this day's file.
    const file = rows
      .filter((r) => r.status !== 'failed')
      .map((r) => networkOf(r, { createdAt: r.at < `${DAY}T00` ? `${DAY}T00:00:00.004Z` : r.at }));
    const prepared = await reconcileDay({ store }, M, DAY, {
      source: 'upload',
      origin: 'test',
      lines: linesOf(csvOf(file)),
    });
    expect(prepared.result.mismatches).toEqual([]);
    expect(prepared.result.matched).toBe(6);
    const clock = () => new Date(`${DAY}T12:00:00.000Z`);
    const view = await store.tx((trx) => recordReconciliation({ store, clock }, trx, caller, prepared));
    expect(view).toMatchObject({
      day: DAY,
      source: 'upload',
      balanced: true,
      matched: 6,
      mismatchCount: 0,
      invalidRowCount: 0,
      mismatches: [],
      createdBy: 'op:00',
      createdAt: `${DAY}T12:00:00.000Z`,
    });
    // The edge sale, matched through the look-back, counts on both sides.
    expect(view.totals.network.sales).toEqual({ count: 4, amount: 46_500 });
    expect(view.totals.ledger).toEqual({
      sales: { count: 4, amount: 46_500 },
      voids: { count: 1, amount: 10_000 },
      refunds: { count: 1, amount: 994 },
    });
    const ctx = { store } as Parameters<typeof getReconciliation>[0];
    expect(await getReconciliation(ctx, caller, view.id)).toEqual(view);

    const second = await reconcileDay({ store }, M, DAY, {
      source: 'upload',
      origin: 'test',
      // Without sale 1 (the edge sale, file[0], would be the previous day's to report).
      lines: linesOf(csvOf([...file.filter((r) => r.rrn !== rrn(1)), 'bad,row'])),
    });
    const later = () => new Date(`${DAY}T13:00:00.000Z`);
    const run2 = await store.tx((trx) => recordReconciliation({ store, clock: later }, trx, caller, second));
    expect(run2).toMatchObject({ balanced: false, mismatchCount: 1, invalidRowCount: 1 });
    expect(run2.mismatches[0]).toMatchObject({ kind: 'missing_in_network', reference: rrn(1) });
    expect(run2.mismatches[0]?.ledgerRow).toMatchObject({ amount: 25_800, paymentId: 'p_sale' });
    expect(run2.invalidRows).toEqual([
      { line: file.length + 1, detail: `line ${file.length + 1}: 2 columns, expected 11` },
    ]);

    const list = await listReconciliations(ctx, caller, { limit: 1 });
    expect(list.data.map((r) => r.id)).toEqual([run2.id]);
    expect(list.data[0]).not.toHaveProperty('mismatches');
    const rest = await listReconciliations(ctx, caller, { limit: 5, cursor: list.nextCursor ?? '' });
    expect(rest.data.map((r) => r.id)).toEqual([view.id]);
    const audit = await store.db
      .selectFrom('audit_log')
      .select(['action', 'entity_id'])
      .where('action', '=', 'reconciliation.run')
      .execute();
    expect(audit.map((a) => a.entity_id).sort()).toEqual([view.id, run2.id].sort());
  });

  it('does not show one merchant the runs of another', async () => {
    const ctx = { store } as Parameters<typeof getReconciliation>[0];
    const other = { ...caller, merchantId: OTHER };
    expect((await listReconciliations(ctx, other, { limit: 10 })).data).toEqual([]);
    const [mine] = (await listReconciliations(ctx, caller, { limit: 1 })).data;
    await expect(getReconciliation(ctx, other, mine?.id ?? '')).rejects.toMatchObject({ code: 'not_found' });
    await expect(
      listReconciliations(ctx, { ...caller, principal: 'cashier' }, { limit: 1 }),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });
});
