import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linesOf, type NetworkKind } from '../../src/domain/reconcile.js';
import type { Caller, Ctx } from '../../src/service/context.js';
import { reconcileDay, recordReconciliation } from '../../src/service/reconciliation.js';
import { recordSettlement, SETTLE_CHUNK_ROWS } from '../../src/service/settlements.js';
import { migrate, openStore, type Store } from '../../src/store/db.js';
import type { LinkAttemptTable, PaymentTable, RefundTable } from '../../src/store/schema.js';
import { type CsvRow, csvOf } from '../reconciliation/support.js';
import { storeTargets } from '../support/stores.js';

/**
 * Settlement of a batch and reconciliation of a day cost a fixed number of statements, plus one
 * per chunk of rows written (issue 10, "Growth": linear in the rows, whatever the size of the
 * books). Counted at the driver, so the proof does not depend on timing; and every total and
 * mismatch is checked against figures computed here from the rows seeded.
 */
const M = '898100000000001';
const SETTLE_DAY = '2026-03-12';

/**
 * Statements the database runs, counted where both drivers run them: a better-sqlite3 statement's
 * `all`/`run` (the store caches prepared statements, so each run is counted, not each prepare),
 * a node-postgres client's `query`. The store builds its own driver, so the count hooks the
 * drivers' prototypes (restored after the suite).
 */
let counted = 0;
let counting = false;
const probe = new SqliteDatabase(':memory:');
const sqliteStatement = Object.getPrototypeOf(probe.prepare('select 1')) as Record<
  'all' | 'run' | 'get' | 'iterate',
  (...args: unknown[]) => unknown
>;
const sqliteRuns = (['all', 'run', 'get', 'iterate'] as const).map(
  (name) => [name, sqliteStatement[name]] as const,
);
probe.close();
const pgQuery = pg.Client.prototype.query;

function hookDrivers(): void {
  for (const [name, run] of sqliteRuns) {
    sqliteStatement[name] = function (this: unknown, ...args: unknown[]) {
      if (counting) counted++;
      return run.apply(this, args);
    };
  }
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    if (counting) counted++;
    return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pgQuery;
}

function unhookDrivers(): void {
  for (const [name, run] of sqliteRuns) sqliteStatement[name] = run;
  pg.Client.prototype.query = pgQuery;
}

async function statementsOf<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  counted = 0;
  counting = true;
  try {
    const result = await fn();
    return { result, statements: counted };
  } finally {
    counting = false;
  }
}

const caller: Caller = {
  merchantId: M,
  principal: 'admin',
  actor: 'op:00',
  operatorId: null,
  operatorNo: '00',
  terminalId: null,
};

function payment(id: string, over: Partial<PaymentTable>): PaymentTable {
  const at = `${SETTLE_DAY}T03:00:00.000Z`;
  return {
    id,
    merchant_id: M,
    terminal_id: null,
    order_no: `O-${id}`,
    kind: 'sale',
    parent_payment_id: null,
    amount_minor: 10_000,
    currency: 'CNY',
    method: 'card',
    fee_minor: 0,
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
    captured_at: at,
    created_at: at,
    updated_at: at,
    ...over,
  };
}

function refund(id: string, p: PaymentTable, over: Partial<RefundTable>): RefundTable {
  return {
    id,
    merchant_id: M,
    payment_id: p.id,
    order_no: p.order_no,
    terminal_id: p.terminal_id,
    amount_minor: 300,
    fee_minor: 2,
    net_amount_minor: 298,
    merchant_fee_returned_minor: 2,
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
    expected_arrival: p.created_at,
    network_reference: null,
    response_code: '00',
    created_by: 'op:01',
    settlement_id: null,
    created_day: p.created_at.slice(0, 10),
    created_at: p.created_at,
    updated_at: p.created_at,
    handed_off_at: null,
    ...over,
  };
}

function attempt(
  id: string,
  kind: NetworkKind,
  refId: string,
  reference: string | null,
  at: string,
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
  };
}

async function insertChunked<T>(rows: T[], insert: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) await insert(rows.slice(i, i + 200));
}

