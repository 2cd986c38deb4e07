import { parseYuan } from '../../shared/money';
import type { MessageKey } from '../i18n';

/*
 * The order search's filters (订单管理): as typed, as they stand in the page's URL, checked, and
 * as the API's query (GET /v1/payments and /v1/exports/payments.csv take the same).
 */

/** The filters as typed, and as they stand in the page's URL (a search is a link). */
export const FIELDS = ['orderNo', 'from', 'to', 'amountMin', 'amountMax', 'last4', 'phone'] as const;
export type Field = (typeof FIELDS)[number];
export type Filters = Record<Field, string>;

const ORDER_NO = /^[A-Za-z0-9_-]{1,64}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const PHONE = /^\+?[0-9][0-9 ()-]{4,31}$/;

export const filtersOf = (query: URLSearchParams): Filters =>
  Object.fromEntries(FIELDS.map((f) => [f, query.get(f)?.trim() ?? ''])) as Filters;

/** How far `timeZone` is ahead of UTC at an instant, in ms (whole seconds). */
function zoneOffsetMs(timeZone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(at / 1000) * 1000;
}

/**
 * The instant a merchant day (YYYY-MM-DD) starts in its zone, `plusDays` later: the API's `from`
 * and (exclusive) `to` are instants, the page's range is merchant days. Checked twice so a day
 * that starts in a daylight-saving change still lands on its first second.
 */
export function merchantDayStart(timeZone: string, day: string, plusDays = 0): string {
  const [y = 0, m = 1, d = 1] = day.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d + plusDays);
  const guess = wall - zoneOffsetMs(timeZone, wall);
  return new Date(wall - zoneOffsetMs(timeZone, guess)).toISOString();
}

/** The typed filters checked; each wrong one named with the words for what is wrong. */
export function checkFilters(f: Filters): Partial<Record<Field, MessageKey>> {
  const out: Partial<Record<Field, MessageKey>> = {};
  if (f.orderNo && !ORDER_NO.test(f.orderNo)) out.orderNo = 'badOrderNo';
  if (f.from && !DAY.test(f.from)) out.from = 'badDate';
  if (f.to && !DAY.test(f.to)) out.to = 'badDate';
  if (!out.from && !out.to && f.from && f.to && f.from > f.to) out.to = 'badRange';
  for (const k of ['amountMin', 'amountMax'] as const) {
    const p = f[k] ? parseYuan(f[k]) : null;
    if (p && !p.ok) out[k] = `amount.${p.error}`;
  }
  const min = f.amountMin ? parseYuan(f.amountMin) : null;
  const max = f.amountMax ? parseYuan(f.amountMax) : null;
  if (min?.ok && max?.ok && min.fen > max.fen) out.amountMax = 'badAmountRange';
  if (f.last4 && !/^[0-9]{4}$/.test(f.last4)) out.last4 = 'badLast4';
  if (f.phone && !PHONE.test(f.phone)) out.phone = 'badPhone';
  return out;
}

/** The API's query for checked filters: amounts in fen, merchant days as instants. */
export function apiQuery(f: Filters, timeZone: string): Record<string, string | undefined> {
  const fen = (text: string) => {
    const p = text ? parseYuan(text) : null;
    return p?.ok ? String(p.fen) : undefined;
  };
  return {
    orderNo: f.orderNo || undefined,
    from: f.from ? merchantDayStart(timeZone, f.from) : undefined,
    to: f.to ? merchantDayStart(timeZone, f.to, 1) : undefined,
    amountMin: fen(f.amountMin),
    amountMax: fen(f.amountMax),
    last4: f.last4 || undefined,
    phone: f.phone || undefined,
  };
}
