import { sql } from 'kysely';
import { requirePermission } from '../domain/auth.js';
import {
  addDays,
  isCalendarDate,
  MERCHANT_TIME_ZONE,
  shanghaiDate,
  shanghaiDayStart,
} from '../domain/calendar.js';
import { DomainError } from '../domain/errors.js';
import { dialectOf, type Tx } from '../store/dialect.js';
import type { Caller, Ctx } from './context.js';

/**
 * The back office's figures (issue 11, PRODUCT.md §6): refunds per day, by reason, operator and
 * method, the refund rate against sales, and the work waiting. Days are the merchant's
 * (Asia/Shanghai); amounts are integer minor units of one currency; rates are basis points
 * (1/100 of a percent), rounded down, so no float comes near money.
 */
export const MAX_REPORT_DAYS = 92;

/** Refunds that took or are taking money back: not refused, withdrawn or failed at the network. */
const COUNTED = ['requested', 'under_review', 'approved', 'processing', 'succeeded'] as const;

export interface Bucket {
  key: string;
  count: number;
  amount: number;
}

export interface DayFigures {
  day: string;
  salesCount: number;
  salesAmount: number;
  refundCount: number;
  refundAmount: number;
  /** refundAmount / salesAmount in basis points, rounded down; null without sales that day. */
  refundRateBp: number | null;
}

/** The UTC instant a Shanghai day starts, as the ISO text the rows store. */
const dayStartUtc = (day: string): string => shanghaiDayStart(day).toISOString();

/** The Shanghai day of an ISO-UTC text column, in SQL (payments keep no day column of their own). */
function shanghaiDaySql(q: Tx, column: string) {
  return dialectOf(q) === 'postgres'
    ? sql<string>`to_char((${sql.ref(column)})::timestamptz at time zone 'Asia/Shanghai', 'YYYY-MM-DD')`
    : sql<string>`substr(datetime(${sql.ref(column)}, '+8 hours'), 1, 10)`;
}

function rateBp(refunds: number, sales: number): number | null {
  if (sales <= 0) return null;
  // Integers below 2^53: amounts are bounded well below 2^53 / 10^4.
  return Math.floor((refunds * 10_000) / sales);
}

export interface ReportWindow {
  from?: string | undefined;
  to?: string | undefined;
  currency?: string | undefined;
}

/** The window, checked: `from` ≤ `to`, at most MAX_REPORT_DAYS days; default the last 30 days to today. */
function window(ctx: Ctx, w: ReportWindow): { from: string; to: string; days: string[] } {
  for (const [name, day] of [
    ['from', w.from],
    ['to', w.to],
  ] as const) {
    if (day !== undefined && !isCalendarDate(day))
      throw new DomainError('validation_failed', `${name} (${day}) is not a calendar date`);
  }
  const to = w.to ?? shanghaiDate(ctx.clock());
  const from = w.from ?? addDays(to, -29);
  if (from > to) throw new DomainError('validation_failed', `from (${from}) is after to (${to})`);
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    days.push(d);
    if (days.length > MAX_REPORT_DAYS) {
      throw new DomainError('validation_failed', `a report covers at most ${MAX_REPORT_DAYS} days`);
    }
  }
  return { from, to, days };
}

