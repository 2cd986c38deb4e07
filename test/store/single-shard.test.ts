import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openStore } from '../../src/store/db.js';
import { distributedTables } from '../../src/store/distribution.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
  testPan,
  until,
} from '../support/system.js';

/**
 * Issue 9 (shards by merchant): every statement the service sends to PostgreSQL is one Citus
 * can run on the shard of one merchant (docs/production.md, "Sharding by merchant"). A statement
 * that touches a distributed table (src/store/distribution.ts) must
 *   - filter that table on its distribution column (`merchant_id = $n`; `merchants.id = $n`),
 *     unless ALLOWED_CROSS_SHARD below names it: a read or write Citus runs on every shard;
 *   - join two distributed tables on the merchant as well (`a.merchant_id = b.merchant_id`):
 *     Citus refuses a join of co-located tables on anything else, allow-list or not;
 *   - lock rows (`FOR UPDATE`) only with the merchant filter: Citus refuses a multi-shard row
 *     lock, so no allow-list entry excuses one;
 *   - insert with its distribution column among the columns.
 * The inspection reads Kysely's SQL as text — table names after FROM / JOIN / UPDATE / INTO and the
 * merchant conditions — not a parser: it is made for the SQL this code base writes.
 */

const DISTRIBUTION_COLUMN = new Map<string, string>(distributedTables().map((d) => [d.table, d.column]));

/**
 * Statements allowed to run on every shard, each with why. They only skip the merchant filter:
 * their joins and row locks are checked like any other statement. The workload must send each at
 * least once, so an entry nobody needs any more fails the test and is removed.
 */
const ALLOWED_CROSS_SHARD: { name: string; sql: RegExp; why: string }[] = [
  // -- a globally unique credential or id, looked up before the merchant is known ----------------
  {
    name: 'session by token hash',
    sql: /^select .* from "sessions" inner join "operators" on .* where "sessions"\."token_hash" = \$1$/,
    why: 'every request authenticates with its bearer token alone; the token hash is unique across merchants',
  },
  {
    name: 'sign-out by token hash',
    sql: /^delete from "sessions" where "token_hash" = \$1$/,
    why: 'the sign-out route hands over the token alone (src/api/routes/sessions.ts); Citus deletes on every shard',
  },
  {
    name: 'API key by key hash',
    sql: /^select \* from "api_keys" where "key_hash" = \$1 and "revoked_at" is null$/,
    why: 'a merchant system authenticates with its key alone; the key hash is unique across merchants',
  },
  {
    name: 'terminal by id',
    sql: /^select .* from "terminals" where "id" = \$1( order by "id")?$/,
    why: 'sign-in names the terminal only, and so do the card link’s reversals; terminal ids are the acquirer’s, one merchant each',
  },
  {
    name: 'refund by the outbox row’s or the network’s id',
    sql: /^select "merchant_id", "payment_id" from "refunds" where "id" = \$1$/,
    why: 'lockRefund(trx, null, id): refund.submit rows and network results name the refund only; this unlocked peek finds the merchant that every lock after it names',
  },
  {
    name: 'card link attempts by request id or host reference',
    sql: /^select .* from "link_attempts" where ("ref_id" = \$1 order by .*|"reference" = \$1 and "id" != \$2|"kind" = \$1 and "reference" = \$2)$/,
    why: 'the journal port names no merchant (src/network/journal.ts): our request ids are unique, and the host’s reference (RRN) is unique at the host across all merchants',
  },
  // -- work that is about every merchant ----------------------------------------------------------
  {
    name: 'refunds processing, all merchants',
    sql: /^select "id", "updated_at", "delayed" from "refunds" where "status" = \$1 and "updated_at" < \$2 order by "updated_at" limit \$3$/,
    why: 'the worker’s poll for results whose notification was lost is global, as the outbox is',
  },
  {
    name: 'card link echo terminal',
    sql: /^select "id", "merchant_id", "batch_no" from "terminals" order by "id"$/,
    why: 'the echo test (0820) signs with any terminal: it proves the link, not one merchant’s books',
  },
  {
    name: 'the re-sealer’s next merchant',
    sql: /^select "id" from "merchants" where "id" > \$1 order by "id" limit \$2$/,
    why: 're-sealing walks merchant by merchant so each batch locks one shard; finding the next merchant reads every shard, once per merchant and pass',
  },
  {
    name: 'any merchant at all',
    sql: /^select "id" from "merchants" limit \$1$/,
    why: 'the demo seed and the health check ask whether the store has any merchant',
  },
];