type Tally = { count: number; amount: number };
const tally = (rows: { amount: number }[]): Tally => ({
  count: rows.length,
  amount: rows.reduce((s, r) => s + r.amount, 0),
});

/**
 * One terminal's open batch of `transactions` rows: 90 % payments (card, QR and cash, every tenth
 * voided), 10 % refunds (every fourth paid in cash, every fifth failed), with the totals worked
 * out here from the rows themselves.
 */
function openBatch(terminalId: string, transactions: number) {
  const methods = ['card', 'qr', 'cash'] as const;
  const payments = Array.from({ length: (transactions * 9) / 10 }, (_, i) =>
    payment(`pay_${terminalId}_${i}`, {
      terminal_id: terminalId,
      amount_minor: 1_000 + (i % 97),
      method: methods[i % 3],
      voided: i % 10 === 0 ? 1 : 0,
    }),
  );
  const refunds = Array.from({ length: transactions / 10 }, (_, i) => {
    const p = payments[i * 9 + 1] as PaymentTable;
    return refund(`re_${terminalId}_${i}`, p, {
      net_amount_minor: 298 - (i % 7),
      fee_minor: 2 + (i % 7),
      method: i % 4 === 0 ? 'cash' : 'original',
      status: i % 5 === 0 ? 'failed' : 'succeeded',
    });
  });
  const amount = (p: PaymentTable) => ({ amount: Number(p.amount_minor) });
  const succeeded = refunds.filter((r) => r.status === 'succeeded');
  const methodOf = new Map(payments.map((p) => [p.id, p.method]));
  const network = payments.filter((p) => p.method !== 'cash');
  const view = (t: Tally) => ({ count: t.count, amount: t.amount });
  const expected = {
    totals: {
      sales: view(tally(payments.filter((p) => p.voided === 0).map(amount))),
      voids: view(tally(payments.filter((p) => p.voided === 1).map(amount))),
      refunds: view(tally(succeeded.map((r) => ({ amount: Number(r.net_amount_minor) })))),
      cash: view(tally(payments.filter((p) => p.voided === 0 && p.method === 'cash').map(amount))),
    },
    local: {
      sales: view(tally(network.filter((p) => p.voided === 0).map(amount))),
      voids: view(tally(network.filter((p) => p.voided === 1).map(amount))),
      refunds: view(
        tally(
          succeeded
            .filter((r) => r.method === 'original' && methodOf.get(r.payment_id) !== 'cash')
            .map((r) => ({ amount: Number(r.net_amount_minor) })),
        ),
      ),
    },
  };
  return { payments, refunds, settledRefunds: succeeded.length, expected };
}

/**
 * One settlement day of `lines` network rows: card sales (every other one with its link attempt,
 * the rest on their own time), voids of every tenth sale and refunds (again half with attempts),
 * and the network's file with planted differences of every kind, the result worked out here.
 */
