import type { Lang } from './api';

/**
 * Times in the merchant's time zone (the session says which; the product's calendar is
 * Asia/Shanghai), whatever the browser's own zone is: a supervisor abroad sees shop time.
 */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

const formats = new Map<string, Intl.DateTimeFormat>();

function format(lang: Lang, timeZone: string, withTime: boolean): Intl.DateTimeFormat {
  const key = `${lang}|${timeZone}|${withTime}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(lang === 'en' ? 'en-CA' : lang, {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      ...(withTime ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' } : {}),
    });
    formats.set(key, f);
  }
  return f;
}

/** "2026/12/03 18:05:09" (zh), "2026-12-03, 18:05:09" (en) in the given zone; "—" for nothing. */
export function formatDateTime(iso: string | null | undefined, timeZone: string, lang: Lang): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? format(lang, timeZone, true).format(t) : '—';
}

export function formatDate(iso: string | null | undefined, timeZone: string, lang: Lang): string {
  if (!iso) return '—';
  // A calendar date (YYYY-MM-DD) is already the merchant's day: shown as it is, not shifted.
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? format(lang, timeZone, false).format(t) : '—';
}

/** The merchant's calendar date of an instant, YYYY-MM-DD (for date inputs and report ranges). */
export function dayIn(timeZone: string, at: Date = new Date()): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** How long something has waited: 45 s → "45s"/"45秒", 3,700 s → "1h 1m"/"1小时1分". */
export function formatAge(seconds: number, lang: Lang): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const zh = lang !== 'en';
  const u = zh
    ? { d: '天', h: lang === 'zh-TW' ? '小時' : '小时', m: '分', s: '秒' }
    : { d: 'd ', h: 'h ', m: 'm', s: 's' };
  if (d > 0) return `${d}${u.d}${h}${u.h}`.trim();
  if (h > 0) return `${h}${u.h}${m}${u.m}`.trim();
  if (m > 0) return `${m}${u.m}`;
  return `${s}${u.s}`;
}