interface Verdict {
  ok: boolean;
  problem?: string;
  allowedAs?: string;
}

const TABLE_REF = /\b(?:from|join|update|into)\s+"?([a-z_][a-z0-9_]*)"?/g;
const JOIN =
  /\bjoin\s+"?([a-z_][a-z0-9_]*)"?(?:\s+as\s+"?[a-z_][a-z0-9_]*"?)?\s+on\s+(.*?)(?=\s(?:inner |left |right |full |cross )?join\s|\swhere\s|\sgroup by\s|\sorder by\s|\slimit\s|\sfor update|$)/g;
const ON_MERCHANT = /"?merchant_id"?\s*=\s*"?[a-z_]+"?\."?merchant_id"?/;
/** `column = $n` or `column in ($n)`: the filter on a distribution column. */
const filterOn = (column: string) =>
  new RegExp(`"?${column}"?\\s*(?:=\\s*\\$\\d+|in\\s*\\(\\s*\\$\\d+\\s*\\))`, 'g');
const MERCHANT_FILTER = filterOn('merchant_id');
/** The audit tables are distributed by their chain, the merchant's id (src/store/distribution.ts). */
const CHAIN_FILTER = filterOn('chain_id');
const MERCHANTS_BY_ID = /(?:^|[\s(])(?:"?merchants"?\.)?"?id"?\s*=\s*\$\d+/g;
const ROW_LOCK = /\bfor (?:no key )?update\b/;
const QUALIFIED_MERCHANTS_BY_ID = /"merchants"\."id"\s*=\s*\$\d+/g;

/**
 * One statement as Citus would see it: single-shard, allowed cross-shard, or refused. Single-shard
 * means each distributed table in it is either filtered on its merchant in the WHERE or joined on
 * the merchant to one that is.
 */
function inspect(raw: string): Verdict {
  const sql = raw.replace(/\s+/g, ' ').trim().toLowerCase();
  if (!/^(select|insert|update|delete|with)\b/.test(sql)) return { ok: true };
  const tables = [...sql.matchAll(TABLE_REF)]
    .map((m) => m[1] as string)
    .filter((t) => DISTRIBUTION_COLUMN.has(t));
  if (tables.length === 0) return { ok: true };
  const insert = /^insert into "?([a-z_]+)"?\s*\(([^)]*)\)/.exec(sql);
  if (insert) {
    const column = DISTRIBUTION_COLUMN.get(insert[1] as string);
    if (column === undefined) return { ok: true };
    return insert[2]?.includes(`"${column}"`)
      ? { ok: true }
      : { ok: false, problem: `insert into ${insert[1]} without ${column}` };
  }
  let joinedOnMerchant = 0;
  for (const [, table, on] of sql.matchAll(JOIN)) {
    if (!DISTRIBUTION_COLUMN.has(table as string)) continue;
    if (!ON_MERCHANT.test(on as string)) return { ok: false, problem: `join of ${table} not on merchant_id` };
    joinedOnMerchant++;
  }
  const where = sql.includes(' where ') ? sql.slice(sql.indexOf(' where ')) : '';
  const filter = tables.every((t) => t === 'merchants')
    ? MERCHANTS_BY_ID
    : tables.every((t) => DISTRIBUTION_COLUMN.get(t) === 'chain_id')
      ? CHAIN_FILTER
      : MERCHANT_FILTER;
  // A statement on merchants and tables co-located with it (a subquery of the merchant's own
  // rows): merchants is filtered on its id, named as such, the others on merchant_id.
  const merchantsById =
    filter === MERCHANT_FILTER && tables.includes('merchants')
      ? (where.match(QUALIFIED_MERCHANTS_BY_ID)?.length ?? 0)
      : 0;
  const filters = (where.match(filter)?.length ?? 0) + merchantsById;
  if (filters > 0 && filters + joinedOnMerchant >= tables.length) return { ok: true };
  if (ROW_LOCK.test(sql))
    return { ok: false, problem: `row lock on ${tables.join(', ')} without the merchant` };
  const allowed = ALLOWED_CROSS_SHARD.find((a) => a.sql.test(sql));
  if (allowed) return { ok: true, allowedAs: allowed.name };
  return { ok: false, problem: `${tables.join(', ')} without a merchant filter` };
}