export async function refundReport(ctx: Ctx, caller: Caller, w: ReportWindow) {
  requirePermission(caller.principal, 'report.read');
  const { from, to, days } = window(ctx, w);
  const currency = w.currency ?? 'CNY';
  const db = ctx.store.db;
  const start = dayStartUtc(from);
  const end = dayStartUtc(addDays(to, 1));

  // Sales: captured sales of the currency, not voided, by the Shanghai day they were made.
  const saleDay = shanghaiDaySql(db, 'created_at');
  const sales = await db
    .selectFrom('payments')
    .select([
      saleDay.as('day'),
      (eb) => eb.fn.countAll<number>().as('n'),
      (eb) => eb.fn.sum<number>('amount_minor').as('amount'),
    ])
    .where('merchant_id', '=', caller.merchantId)
    .where('created_at', '>=', start)
    .where('created_at', '<', end)
    .where('kind', '=', 'sale')
    .where('voided', '=', 0)
    .where('currency', '=', currency)
    .groupBy(saleDay)
    .execute();

  // Refunds: one row per (day, reason, operator, method), folded below.
  const refunds = await db
    .selectFrom('refunds')
    .select([
      'created_day',
      'reason_code',
      'created_by',
      'method',
      (eb) => eb.fn.countAll<number>().as('n'),
      (eb) => eb.fn.sum<number>('amount_minor').as('amount'),
    ])
    .where('merchant_id', '=', caller.merchantId)
    .where('created_at', '>=', start)
    .where('created_at', '<', end)
    .where('currency', '=', currency)
    .where('status', 'in', [...COUNTED])
    .groupBy(['created_day', 'reason_code', 'created_by', 'method'])
    .execute();

  const byDay = new Map<string, DayFigures>(
    days.map((day) => [
      day,
      { day, salesCount: 0, salesAmount: 0, refundCount: 0, refundAmount: 0, refundRateBp: null },
    ]),
  );
  for (const s of sales) {
    const d = byDay.get(s.day);
    if (!d) continue;
    d.salesCount += Number(s.n);
    d.salesAmount += Number(s.amount ?? 0);
  }
  const fold = (map: Map<string, Bucket>, key: string, n: number, amount: number) => {
    const b = map.get(key) ?? { key, count: 0, amount: 0 };
    b.count += n;
    b.amount += amount;
    map.set(key, b);
  };
  const byReason = new Map<string, Bucket>();
  const byOperator = new Map<string, Bucket>();
  const byMethod = new Map<string, Bucket>();
  for (const r of refunds) {
    const n = Number(r.n);
    const amount = Number(r.amount ?? 0);
    const d = byDay.get(r.created_day);
    if (d) {
      d.refundCount += n;
      d.refundAmount += amount;
    }
    fold(byReason, r.reason_code, n, amount);
    // `op:01` → operator 01; an API key's refunds are grouped as `key:<id>`.
    fold(byOperator, r.created_by.startsWith('op:') ? r.created_by.slice(3) : r.created_by, n, amount);
    fold(byMethod, r.method, n, amount);
  }
  const dayList = [...byDay.values()];
  for (const d of dayList) d.refundRateBp = rateBp(d.refundAmount, d.salesAmount);
  const sum = (f: (d: DayFigures) => number) => dayList.reduce((acc, d) => acc + f(d), 0);
  const totals = {
    salesCount: sum((d) => d.salesCount),
    salesAmount: sum((d) => d.salesAmount),
    refundCount: sum((d) => d.refundCount),
    refundAmount: sum((d) => d.refundAmount),
    refundRateBp: null as number | null,
  };
  totals.refundRateBp = rateBp(totals.refundAmount, totals.salesAmount);
  const sorted = (m: Map<string, Bucket>) =>
    [...m.values()].sort((a, b) => b.amount - a.amount || a.key.localeCompare(b.key));
  return {
    timeZone: MERCHANT_TIME_ZONE,
    from,
    to,
    currency,
    days: dayList,
    byReason: sorted(byReason),
    byOperator: sorted(byOperator),
    byMethod: sorted(byMethod),
    totals,
  };
}

/** What is waiting for people: the review queue and its oldest entry, delayed and failed refunds, dead outbox work. */
export async function workReport(ctx: Ctx, caller: Caller) {
  requirePermission(caller.principal, 'report.read');
  const db = ctx.store.db;
  const byStatus = await db
    .selectFrom('refunds')
    .select([
      'status',
      (eb) => eb.fn.countAll<number>().as('n'),
      (eb) => eb.fn.min('created_at').as('oldest'),
    ])
    .where('merchant_id', '=', caller.merchantId)
    .where('status', 'in', ['requested', 'under_review'])
    .groupBy('status')
    .execute();
  const delayed = await db
    .selectFrom('refunds')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('merchant_id', '=', caller.merchantId)
    .where('delayed', '=', 1)
    .where('status', 'in', ['approved', 'processing'])
    .executeTakeFirstOrThrow();
  const today = shanghaiDate(ctx.clock());
  const failed = await db
    .selectFrom('refunds')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('merchant_id', '=', caller.merchantId)
    .where('status', '=', 'failed')
    .where('updated_at', '>=', dayStartUtc(today))
    .executeTakeFirstOrThrow();
  const dead = await db
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('merchant_id', '=', caller.merchantId)
    .where('status', '=', 'dead')
    .executeTakeFirstOrThrow();
  const count = (s: string) => Number(byStatus.find((r) => r.status === s)?.n ?? 0);
  const oldest = byStatus
    .map((r) => r.oldest as string | null)
    .filter((t): t is string => t !== null)
    .sort()[0];
  return {
    queue: {
      requested: count('requested'),
      underReview: count('under_review'),
      oldestCreatedAt: oldest ?? null,
    },
    delayed: Number(delayed.n),
    failedToday: Number(failed.n),
    deadOutbox: Number(dead.n),
  };
}
