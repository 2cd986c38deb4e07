/**
 * The risk rules read the store under the merchant's lock on every refund batch while a rule is on
 * (issue 11): each read goes through an index that starts with the merchant (migration 0018),
 * never a whole table, whatever the size of the books. Plans, not timings (as list-plans.test.ts):
 * each query is explained on the real store, with PostgreSQL told that sequential and bitmap scans
 * cost too much, so what remains in its plan is what the indexes can do.
 */
import { CompiledQuery, type KyselyPlugin, type QueryId, type RootOperationNode, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openStore, type Store, type Tx } from '../../src/store/db.js';
import { cardOrdersRefundedOn, daySalesMinor, recentRefundTimes } from '../../src/store/repo.js';
import { storeTargets } from '../support/stores.js';

const M = '898100000000001';
const OTHER = '898100000000002';
const AT = '2026-03-10T04:00:00.000Z';

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

interface PgNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PgNode[];
}

/** One line per table read: `<how> <table> <index>` (SQLite's own words; PostgreSQL's node types). */
async function planOf(store: Store, query: CompiledQuery): Promise<string[]> {
  if (store.dialect === 'sqlite') {
    const r = await store.db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
    );
    return r.rows.map((row) => row.detail);
  }
  return store.tx(async (trx) => {
    for (const setting of ['enable_seqscan', 'enable_bitmapscan'])
      await sql`select set_config(${setting}, 'off', true)`.execute(trx);
    const r = await trx.executeQuery<{ 'QUERY PLAN': { Plan: PgNode }[] }>(
      CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]),
    );
    const lines: string[] = [];
    const walk = (n: PgNode) => {
      if (n['Relation Name'])
        lines.push([n['Node Type'], n['Relation Name'], n['Index Name']].filter(Boolean).join(' '));
      for (const child of n.Plans ?? []) walk(child);
    };
    const top = r.rows[0]?.['QUERY PLAN'][0];
    if (top) walk(top.Plan);
    return lines;
  });
}

describe.each(storeTargets)('risk rule reads on $name', (target) => {
  let store: Store;

  /** The plans of the statements one repo call sends. */
  async function plansOf(call: (db: Tx) => Promise<unknown>): Promise<string[][]> {
    const capture = new CaptureQueries();
    await call(store.db.withPlugin(capture) as Tx);
    const plans = [];
    for (const q of capture.seen)
      plans.push(await planOf(store, store.db.getExecutor().compileQuery(q.node, q.queryId)));
    return plans;
  }

  /** No table read whole: every line that reads refunds or payments names an index. */
  function throughIndexes(plan: string[]): void {
    const reads = plan.filter((l) => /\b(refunds|payments|latest|p|r)\b/.test(l));
    expect(reads.length, plan.join('\n')).toBeGreaterThan(0);
    for (const line of reads) {
      expect(line, plan.join('\n')).not.toMatch(/^(SCAN (refunds|payments|p|r)\b|Seq Scan)/);
    }
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
    // Enough rows of two merchants, cards and operators that each index has entries to choose from.
    for (const merchant of [M, OTHER]) {
      const payments = Array.from({ length: 300 }, (_, i) => {
        const at = new Date(Date.parse(AT) + i * 60_000).toISOString();
        return {
          id: `pay_${merchant}_${i}`,
          merchant_id: merchant,
          terminal_id: 'T0000001',
          order_no: `O-${i}`,
          kind: i % 7 === 0 ? ('charge' as const) : ('sale' as const),
          parent_payment_id: null,
          amount_minor: 10_000,
          currency: 'CNY',
          method: i % 2 === 0 ? ('card' as const) : ('cash' as const),
          fee_minor: 60,
          card_bin: null,
          card_last4: null,
          card_token: i % 2 === 0 ? `tok_k1_${String(i % 40).padStart(32, 'x')}` : null,
          voided: i % 11 === 0 ? 1 : 0,
          voided_at: null,
          settled: 0,
          settlement_id: null,
          refunded_minor: 0,
          in_flight_minor: 1_000,
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
            fee_minor: 0,
            net_amount_minor: 1_000,
            merchant_fee_returned_minor: 0,
            currency: 'CNY',
            reason_code: 'quality_issue' as const,
            reason_note: null,
            method: 'original' as const,
            status: 'requested' as const,
            items_json: '[]',
            approvals_json: '[]',
            consumer_enc: null,
            consumer_masked_json: null,
            delayed: 0,
            expected_arrival: p.created_at,
            network_reference: null,
            response_code: null,
            created_by: `op:0${i % 5}`,
            settlement_id: null,
            created_day: p.created_at.slice(0, 10),
            created_at: p.created_at,
            updated_at: p.created_at,
            handed_off_at: null,
          })),
        )
        .execute();
    }
  });
  afterAll(async () => {
    await store?.close();
  });

  it("reads an operator's latest refunds newest first from (merchant, created_by, created_at)", async () => {
    const [plan = []] = await plansOf((db) => recentRefundTimes(db, M, ['op:01', 'op:02'], AT, 3));
    throughIndexes(plan);
    expect(plan.join('\n')).toContain('refunds_merchant_creator_created');
    // The newest three of each operator, and only of this merchant.
    const times = await recentRefundTimes(store.db, M, ['op:01', 'op:02'], AT, 3);
    expect(times.get('op:01')).toEqual(
      [296, 291, 286].map((i) => new Date(Date.parse(AT) + i * 60_000).toISOString()),
    );
    expect(times.get('op:02')).toHaveLength(3);
  });

  it("reads a card's refunded orders of a day through the card's payments and their refunds", async () => {
    const token = `tok_k1_${'2'.padStart(32, 'x')}`;
    const [plan = []] = await plansOf((db) => cardOrdersRefundedOn(db, M, [token], '2026-03-10'));
    throughIndexes(plan);
    expect(plan.join('\n')).toContain('payments_merchant_card');
    expect(plan.join('\n')).toContain('refunds_merchant_order_created');
    const orders = await cardOrdersRefundedOn(store.db, M, [token], '2026-03-10');
    // Payments 2, 42, 82, … carry that token; those created on 2026-03-10 (UTC day of the rows).
    expect(orders.map((o) => o.orderNo).sort()).toEqual(
      ['O-2', 'O-42', 'O-82', 'O-122', 'O-162', 'O-202', 'O-242', 'O-282'].sort(),
    );
  });

  it("sums a day's sales from the partial index of sales not voided, without reading a row", async () => {
    const window = { start: '2026-03-10T04:00:00.000Z', end: '2026-03-10T05:00:00.000Z' };
    const [plan = []] = await plansOf((db) => daySalesMinor(db, M, window));
    throughIndexes(plan);
    expect(plan.join('\n')).toMatch(
      store.dialect === 'sqlite'
        ? /USING COVERING INDEX payments_merchant_day_sales/
        : /Index Only Scan payments payments_merchant_day_sales/,
    );
    // Minutes 0–59: 60 payments, less the charges (every 7th) and the voided ones (every 11th).
    const counted = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 7 !== 0 && i % 11 !== 0);
    expect(await daySalesMinor(store.db, M, window)).toBe(counted.length * 10_000);
  });
});