describe('the single-shard inspection', () => {
  it('refuses a row lock, a join and a write that do not name the merchant', () => {
    expect(inspect('select * from "refunds" where "id" = $1 for update').ok).toBe(false);
    expect(inspect('select * from "refunds" where "id" = $1 and "merchant_id" = $2 for update').ok).toBe(
      true,
    );
    expect(
      inspect(
        'select * from "refunds" inner join "payments" on "payments"."id" = "refunds"."payment_id" where "refunds"."merchant_id" = $1',
      ).problem,
    ).toBe('join of payments not on merchant_id');
    expect(inspect('update "payments" set "voided" = $1 where "id" = $2').ok).toBe(false);
    expect(inspect('update "payments" set "voided" = $1 where "id" = $2 and "merchant_id" = $3').ok).toBe(
      true,
    );
    expect(inspect('update "refunds" set "merchant_id" = $1 where "id" = $2').ok).toBe(false);
    expect(
      inspect(
        'select * from "refunds" where "merchant_id" = $1 and "payment_id" in (select "id" from "payments" where "order_no" = $2)',
      ).ok,
    ).toBe(false);
    expect(inspect('insert into "refund_events" ("refund_id", "at") values ($1, $2)').ok).toBe(false);
    expect(inspect('select * from "merchants" where "id" = $1 for update').ok).toBe(true);
    // The merchant with a subquery of its own co-located rows; without the subquery's filter, refused.
    const withDay = (f: string) =>
      `select "merchants".*, (select "amount_minor" from "merchant_day_totals" where ${f}"day" = $1) as "t" from "merchants" where "merchants"."id" = $2 for update`;
    expect(inspect(withDay('"merchant_day_totals"."merchant_id" = $3 and ')).ok).toBe(true);
    expect(inspect(withDay('')).ok).toBe(false);
    expect(inspect('select "id" from "outbox" where "status" = $1 for update skip locked').ok).toBe(true);
    // The audit chain's head: locked by its chain, the merchant's id, never by a merchant_id.
    expect(inspect('select * from "audit_head" where "chain_id" = $1 for update').ok).toBe(true);
    expect(inspect('select * from "audit_log" where "merchant_id" = $1 order by "seq" desc').ok).toBe(false);
    expect(inspect('insert into "audit_log" ("seq", "merchant_id") values ($1, $2)').ok).toBe(false);
  });

  it('lets an allowed cross-shard lookup through, but never its row lock', () => {
    const peek = 'select "merchant_id", "payment_id" from "refunds" where "id" = $1';
    expect(inspect(peek)).toEqual({ ok: true, allowedAs: 'refund by the outbox row’s or the network’s id' });
    expect(inspect(`${peek} for update`).ok).toBe(false);
  });
});

const postgres = storeTargets.find((t) => t.name === 'postgres');