function settlementDay(day: string, lines: number) {
  const at = (i: number) => new Date(Date.parse(`${day}T01:00:00.000Z`) + i * 1_000).toISOString();
  const before = (iso: string) => new Date(Date.parse(iso) - 100).toISOString();
  const tag = day.replaceAll('-', '').slice(2);
  const ref = (kind: string, i: number) => `${tag}${kind}${String(i).padStart(5, '0')}`;
  const sales = (lines * 8) / 10;
  const payments: PaymentTable[] = [];
  const refunds: RefundTable[] = [];
  const attempts: LinkAttemptTable[] = [];
  const file: CsvRow[] = [];
  const expected = {
    matched: 0,
    missing_in_ledger: 0,
    missing_in_network: 0,
    amount_differs: 0,
    status_differs: 0,
  };
  const row = (
    kind: NetworkKind,
    rrn: string,
    amountMinor: number,
    created: string,
    over: Partial<CsvRow> = {},
  ) =>
    file.push({
      rrn,
      terminalId: 'T0000001',
      stan: '000001',
      batchNo: '000001',
      kind,
      amountMinor,
      currency: 'CNY',
      originalRrn: null,
      status: 'approved',
      responseCode: '00',
      createdAt: created,
      ...over,
    });
  for (let i = 0; i < sales; i++) {
    const voided = i % 10 === 5;
    const p = payment(`pay_${tag}_${i}`, {
      network_reference: ref('S', i),
      amount_minor: 2_000 + (i % 13),
      created_at: at(i),
      voided: voided ? 1 : 0,
      voided_at: voided ? at(i + 1) : null,
    });
    payments.push(p);
    if (i % 2 === 0) attempts.push(attempt(`la_${p.id}`, 'sale', p.id, ref('S', i), before(p.created_at)));
    if (i % 100 === 3) expected.missing_in_network++;
    else if (i % 100 === 4) {
      row('sale', ref('S', i), 2_001 + (i % 13), p.created_at);
      expected.amount_differs++;
    } else {
      row('sale', ref('S', i), 2_000 + (i % 13), p.created_at);
      expected.matched++;
    }
    if (voided) {
      const voidedAt = p.voided_at as string;
      if (i % 20 === 5)
        attempts.push(attempt(`la_void_${p.id}`, 'void', `void_${p.id}`, ref('V', i), before(voidedAt)));
      row('void', ref('V', i), 2_000 + (i % 13), voidedAt, { originalRrn: ref('S', i) });
      expected.matched++;
    }
  }
  for (let i = 0; i < lines / 10; i++) {
    const p = payments[i * 8] as PaymentTable;
    const r = refund(`re_${tag}_${i}`, p, {
      network_reference: ref('R', i),
      created_at: at(sales + i),
      net_amount_minor: 298,
    });
    refunds.push(r);
    if (i % 2 === 1) attempts.push(attempt(`la_${r.id}`, 'refund', r.id, ref('R', i), before(r.created_at)));
    const reversed = i % 50 === 7;
    row('refund', ref('R', i), 298, r.created_at, {
      originalRrn: ref('S', i * 8),
      status: reversed ? 'reversed' : 'approved',
    });
    if (reversed) expected.status_differs++;
    else expected.matched++;
  }
  for (let i = 0; i < lines / 100; i++) {
    row('sale', ref('X', i), 500, at(i));
    expected.missing_in_ledger++;
  }
  return { payments, refunds, attempts, csv: csvOf(file), rows: file.length, expected };
}

