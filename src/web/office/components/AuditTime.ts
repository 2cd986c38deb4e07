/**
 * Merchant days as instants, for list filters and exports that take ISO times (`from`, `to`):
 * a day typed in a date field is the merchant's calendar day, whatever the browser's zone is.
 */

/** How far `timeZone` is ahead of UTC at the instant `at` (ms). */
function offsetMs(timeZone: string, at: number): number {
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
  return wall - (at - (((at % 1000) + 1000) % 1000));
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The instant a merchant day (YYYY-MM-DD) starts; null for text that is not a day. */
export function dayStart(day: string, timeZone: string): number | null {
  const m = DAY.exec(day);
  if (!m) return null;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Twice: the offset at the first guess may differ from the offset at the day's start (DST).
  const first = wall - offsetMs(timeZone, wall);
  return wall - offsetMs(timeZone, first);
}

/** The day after a YYYY-MM-DD day. */
export function nextDay(day: string): string {
  const m = DAY.exec(day);
  if (!m) return day;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1)).toISOString().slice(0, 10);
}

/** `from`–`to` merchant days (both included) as `[from, to)` ISO instants; an empty day leaves its end open. */
export function dayRange(
  from: string,
  to: string,
  timeZone: string,
): { from: string | undefined; to: string | undefined } {
  const start = from ? dayStart(from, timeZone) : null;
  const end = to ? dayStart(nextDay(to), timeZone) : null;
  return {
    from: start === null ? undefined : new Date(start).toISOString(),
    to: end === null ? undefined : new Date(end).toISOString(),
  };
}
