import { CompiledQuery, type KyselyPlugin, type QueryId, type RootOperationNode, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settlementDayWindow } from '../../src/domain/reconcile.js';
import { listAudit } from '../../src/service/audit.js';
import type { Caller, Ctx } from '../../src/service/context.js';
import { getOrder } from '../../src/service/orders.js';
import { listPayments } from '../../src/service/payments.js';
import { ledgerRowsForDay } from '../../src/service/reconciliation.js';
import { listRefunds } from '../../src/service/refunds.js';
import { listSettlements, localBatch } from '../../src/service/settlements.js';
import { encodeCursor } from '../../src/service/views.js';
import { SYSTEM_CHAIN } from '../../src/store/audit.js';
import { migrate, openStore, type Store } from '../../src/store/db.js';
import { storeTargets } from '../support/stores.js';

/**
 * The lists and lookups read one page through an index whatever the size of the books (issue 10,
 * "Growth"): each query the service sends is explained on the real store, and its plan must read
 * refunds and payments through an index, never a whole table, and in index order, never sorting
 * the merchant's rows. Plans, not timings: deterministic on any machine.
 */
const M = '898100000000001';
const OTHER = '898100000000002';
const AT = '2026-03-10T04:00:00.000Z';

/** Every query a service call sends, as the store's executor compiles it. */
class CaptureQueries implements KyselyPlugin {
  readonly seen: { node: RootOperationNode; queryId: QueryId }[] = [];
  transformQuery(args: { node: RootOperationNode; queryId: QueryId }): RootOperationNode {
    this.seen.push(args);
    return args.node;
  }
  async transformResult<R>(args: { result: R }): Promise<R> {
    return args.result;
  }
}

interface Plan {
  /** SQLite: the EXPLAIN QUERY PLAN lines; PostgreSQL: one line per plan node. */
  lines: string[];
}

async function explain(store: Store, query: CompiledQuery, opts: { sortAllowed: boolean }): Promise<Plan> {
  if (store.dialect === 'sqlite') {
    const r = await store.db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
    );
    return { lines: r.rows.map((row) => row.detail) };
  }
  // Seq scans, bitmap scans and sorts cost the planner dearly here, so a plan that still has one
  // has no index to offer instead: what is left is what the indexes can do, at any table size.
  return store.tx(async (trx) => {
    const settings = ['enable_seqscan', 'enable_bitmapscan', ...(opts.sortAllowed ? [] : ['enable_sort'])];
    for (const setting of settings) await sql`select set_config(${setting}, 'off', true)`.execute(trx);
    const r = await trx.executeQuery<{ 'QUERY PLAN': unknown }>(
      CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]),
    );
    const [top] = (r.rows[0]?.['QUERY PLAN'] ?? []) as { Plan: PgNode }[];
    if (!top) throw new Error(`no plan for ${query.sql}`);
    const lines: string[] = [];
    const walk = (n: PgNode) => {
      lines.push(
        [n['Node Type'], n['Relation Name'], n['Index Name'], n['Index Cond']].filter(Boolean).join(' '),
      );
      for (const child of n.Plans ?? []) walk(child);
    };
    walk(top.Plan);
    return { lines };
  });
}

interface PgNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PgNode[];
}

const ledgerTables = ['refunds', 'payments'];

/**
 * A whole-table read (or a walk of a whole index) of one of `tables`: SQLite names a table by its
 * alias in the query, PostgreSQL by the table's own name.
 */
function fullScans(store: Store, plan: Plan, tables = ledgerTables): string[] {
  return plan.lines.filter((l) =>
    store.dialect === 'sqlite'
      ? tables.some((t) => new RegExp(`^SCAN ${t}\\b`).test(l))
      : tables.some((t) => l.startsWith(`Seq Scan ${t}`) || l.startsWith(`Bitmap Heap Scan ${t}`)) ||
        tables.some((t) => new RegExp(`^Index (Only )?Scan ${t} [a-z_]+$`).test(l)),
  );
}