describe.each(storeTargets)('settlement and reconciliation in batches on $name', (target) => {
  let store: Store;
  let clockMs = Date.parse('2026-03-13T00:00:00.000Z');
  // recordSettlement and the reconciliation read the store and the clock of the context only.
  const ctx = () => ({ store, clock: () => new Date(clockMs++) }) as unknown as Ctx;

  beforeAll(async () => {
    hookDrivers();
    store = openStore(await target.freshUrl());
    await migrate(store);
    await store.db
      .insertInto('merchants')
      .values({
        id: M,
        name: M,
        currency: 'CNY',
        available_funds_minor: 0,
        policy_json: '{}',
        created_at: '2026-01-01T00:00:00.000Z',
      })
      .execute();
  });

  afterAll(async () => {
    unhookDrivers();
    await store?.close();
  });

  async function seedBatch(terminalId: string, transactions: number) {
    await store.db
      .insertInto('terminals')
      .values({
        id: terminalId,
        merchant_id: M,
        name: terminalId,
        batch_no: 1,
        created_at: '2026-01-01T00:00:00.000Z',
      })
      .execute();
    const batch = openBatch(terminalId, transactions);
    await insertChunked(batch.payments, (c) => store.db.insertInto('payments').values(c).execute());
    await insertChunked(batch.refunds, (c) => store.db.insertInto('refunds').values(c).execute());
    return batch;
  }

  async function settle(
    terminalId: string,
    batchNo: number,
    local: { sales: Tally; voids: Tally; refunds: Tally },
  ) {
    const totals = {
      sales: { count: local.sales.count, amountMinor: local.sales.amount },
      voids: { count: local.voids.count, amountMinor: local.voids.amount },
      refunds: { count: local.refunds.count, amountMinor: local.refunds.amount },
    };
    return statementsOf(() =>
      store.tx((trx) => recordSettlement(ctx(), trx, caller, terminalId, { batchNo, totals })),
    );
  }

  it('settles a batch of 1,000 and of 2,000 transactions to the totals of their rows, in statements that grow by chunks only', async () => {
    const chunks = (batch: ReturnType<typeof openBatch>) =>
      Math.ceil(Math.max(batch.payments.length, batch.settledRefunds) / SETTLE_CHUNK_ROWS);
    const runs = [];
    for (const [terminalId, transactions] of [
      ['T1000', 1_000],
      ['T2000', 2_000],
    ] as const) {
      const batch = await seedBatch(terminalId, transactions);
      const { result, statements } = await settle(terminalId, 1, batch.expected.local);
      expect(result.totals).toEqual(batch.expected.totals);
      expect(result.reconciliation).toMatchObject({
        balanced: true,
        differences: [],
        local: batch.expected.local,
      });
      const settled = await store.db
        .selectFrom('payments')
        .select(({ fn }) => fn.countAll<number>().as('n'))
        .where('settlement_id', '=', result.id)
        .executeTakeFirstOrThrow();
      const settledRefunds = await store.db
        .selectFrom('refunds')
        .select(({ fn }) => fn.countAll<number>().as('n'))
        .where('settlement_id', '=', result.id)
        .executeTakeFirstOrThrow();
      expect(Number(settled.n)).toBe(batch.payments.length);
      expect(Number(settledRefunds.n)).toBe(batch.settledRefunds);
      runs.push({ statements, chunks: chunks(batch) });
    }
    const [small, large] = runs as [(typeof runs)[0], (typeof runs)[0]];
    // Rows are marked in chunks of SETTLE_CHUNK_ROWS: more rows, more chunks, nothing per row.
    expect(large.statements - small.statements).toBeLessThanOrEqual(large.chunks - small.chunks);
    // And what is left is a fixed cost, not a per-row one.
    expect(small.statements - 2 * small.chunks).toBeLessThan(20);
  });

  it('leaves a settled batch closed: a second settlement of the terminal holds nothing', async () => {
    const { result } = await settle('T1000', 2, {
      sales: { count: 0, amount: 0 },
      voids: { count: 0, amount: 0 },
      refunds: { count: 0, amount: 0 },
    });
    expect(result.totals.sales).toEqual({ count: 0, amount: 0 });
    expect(result.totals.refunds).toEqual({ count: 0, amount: 0 });
    expect(result.reconciliation.balanced).toBe(true);
  });

  it('reconciles days of 1,000 and 2,000 lines to the mismatches planted, in the same number of statements', async () => {
    const runs = [];
    for (const [day, lines] of [
      ['2026-03-10', 1_000],
      ['2026-03-11', 2_000],
    ] as const) {
      const seeded = settlementDay(day, lines);
      await insertChunked(seeded.payments, (c) => store.db.insertInto('payments').values(c).execute());
      await insertChunked(seeded.refunds, (c) => store.db.insertInto('refunds').values(c).execute());
      await insertChunked(seeded.attempts, (c) => store.db.insertInto('link_attempts').values(c).execute());
      const { result: view, statements } = await statementsOf(async () => {
        const prepared = await reconcileDay(ctx(), M, day, {
          source: 'upload',
          origin: 'test',
          lines: linesOf(seeded.csv),
        });
        return store.tx((trx) => recordReconciliation(ctx(), trx, caller, prepared));
      });
      const kinds = Object.fromEntries(
        ['missing_in_ledger', 'missing_in_network', 'amount_differs', 'status_differs'].map((k) => [
          k,
          view.mismatches.filter((m) => m.kind === k).length,
        ]),
      );
      const { matched, ...mismatches } = seeded.expected;
      expect(view.totals.rows).toBe(seeded.rows);
      expect(view.matched).toBe(matched);
      expect(kinds).toEqual(mismatches);
      expect(view.invalidRowCount).toBe(0);
      runs.push(statements);
    }
    expect(runs[1]).toBe(runs[0]);
  });
});
