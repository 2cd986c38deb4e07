/**
 * The calendar's own date arithmetic (day numbers, leap years, month lengths, the 0000–9999 range,
 * its scan bound) checked against the JavaScript Date, and the calendar file's validation messages:
 * gaps found by mutation testing (issue 9, docs/mutation-report.md).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDays,
  BusinessCalendar,
  isCalendarDate,
  MAX_SCAN_DAYS,
  parseCalendarData,
  shanghaiDate,
  shanghaiDayStart,
} from '../../src/domain/calendar.js';

const DAY_MS = 86_400_000;
const SHANGHAI_MS = 8 * 3_600_000;
/** Every day a business day: the calendar then maps each date to itself through its day number. */
const everyDay = new BusinessCalendar(parseCalendarData({ name: 'every day', weekend: [], years: {} }));
const weekends = new BusinessCalendar(parseCalendarData({ name: 'weekends', weekend: [0, 6], years: {} }));

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const iso = (y: number, m: number, d: number) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;

/** The JS Date's view of y-m-d (proleptic Gregorian, UTC): its ms, or null when no such day exists. */
function jsDay(y: number, m: number, d: number): number | null {
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d ? t.getTime() : null;
}

/** The Date's ISO calendar date of an instant, for years 0000–9999. */
const jsIso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('calendar dates against the JavaScript Date', () => {
  it('accepts exactly the days that exist, leap days by the Gregorian rule (property, 0000–9999)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        (y, m, d) => {
          const date = iso(y, m, d);
          if (jsDay(y, m, d) === null) expect(() => everyDay.isBusinessDay(date), date).toThrow(RangeError);
          else expect(everyDay.nextBusinessDay(date), date).toBe(date);
        },
      ),
      { numRuns: 2_000 },
    );
    for (const date of ['2000-02-29', '2024-02-29', '1600-02-29', '0000-02-29', '2026-01-31', '2026-12-31']) {
      expect(everyDay.nextBusinessDay(date), date).toBe(date);
    }
    for (const date of ['1900-02-29', '2100-02-29', '2023-02-29', '2026-04-31', '2026-06-31', '2026-09-31']) {
      expect(() => everyDay.isBusinessDay(date), date).toThrow(RangeError);
    }
    for (const date of ['2026-11-31', '2026-00-10', '2026-01-00', '2026-13-01']) {
      expect(() => everyDay.isBusinessDay(date), date).toThrow(RangeError);
    }
  });

  it('counts days like the Date does, across month, leap-year and century ends (property)', () => {
    const first = Date.parse('0000-01-01T00:00:00Z');
    const last = Date.parse('9999-12-31T00:00:00Z');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: (last - first) / DAY_MS - 400 }),
        fc.integer({ min: 0, max: 400 }),
        (n, k) => {
          const from = first + n * DAY_MS;
          expect(everyDay.addBusinessDays(jsIso(from), k)).toBe(jsIso(from + k * DAY_MS));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('knows the day of the week of any date (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({
          min: Date.parse('0000-01-01T00:00:00Z') / DAY_MS,
          max: Date.parse('9999-12-31T00:00:00Z') / DAY_MS,
        }),
        (day) => {
          const ms = day * DAY_MS;
          const weekday = new Date(ms).getUTCDay();
          expect(weekends.isBusinessDay(jsIso(ms))).toBe(weekday !== 0 && weekday !== 6);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('gives the Shanghai date of an instant (property), from 0000-01-01 to 9999-12-31 and no further', () => {
    const min = Date.parse('0000-01-01T00:00:00Z') - SHANGHAI_MS;
    const max = Date.parse('9999-12-31T23:59:59.999Z') - SHANGHAI_MS;
    fc.assert(
      fc.property(fc.integer({ min, max }), (ms) => {
        expect(shanghaiDate(new Date(ms))).toBe(jsIso(ms + SHANGHAI_MS));
      }),
      { numRuns: 2_000 },
    );
    expect(shanghaiDate(new Date(min))).toBe('0000-01-01');
    expect(shanghaiDate(new Date(max))).toBe('9999-12-31');
    expect(() => shanghaiDate(new Date(min - 1))).toThrow(RangeError);
    expect(() => shanghaiDate(new Date(max + 1))).toThrow(RangeError);
    expect(() => shanghaiDate(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('the scan bound of the business-day calendar', () => {
  it(`accepts up to ${MAX_SCAN_DAYS} business days to add`, () => {
    const from = Date.parse('2026-01-01T00:00:00Z');
    expect(everyDay.addBusinessDays('2026-01-01', MAX_SCAN_DAYS)).toBe(jsIso(from + MAX_SCAN_DAYS * DAY_MS));
    expect(() => everyDay.addBusinessDays('2026-01-01', MAX_SCAN_DAYS + 1)).toThrow(RangeError);
  });

  it(`looks exactly ${MAX_SCAN_DAYS} days ahead for the next business day, not one more`, () => {
    // Only Saturdays work, and every Saturday from 2026-01-10 to 2036-01-05 is a holiday: from
    // 2026-01-04 (a Sunday) the first business day is 2036-01-12, exactly MAX_SCAN_DAYS days on.
    const start = Date.parse('2026-01-04T00:00:00Z');
    const firstOpen = start + MAX_SCAN_DAYS * DAY_MS;
    expect(jsIso(firstOpen)).toBe('2036-01-12');
    expect(new Date(firstOpen).getUTCDay()).toBe(6);
    const years: Record<string, { source: string; provisional: boolean; holidays: unknown[]; workdays: [] }> =
      {};
    for (let t = start + 6 * DAY_MS; t < firstOpen; t += 7 * DAY_MS) {
      const date = jsIso(t);
      const y = date.slice(0, 4);
      years[y] ??= { source: 'test', provisional: false, holidays: [], workdays: [] };
      years[y].holidays.push({ date, name: 'closed' });
    }
    const saturdays = new BusinessCalendar(
      parseCalendarData({ name: 'saturdays', weekend: [0, 1, 2, 3, 4, 5], years }),
    );
    expect(saturdays.nextBusinessDay(jsIso(start + DAY_MS))).toBe(jsIso(firstOpen));
    expect(() => saturdays.nextBusinessDay(jsIso(start))).toThrow(/no business day within 3660 days/);
  });
});

describe('calendar file validation names what is wrong', () => {
  const year = (over: Record<string, unknown> = {}) => ({
    source: 'State Council notice',
    provisional: false,
    holidays: [],
    workdays: [],
    ...over,
  });
  const file = (over: Record<string, unknown> = {}) => ({ name: 'x', weekend: [0, 6], years: {}, ...over });
  const cases: [unknown, RegExp][] = [
    [[], /\(root\) must be an object/],
    [file({ name: '  ' }), /name must be a non-empty string/],
    [file({ name: 5 }), /name must be a non-empty string/],
    [file({ weekend: 'sat,sun' }), /weekend must be an array of weekdays/],
    [file({ weekend: [-1] }), /weekend must contain weekdays/],
    [file({ weekend: [1.5] }), /weekend must contain weekdays/],
    [file({ weekend: [6, 6] }), /weekend must not repeat a weekday/],
    [file({ years: [] }), /years must be an object keyed by four-digit year/],
    [file({ years: { '12026': year() } }), /years\.12026 key must be a four-digit year/],
    [file({ years: { x2026: year() } }), /years\.x2026 key must be a four-digit year/],
    [file({ years: { '2026': 5 } }), /years\.2026 must be an object/],
    [file({ years: { '2026': year({ source: ' ' }) } }), /years\.2026\.source must be a non-empty string/],
    [file({ years: { '2026': year({ source: 7 }) } }), /years\.2026\.source must be a non-empty string/],
    [
      file({ years: { '2026': year({ holidays: [5] }) } }),
      /holidays\[0\] must be an object \{ date, name \}/,
    ],
    [
      file({ years: { '2026': year({ holidays: [{ date: '2026-01-01', name: '   ' }] }) } }),
      /holidays\[0\]\.name must be a non-empty string/,
    ],
    [
      file({ years: { '2026': year({ holidays: [{ date: '2026-01-01', name: 1 }] }) } }),
      /holidays\[0\]\.name must be a non-empty string/,
    ],
    [
      file({ years: { '2026': year({ holidays: [{ date: 'x2026-01-01', name: 'a' }] }) } }),
      /holidays\[0\]\.date must be a valid YYYY-MM-DD date/,
    ],
    [
      file({ years: { '2026': year({ holidays: [{ date: '2026-01-01x', name: 'a' }] }) } }),
      /holidays\[0\]\.date must be a valid YYYY-MM-DD date/,
    ],
    [
      file({ years: { '2026': year({ holidays: [{ date: '2026-0a-01', name: 'a' }] }) } }),
      /holidays\[0\]\.date must be a valid YYYY-MM-DD date/,
    ],
  ];

  it('refuses each malformed file with the path and the rule it breaks', () => {
    for (const [json, message] of cases) {
      expect(() => parseCalendarData(json), JSON.stringify(json)).toThrow(message);
    }
  });
});

describe('day arithmetic for reports', () => {
  it('moves across month, year and leap-day boundaries like the JavaScript Date', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29');
    expect(addDays('2026-10-05', -29)).toBe('2026-09-06');
    for (const day of ['2026-01-31', '2027-02-28', '2028-02-28', '2030-06-15']) {
      const next = new Date(Date.parse(`${day}T00:00:00.000Z`) + 86_400_000).toISOString().slice(0, 10);
      expect(addDays(day, 1)).toBe(next);
    }
  });

  it('starts a Shanghai day at 16:00 UTC the day before, and knows a real date from a lookalike', () => {
    expect(shanghaiDayStart('2026-10-06').toISOString()).toBe('2026-10-05T16:00:00.000Z');
    expect(shanghaiDate(shanghaiDayStart('2026-10-06'))).toBe('2026-10-06');
    expect(shanghaiDate(new Date(shanghaiDayStart('2026-10-06').getTime() - 1))).toBe('2026-10-05');
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2026-02-29')).toBe(false);
    expect(isCalendarDate('2026-02-30')).toBe(false);
  });
});