/** A sort of the rows read (the index did not give them in the page's order). */
function sorts(store: Store, plan: Plan): string[] {
  return plan.lines.filter((l) =>
    store.dialect === 'sqlite' ? /USE TEMP B-TREE FOR ORDER BY/.test(l) : /^(Sort|Incremental Sort)/.test(l),
  );
}

/** The plan line that reads `table` through an index, with the index's range conditions. */
function indexRange(store: Store, plan: Plan, table: string): string {
  const line = plan.lines.find((l) =>
    store.dialect === 'sqlite'
      ? new RegExp(`^SEARCH ${table} USING (COVERING )?INDEX`).test(l)
      : /^Index (Only )?Scan/.test(l) && l.includes(` ${table} `),
  );
  return line ?? `(no index read of ${table})`;
}

function invariantList(plan: (Plan & { sql: string }) | undefined): asserts plan is Plan & { sql: string } {
  if (!plan) throw new Error('the call sent no query');
}

describe.each(storeTargets)('list and lookup plans on $name', (target) => {
  let store: Store;
  const caller: Caller = {
    merchantId: M,
    principal: 'admin',
    actor: 'op:00',
    operatorId: null,
    operatorNo: '00',
    terminalId: 'T0000001',
  };

  /** The compiled queries one service call sends. */
  async function queriesOf(call: (ctx: Ctx) => Promise<unknown>): Promise<CompiledQuery[]> {
    const capture = new CaptureQueries();
    // The list and lookup services read through ctx.store.db alone (no transaction, no lock).
    const ctx = {
      store: { ...store, db: store.db.withPlugin(capture) },
      clock: () => new Date(),
    } as unknown as Ctx;
    await call(ctx);
    return capture.seen.map((q) => store.db.getExecutor().compileQuery(q.node, q.queryId));
  }

  async function plansOf(call: (ctx: Ctx) => Promise<unknown>, opts = { sortAllowed: false }) {
    const plans = [];
    for (const query of await queriesOf(call))
      plans.push({ sql: query.sql, ...(await explain(store, query, opts)) });
    return plans;
  }

  beforeAll(async () => {
    store = openStore(await target.freshUrl());
    await migrate(store);
    for (const id of [M, OTHER]) {
      await store.db
        .insertInto('merchants')
        .values({
          id,
          name: id,
          currency: 'CNY',
          available_funds_minor: 0,
          policy_json: '{}',
          created_at: AT,
        })
        .execute();
    }
    // A few hundred rows of two merchants: enough that every index has entries to choose from.
    for (const merchant of [M, OTHER]) {
      const payments = Array.from({ length: 200 }, (_, i) => {
        const at = new Date(Date.parse(AT) + i * 60_000).toISOString();
        return {
          id: `pay_${merchant}_${i}`,
          merchant_id: merchant,
          terminal_id: 'T0000001',
          order_no: `O-${i}`,
          kind: 'sale' as const,
          parent_payment_id: null,
          amount_minor: 10_000,
          currency: 'CNY',
          method: 'card' as const,
          fee_minor: 60,
          card_bin: '622202',
          card_last4: String(1000 + (i % 10)),
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
        };
      });
      await store.db.insertInto('payments').values(payments).execute();
      await store.db
        .insertInto('refunds')
        .values(
          payments.map((p, i) => ({
            id: `re_${p.id}`,
            merchant_id: merchant,
            payment_id: p.id,
            order_no: p.order_no,
            terminal_id: 'T0000001',
            amount_minor: 1_000,
            fee_minor: 6,
            net_amount_minor: 994,
            merchant_fee_returned_minor: 6,
            currency: 'CNY',
            reason_code: 'quality_issue',
            reason_note: null,
            method: 'original' as const,
            status: i % 3 === 0 ? ('failed' as const) : ('succeeded' as const),
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
          })),
        )
        .execute();
    }
    await store.db
      .insertInto('link_attempts')
      .values(
        Array.from({ length: 100 }, (_, i) => ({
          id: `la_${i}`,
          merchant_id: M,
          kind: i % 2 === 0 ? ('sale' as const) : ('refund' as const),
          ref_id: i % 2 === 0 ? `pay_${M}_${i}` : `re_pay_${M}_${i}`,
          terminal_id: 'T0000001',
          stan: String(i).padStart(6, '0'),
          batch_no: '000001',
          request_json: '{}',
          state: 'answered' as const,
          response_code: '00',
          reference: null,
          created_at: new Date(Date.parse(AT) + i * 60_000 - 100).toISOString(),
          updated_at: AT,
        })),
      )
      .execute();
    // Closed batches: a month of two terminals of each merchant.
    const zero = { count: 0, amountMinor: 0 };
    for (const merchant of [M, OTHER]) {
      await store.db
        .insertInto('settlements')
        .values(
          Array.from({ length: 60 }, (_, i) => ({
            id: `stl_${merchant}_${i}`,
            merchant_id: merchant,
            terminal_id: merchant === M ? `T000000${1 + (i % 2)}` : `T900000${1 + (i % 2)}`,
            batch_no: 1 + Math.floor(i / 2),
            totals_json: JSON.stringify({ sales: zero, voids: zero, refunds: zero, cash: zero }),
            network_totals_json: JSON.stringify({ sales: zero, voids: zero, refunds: zero }),
            balanced: 1,
            created_by: 'op:00',
            created_at: new Date(Date.parse(AT) + i * 3_600_000).toISOString(),
          })),
        )
        .execute();
    }
    // Each merchant's audit chain (its own numbering, as store/audit.ts appends), and the system's.
    for (const chain of [M, OTHER, SYSTEM_CHAIN]) {
      await store.db
        .insertInto('audit_log')
        .values(
          Array.from({ length: 200 }, (_, i) => ({
            chain_id: chain,
            seq: i + 1,
            merchant_id: chain === SYSTEM_CHAIN ? null : chain,
            actor: `op:0${i % 3}`,
            action: ['refund.created', 'refund.approved', 'policy.changed'][i % 3] as string,
            entity: i % 3 === 2 ? 'merchant' : 'refund',
            entity_id: i % 3 === 2 ? chain : `re_${i}`,
            data_json: '{}',
            at: new Date(Date.parse(AT) + i * 60_000).toISOString(),
            prev_hash: '0'.repeat(64),
            hash: '0'.repeat(64),
          })),
        )
        .execute();
    }
    // PostgreSQL plans from statistics (autovacuum keeps them in production); SQLite has none
    // unless ANALYZE is run, which the store never does.
    if (store.dialect === 'postgres') await sql`analyze`.execute(store.db);
  });

  afterAll(async () => {
    await store?.close();
  });

  const cursor = encodeCursor({
    createdAt: new Date(Date.parse(AT) + 100 * 60_000).toISOString(),
    id: 're_x',
  });
  /** Each list call, the table it pages and the columns its index range must be bounded by. */
  const pages: [string, (ctx: Ctx) => Promise<unknown>, string, string[]][] = [
    ['the first page of refunds', (ctx) => listRefunds(ctx, caller, { limit: 50 }), 'refunds', []],
    [
      'a deep page of refunds',
      (ctx) => listRefunds(ctx, caller, { limit: 50, cursor }),
      'refunds',
      ['created_at'],
    ],
    [
      'refunds of a status',
      (ctx) => listRefunds(ctx, caller, { limit: 50, status: 'failed' }),
      'refunds',
      ['status'],
    ],
    [
      'a deep page of refunds of a status',
      (ctx) => listRefunds(ctx, caller, { limit: 50, status: 'failed', cursor }),
      'refunds',
      ['status', 'created_at'],
    ],
    [
      'the refunds of an order',
      (ctx) => listRefunds(ctx, caller, { limit: 50, orderNo: 'O-7' }),
      'refunds',
      ['order_no'],
    ],
    ['the first page of payments', (ctx) => listPayments(ctx, caller, { limit: 50 }), 'payments', []],
    [
      'a deep page of payments',
      (ctx) => listPayments(ctx, caller, { limit: 50, cursor }),
      'payments',
      ['created_at'],
    ],
    [
      'the payments of an order',
      (ctx) => listPayments(ctx, caller, { limit: 50, orderNo: 'O-7' }),
      'payments',
      ['order_no'],
    ],
    [
      'payments by card last four',
      (ctx) => listPayments(ctx, caller, { limit: 50, last4: '1003' }),
      'payments',
      ['card_last4'],
    ],
  ];

  it.each(pages)(
    'reads %s from an index range in page order, never the whole table',
    async (_, call, table, seek) => {
      const plans = await plansOf(call);
      const [list] = plans;
      invariantList(list);
      expect(list.sql).toMatch(/order by "created_at" desc, "id" desc/);
      for (const plan of plans) expect(fullScans(store, plan), plan.sql).toEqual([]);
      expect(sorts(store, list), list.lines.join('\n')).toEqual([]);
      // The range starts at the merchant, the filter and the cursor: a page never walks the rows
      // of other merchants, other statuses or newer pages to find its own.
      const range = indexRange(store, list, table);
      for (const column of ['merchant_id', ...seek]) expect(range, list.lines.join('\n')).toContain(column);
    },
  );

  const queue =
    (extra: { cursor?: string } = {}) =>
    (ctx: Ctx) =>
      listRefunds(ctx, caller, {
        limit: 50,
        status: ['requested', 'under_review'],
        order: 'oldest',
        ...extra,
      });
  it.each([
    ['its first page', queue(), ['status']],
    ['a deep page', queue({ cursor }), ['status', 'created_at']],
  ] as const)(
    'reads the review queue (two statuses, oldest first) one index range per status: %s',
    async (_, call, seek) => {
      const plans = await plansOf(call);
      expect(plans).toHaveLength(2);
      for (const plan of plans) {
        expect(plan.sql).toMatch(/"status" = .* order by "created_at" asc, "id" asc limit/);
        expect(fullScans(store, plan), plan.sql).toEqual([]);
        expect(sorts(store, plan), plan.lines.join('\n')).toEqual([]);
        const range = indexRange(store, plan, 'refunds');
        for (const column of ['merchant_id', ...seek]) expect(range, plan.lines.join('\n')).toContain(column);
      }
    },
  );

  it.each([
    ['the merchant’s', {}, []],
    ['one terminal’s', { terminalId: 'T0000001' }, ['terminal_id']],
    ['a deep page of one terminal’s', { terminalId: 'T0000001', cursor }, ['terminal_id', 'created_at']],
  ] as const)('reads %s closed batches from an index range in page order', async (_, filter, seek) => {
    const plans = await plansOf((ctx) => listSettlements(ctx, caller, { limit: 20, ...filter }));
    const [list] = plans;
    invariantList(list);
    expect(plans).toHaveLength(1);
    expect(fullScans(store, list, ['settlements']), list.lines.join('\n')).toEqual([]);
    expect(sorts(store, list), list.lines.join('\n')).toEqual([]);
    const range = indexRange(store, list, 'settlements');
    for (const column of ['merchant_id', ...seek]) expect(range, list.lines.join('\n')).toContain(column);
  });

  const auditFrom = new Date(Date.parse(AT) + 30 * 60_000).toISOString();
  const auditTo = new Date(Date.parse(AT) + 150 * 60_000).toISOString();
  it.each([
    ['the first page of', {}, []],
    ['a deep page of', { cursor: '120' }, ['seq']],
    [
      'a filtered page (time, action, actor, entity) of',
      { from: auditFrom, to: auditTo, action: 'refund.created', actor: 'op:00', entity: 'refund' },
      [],
    ],
    ['a deep page of one entity’s entries in', { entityId: 're_99', cursor: '150' }, ['seq']],
  ] as const)(
    'reads %s the audit log along the merchant’s chain key, in page order',
    async (_, filter, seek) => {
      const plans = await plansOf((ctx) => listAudit(ctx, caller, { limit: 50, ...filter }));
      const [list] = plans;
      invariantList(list);
      expect(plans).toHaveLength(1);
      expect(list.sql).toMatch(/order by "seq" desc limit/);
      expect(fullScans(store, list, ['audit_log']), list.lines.join('\n')).toEqual([]);
      expect(sorts(store, list), list.lines.join('\n')).toEqual([]);
      // The range starts at the merchant's chain (and the cursor): never the global seq index,
      // which would walk every merchant's entries to find this one's.
      const range = indexRange(store, list, 'audit_log');
      for (const column of ['chain_id', ...seek]) expect(range, list.lines.join('\n')).toContain(column);
    },
  );

  it('reads an order’s timeline sources by the order’s own ids, one query each', async () => {
    const plans = await plansOf((ctx) => getOrder(ctx, caller, 'O-7'), { sortAllowed: true });
    for (const table of ['refund_events', 'link_attempts', 'receipt_prints', 'receipt_sends']) {
      const reads = plans.filter((p) => new RegExp(`from "${table}"`).test(p.sql));
      expect(reads, table).toHaveLength(1);
      for (const plan of reads) {
        expect(fullScans(store, plan, [table]), plan.lines.join('\n')).toEqual([]);
        expect(plan.sql).toMatch(/"merchant_id" = /);
      }
    }
  });

  it('looks an order up through the order-number indexes', async () => {
    const plans = await plansOf((ctx) => getOrder(ctx, caller, 'O-7'), { sortAllowed: true });
    // An order's payments and refunds are a handful: sorting those by id is bounded by the order,
    // not by the books; finding them must not walk the merchant's other orders.
    for (const table of ledgerTables) {
      const reads = plans.filter((p) => new RegExp(`from "${table}"`).test(p.sql));
      expect(reads.length, table).toBeGreaterThan(0);
      for (const plan of reads) {
        expect(fullScans(store, plan), plan.sql).toEqual([]);
        expect(indexRange(store, plan, table), plan.lines.join('\n')).toContain('order_no');
      }
    }
  });

  it('reads a settlement day by index ranges, and finds each row’s attempt by its key', async () => {
    const plans = await plansOf(
      (ctx) => ledgerRowsForDay(ctx.store.db, M, settlementDayWindow('2026-03-10')),
      {
        sortAllowed: true,
      },
    );
    expect(plans).toHaveLength(6);
    const tables = store.dialect === 'sqlite' ? ['p', 'r', 'la'] : [...ledgerTables, 'link_attempts'];
    for (const plan of plans) {
      expect(fullScans(store, plan, tables), plan.lines.join('\n')).toEqual([]);
      // An attempt is found by the day's time range or by the row it belongs to; an index on
      // (merchant, kind) alone would walk all of the merchant's attempts for every row. SQLite,
      // never ANALYZEd, plans from the indexes' shape alone, so its plan is pinned here;
      // PostgreSQL picks by table size (a merge join on a table this small).
      const attemptReads = plan.lines.filter((l) => store.dialect === 'sqlite' && /^SEARCH la /.test(l));
      for (const read of attemptReads) expect(read, plan.lines.join('\n')).toMatch(/created_at|ref_id/);
    }
  });

  it('finds a terminal’s open batch through the unsettled rows only', async () => {
    const plans = await plansOf((ctx) => localBatch(ctx.store.db, M, 'T0000001'), { sortAllowed: true });
    expect(plans).toHaveLength(2);
    for (const [plan, table] of [
      [plans[0], 'payments'],
      [plans[1], 'refunds'],
    ] as const) {
      invariantList(plan);
      expect(fullScans(store, plan), plan.sql).toEqual([]);
      expect(indexRange(store, plan, table), plan.lines.join('\n')).toMatch(/_open_batch\b.*terminal_id/);
    }
  });
});