describe.runIf(postgres)('every statement of a day at the counter is single-shard on postgres', () => {
  const statements: string[] = [];
  const original = pg.Client.prototype.query;
  let sys: TestSystem;
  let cashier: Client;
  let boss: Client;
  let admin: Client;

  // One clock at midday UTC for the service and the simulator: the settlement day cannot roll over.
  const startedAt = Date.now();
  const midday = new Date(startedAt);
  midday.setUTCHours(12, 0, 0, 0);
  const clock = () => new Date(midday.getTime() + (Date.now() - startedAt));
  const DAY = midday.toISOString().slice(0, 10);

  beforeAll(async () => {
    const url = await (postgres as NonNullable<typeof postgres>).freshUrl();
    // Migrations run before the tables are distributed (docs/production.md): not part of this.
    const setup = openStore(url);
    await migrate(setup);
    await setup.close();
    // Every statement of every pooled connection of the service: Kysely's PostgreSQL driver sends
    // each one through pg.Client#query.
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const first = args[0] as string | { text?: string } | undefined;
      const text = typeof first === 'string' ? first : first?.text;
      if (text) statements.push(text);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    sys = await startTestSystem(
      url,
      {
        network: 'sim',
        dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-shard-')),
        workerBackoffMs: 50,
        // Every health check proves the card link with an echo (0820).
        linkEchoIntervalMs: 1,
      },
      { clock },
    );
    cashier = await signIn(sys.base, '01', '1111');
    boss = await signIn(sys.base, supervisor.operatorNo, supervisor.password);
    const a = DEMO.operators.find((o) => o.role === 'admin');
    admin = await signIn(sys.base, a?.no ?? '99', a?.password ?? '');
  });

  afterAll(async () => {
    pg.Client.prototype.query = original;
    await sys?.close();
  });

  const answered = (r: { status: number; body: unknown }, status = 201) =>
    expect(r.status, JSON.stringify(r.body)).toBe(status);

  async function sale(method: 'card' | 'qr' | 'cash', amount: number) {
    const r = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('SH'),
      amount,
      currency: 'CNY',
      method,
      ...(method === 'card' ? { card: { pan: testPan('622202100004444'), expiry: '2912' } } : {}),
      ...(method === 'cash'
        ? { items: [{ sku: 'TEA-1', name: 'tea', qty: 2, unitAmount: amount / 2 }] }
        : {}),
    });
    answered(r);
    return r.body as { id: string; orderNo: string };
  }

  const settled = (id: string) =>
    until(
      () => cashier.call('GET', `/v1/refunds/${id}`),
      (x) => x.body.status === 'succeeded' || x.body.status === 'failed',
      20_000,
    );

  async function workload() {
    // A wrong password is counted against the operator; an admin lifts the operator's locks.
    const wrong = await call(sys.base, 'POST', '/v1/sessions', {
      terminalId: DEMO.terminalId,
      operatorNo: '02',
      password: 'wrong-password',
    });
    expect(wrong.status).toBe(401);
    answered(await admin.call('GET', '/v1/operators'), 200);
    answered(await admin.call('POST', '/v1/operators/02/unlock'), 200);

    const card = await sale('card', 10_000);
    const qr = await sale('qr', 8_000);
    const cash = await sale('cash', 6_000);
    const toVoid = await sale('card', 3_000);

    // A refund approved at the counter, one approved afterwards, one canceled, one rejected.
    const approved = await cashier.call('POST', '/v1/refunds', {
      paymentId: card.id,
      amount: 2_000,
      reason: { code: 'quality_issue' },
      approvals: [supervisor],
    });
    answered(approved);
    const waiting = await cashier.call('POST', '/v1/refunds', {
      paymentId: qr.id,
      amount: 1_000,
      reason: { code: 'quality_issue' },
      consumer: { name: '张三', phone: '13800138000' },
    });
    answered(waiting);
    answered(
      await boss.call('POST', `/v1/refunds/${waiting.body.id}/approve`, { approvals: [supervisor] }),
      200,
    );
    const toCancel = await cashier.call('POST', '/v1/refunds', {
      paymentId: card.id,
      amount: 500,
      reason: { code: 'quality_issue' },
    });
    answered(toCancel);
    answered(await cashier.call('POST', `/v1/refunds/${toCancel.body.id}/cancel`, {}), 200);
    const toReject = await cashier.call('POST', `/v1/refunds`, {
      paymentId: cash.id,
      items: [{ sku: 'TEA-1', qty: 1 }],
      reason: { code: 'quality_issue' },
    });
    answered(toReject);
    answered(await boss.call('POST', `/v1/refunds/${toReject.body.id}/accept`, {}), 200);
    answered(await boss.call('POST', `/v1/refunds/${toReject.body.id}/reject`, { note: 'not ours' }), 200);

    answered(await cashier.call('POST', `/v1/payments/${toVoid.id}/void`, { approvals: [supervisor] }), 200);
    // Adjustments: a decrease refunds, an increase charges (not on a card order).
    answered(
      await cashier.call('POST', `/v1/orders/${card.orderNo}/adjustments`, {
        originalAmount: 8_000,
        newAmount: 7_000,
        reason: { code: 'transaction_error' },
        approvals: [supervisor],
      }),
    );
    answered(
      await cashier.call('POST', `/v1/orders/${cash.orderNo}/adjustments`, {
        originalAmount: 6_000,
        newAmount: 6_500,
        reason: { code: 'transaction_error' },
      }),
    );

    // The worker hands the approved refunds to the network; results come back by answer and notice.
    expect((await settled(approved.body.id)).body.status).toBe('succeeded');
    expect((await settled(waiting.body.id)).body.status).toBe('succeeded');

    // Vouchers: printed twice (the second is a reprint), sent by the worker.
    for (const format of ['text', 'html']) {
      const printed = await fetch(`${sys.base}/v1/refunds/${approved.body.id}/receipt?format=${format}`, {
        headers: { authorization: `Bearer ${cashier.token}` },
      });
      expect(printed.status, await printed.text()).toBe(200);
    }
    answered(
      await cashier.call('POST', `/v1/refunds/${approved.body.id}/receipt/send`, { email: 'a@example.com' }),
      202,
    );
    await until(
      () => cashier.call('GET', `/v1/refunds/${approved.body.id}/receipt/sends`),
      (x) => x.body.data?.[0]?.status === 'sent',
    );

    // Reads of the day.
    for (const path of [
      `/v1/refunds/${approved.body.id}/events`,
      `/v1/refunds?paymentId=${card.id}`,
      `/v1/payments?orderNo=${card.orderNo}`,
      `/v1/payments/${qr.id}`,
      `/v1/orders/${card.orderNo}`,
      '/v1/sessions/current',
    ])
      answered(await cashier.call('GET', path), 200);
    answered(await admin.call('GET', '/v1/policy'), 200);
    answered(await admin.call('PUT', '/v1/policy', { largeRefundThreshold: 400_000 }), 200);
    answered(await admin.call('GET', '/v1/outbox/dead'), 200);
    answered(await admin.call('GET', '/v1/audit/verify'), 200);

    // A merchant system's key: created, used, revoked.
    const key = await admin.call('POST', '/v1/api-keys', { name: 'shop system' });
    answered(key);
    answered(
      await call(sys.base, 'GET', '/v1/payments', undefined, { authorization: `Bearer ${key.body.key}` }),
      200,
    );
    answered(await admin.call('GET', '/v1/api-keys'), 200);
    answered(await admin.call('DELETE', `/v1/api-keys/${key.body.id}`), 200);

    // The end of the day: settlement, then reconciliation against the network's file.
    answered(await boss.call('POST', '/v1/settlements', { terminalId: DEMO.terminalId }));
    const csv = (sys.simulator as NonNullable<TestSystem['simulator']>).ledger.settlementCsv(
      DEMO.merchantId,
      DAY,
    );
    const rec = await boss.call('POST', '/v1/reconciliations', { day: DAY, csv });
    answered(rec);
    answered(await boss.call('GET', `/v1/reconciliations/${rec.body.id}`), 200);
    answered(await boss.call('GET', `/v1/reconciliations?day=${DAY}`), 200);

    answered(await call(sys.base, 'GET', '/v1/health'), 200);
    answered(await cashier.call('DELETE', '/v1/sessions/current'), 204);
  }

  it('filters or joins every distributed table on merchant_id, except the commented allow-list', async () => {
    await workload();
    // The worker's and re-sealer's background statements of the last ticks, too.
    await new Promise((r) => setTimeout(r, 2_500));
    const seen = [...new Set(statements.map((s) => s.replace(/\s+/g, ' ').trim()))];
    const refused = seen
      .map((s) => ({ sql: s, verdict: inspect(s) }))
      .filter((x) => !x.verdict.ok)
      .map((x) => `${x.verdict.problem}:\n    ${x.sql}`);
    expect(refused, refused.join('\n')).toEqual([]);

    // The workload reached what issue 9 is about: row locks, joins, the card link's key lock.
    const has = (re: RegExp) => seen.some((s) => re.test(s.toLowerCase()));
    expect(has(/from "refunds" where .* for update$/)).toBe(true);
    expect(has(/from "operators" where .* for update$/)).toBe(true);
    expect(has(/from "link_terminal_keys" where .* for update$/)).toBe(true);
    // Each append locks its own chain's head only, by the merchant's id (issue 10).
    expect(has(/from "audit_head" where "chain_id" = \$1 for update$/)).toBe(true);
    expect(has(/inner join "operators"/)).toBe(true);
    // Reconciliation joins the day's link attempts to their payments (issue 10: by attempt time).
    expect(has(/from "link_attempts" as "la" inner join "payments"/)).toBe(true);
    expect(has(/^update "link_attempts"/)).toBe(true);
    // Every allow-list entry is still needed.
    const used = new Set(seen.map((s) => inspect(s).allowedAs).filter(Boolean));
    const unused = ALLOWED_CROSS_SHARD.filter((a) => !used.has(a.name)).map((a) => a.name);
    expect(unused).toEqual([]);
  }, 120_000);
});
