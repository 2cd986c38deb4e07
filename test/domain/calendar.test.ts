import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BusinessCalendar,
  type CalendarData,
  MAX_SCAN_DAYS,
  parseCalendarData,
  shanghaiDate,
} from '../../src/domain/calendar.js';
import { DEFAULT_CALENDAR_PATH, loadCalendarFile } from '../../src/store/calendar-file.js';

const shippedJson: unknown = JSON.parse(readFileSync(DEFAULT_CALENDAR_PATH, 'utf8'));
const shipped = parseCalendarData(shippedJson);
const cn = new BusinessCalendar(shipped);

/** Independent oracle: weekday via the built-in UTC calendar (0 = Sunday). */
const weekday = (date: string): number => new Date(`${date}T00:00:00Z`).getUTCDay();

const DAY_MS = 86_400_000;
const isoFromOffset = (base: string, offset: number): string =>
  new Date(Date.parse(`${base}T00:00:00Z`) + offset * DAY_MS).toISOString().slice(0, 10);

/** 2025-01-01 .. 2028-12-31: the shipped years plus a fallback (weekends-only) year on each side. */
const anyDate = fc.integer({ min: 0, max: 4 * 366 - 1 }).map((n) => isoFromOffset('2025-01-01', n));
const anyDays = fc.integer({ min: 0, max: 60 });

function calendar(years: Record<string, unknown>, weekend: number[] = [0, 6]): unknown {
  return { name: 'test', weekend, years };
}

function year(holidays: string[], workdays: string[] = []): unknown {
  return {
    source: 'test',
    provisional: false,
    holidays: holidays.map((date) => ({ date, name: 'holiday' })),
    workdays: workdays.map((date) => ({ date, name: 'make-up' })),
  };
}

describe('PRC calendar, 2026 (State Council notice)', () => {
  it('a refund asked on 2026-02-14 (Saturday make-up workday) counts that day as a business day', () => {
    expect(weekday('2026-02-14')).toBe(6);
    expect(cn.isBusinessDay('2026-02-14')).toBe(true);
    expect(cn.nextBusinessDay('2026-02-14')).toBe('2026-02-14');
    expect(cn.addBusinessDays('2026-02-14', 0)).toBe('2026-02-14');
  });

  it('Spring Festival week is skipped', () => {
    for (let d = 15; d <= 23; d++) expect(cn.isBusinessDay(`2026-02-${d}`)).toBe(false);
    expect(cn.addBusinessDays('2026-02-14', 1)).toBe('2026-02-24');
    expect(cn.nextBusinessDay('2026-02-15')).toBe('2026-02-24');
    expect(cn.addBusinessDays('2026-02-13', 3)).toBe('2026-02-25');
  });

  it('National Day: asking on 2026-09-30 with 1 business day lands on 2026-10-08', () => {
    expect(cn.addBusinessDays('2026-09-30', 1)).toBe('2026-10-08');
  });

  it('National Day make-up days (Sun 2026-09-20, Sat 2026-10-10) are business days', () => {
    expect(cn.isBusinessDay('2026-09-20')).toBe(true);
    expect(cn.isBusinessDay('2026-10-10')).toBe(true);
    expect(cn.addBusinessDays('2026-10-08', 2)).toBe('2026-10-10');
    // An ordinary weekend is still off.
    expect(cn.isBusinessDay('2026-10-11')).toBe(false);
    expect(cn.nextBusinessDay('2026-10-11')).toBe('2026-10-12');
  });

  it('New Year: 2026-01-01..03 are off and Sunday 2026-01-04 is a working day', () => {
    expect(cn.isBusinessDay('2026-01-01')).toBe(false);
    expect(cn.nextBusinessDay('2025-12-31')).toBe('2025-12-31');
    expect(cn.addBusinessDays('2025-12-31', 1)).toBe('2026-01-04');
  });

  it('an ordinary week counts Monday to Friday', () => {
    expect(cn.isBusinessDay('2026-03-02')).toBe(true);
    expect(cn.isBusinessDay('2026-03-07')).toBe(false);
    expect(cn.addBusinessDays('2026-03-06', 1)).toBe('2026-03-09');
    expect(cn.addBusinessDays('2026-03-07', 5)).toBe('2026-03-16');
  });
});

describe('years outside the data', () => {
  it('fall back to weekends only and are reported as not covered', () => {
    expect(cn.coversDate('2026-06-01')).toBe(true);
    expect(cn.coversDate('2027-06-01')).toBe(true);
    expect(cn.coversDate('2028-10-02')).toBe(false);
    // 2028-10-02 is a Monday: a working day under the weekends-only fallback.
    expect(cn.isBusinessDay('2028-10-02')).toBe(true);
    expect(cn.addBusinessDays('2028-12-29', 1)).toBe('2029-01-01');
  });

  it('a calendar crossing from a covered year into an uncovered one keeps counting', () => {
    expect(cn.addBusinessDays('2027-12-31', 1)).toBe('2028-01-03');
  });
});

describe('shipped calendar file', () => {
  it('loads through the store with the default path', () => {
    const loaded = loadCalendarFile();
    expect(loaded.name).toBe('PRC (mainland China)');
    expect(loaded.addBusinessDays('2026-09-30', 1)).toBe('2026-10-08');
  });

  it('every make-up workday is a Saturday or Sunday', () => {
    for (const y of Object.values(shipped.years)) {
      for (const w of y.workdays) expect([0, 6], `${w.date} ${w.name}`).toContain(weekday(w.date));
    }
  });

  it('every year holds entries of that year only, in order, and marks 2026 official and 2027 provisional', () => {
    for (const [key, y] of Object.entries(shipped.years)) {
      for (const list of [y.holidays, y.workdays]) {
        const dates = list.map((e) => e.date);
        expect(dates.every((d) => d.startsWith(`${key}-`))).toBe(true);
        expect([...dates].sort()).toEqual(dates);
      }
    }
    expect(shipped.years['2026']?.provisional).toBe(false);
    expect(shipped.years['2027']?.provisional).toBe(true);
    expect(shipped.years['2027']?.source).toMatch(/replace/i);
  });

  it('matches the 2026 notice day counts (33 days off, 6 make-up days)', () => {
    expect(shipped.years['2026']?.holidays).toHaveLength(33);
    expect(shipped.years['2026']?.workdays.map((w) => w.date)).toEqual([
      '2026-01-04',
      '2026-02-14',
      '2026-02-28',
      '2026-05-09',
      '2026-09-20',
      '2026-10-10',
    ]);
  });

  it('the 2027 estimate keeps the statutory days off', () => {
    for (const d of ['2027-01-01', '2027-02-05', '2027-02-08', '2027-04-05', '2027-05-03', '2027-06-09']) {
      expect(cn.isBusinessDay(d), d).toBe(false);
    }
    for (const d of ['2027-09-15', '2027-10-01', '2027-10-04', '2027-10-05']) {
      expect(cn.isBusinessDay(d), d).toBe(false);
    }
  });
});

describe('parseCalendarData', () => {
  it('accepts the shipped file and returns a copy', () => {
    expect(shipped.name).toBe('PRC (mainland China)');
    expect(shipped.weekend).toEqual([0, 6]);
    expect(shipped).not.toBe(shippedJson);
  });

  it('rejects a date listed as both holiday and workday', () => {
    expect(() => parseCalendarData(calendar({ 2026: year(['2026-05-09'], ['2026-05-09']) }))).toThrow(
      /2026-05-09 as both a holiday and a workday/,
    );
  });

  it('rejects dates that are not valid YYYY-MM-DD', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '2026-1-05', '20260105', '2026-02-29T00:00', 20260105]) {
      expect(() => parseCalendarData(calendar({ 2026: year([bad as string]) })), String(bad)).toThrow(
        /years\.2026\.holidays\[0\]\.date must be a valid YYYY-MM-DD date/,
      );
    }
    expect(() => parseCalendarData(calendar({ 2028: year(['2028-02-29']) }))).not.toThrow();
  });

  it('rejects a date filed under another year and a date listed twice', () => {
    expect(() => parseCalendarData(calendar({ 2026: year(['2027-01-01']) }))).toThrow(/not in year 2026/);
    expect(() => parseCalendarData(calendar({ 2026: year(['2026-01-01', '2026-01-01']) }))).toThrow(
      /listed twice/,
    );
  });

  it('rejects a malformed shape with the offending path', () => {
    expect(() => parseCalendarData(null)).toThrow(/must be an object/);
    expect(() => parseCalendarData({ weekend: [0, 6], years: {} })).toThrow(/name must be/);
    expect(() => parseCalendarData(calendar({}, [0, 7]))).toThrow(/weekend must contain weekdays/);
    expect(() => parseCalendarData(calendar({}, [0, 1, 2, 3, 4, 5, 6]))).toThrow(
      /at least one working weekday/,
    );
    expect(() => parseCalendarData(calendar({ '26': year([]) }))).toThrow(/four-digit year/);
    expect(() => parseCalendarData(calendar({ 2026: { source: 'x', provisional: 'no' } }))).toThrow(
      /years\.2026\.provisional must be a boolean/,
    );
    expect(() =>
      parseCalendarData(calendar({ 2026: { source: 'x', provisional: false, holidays: [], workdays: {} } })),
    ).toThrow(/years\.2026\.workdays must be an array/);
    expect(() =>
      parseCalendarData(
        calendar({
          2026: { source: 'x', provisional: false, holidays: [{ date: '2026-01-01' }], workdays: [] },
        }),
      ),
    ).toThrow(/holidays\[0\]\.name must be a non-empty string/);
  });

  it('errors are plain Errors', () => {
    expect(() => parseCalendarData([])).toThrow(Error);
  });
});

describe('BusinessCalendar arguments and bounds', () => {
  it('rejects invalid dates and day counts', () => {
    expect(() => cn.isBusinessDay('2026-02-30')).toThrow(RangeError);
    expect(() => cn.nextBusinessDay('tomorrow')).toThrow(/invalid date/);
    expect(() => cn.addBusinessDays('2026-03-02', -1)).toThrow(RangeError);
    expect(() => cn.addBusinessDays('2026-03-02', 1.5)).toThrow(RangeError);
    expect(() => cn.addBusinessDays('2026-03-02', MAX_SCAN_DAYS + 1)).toThrow(RangeError);
    expect(() => cn.addBusinessDays('2026-03-02', Number.NaN)).toThrow(RangeError);
  });

  it('the constructor rejects unvalidated data with a date both holiday and workday', () => {
    const data = {
      name: 'x',
      weekend: [0, 6],
      years: { 2026: year(['2026-05-09'], ['2026-05-09']) },
    } as unknown as CalendarData;
    expect(() => new BusinessCalendar(data)).toThrow(/both a holiday and a workday/);
  });

  it('throws instead of looping forever when no business day exists', () => {
    // Eleven years (2026-2036) of nothing but holidays: more than MAX_SCAN_DAYS consecutive days off.
    const allOff = parseCalendarData(
      calendar(
        Object.fromEntries(
          [2026, 2027, 2028, 2029, 2030, 2031, 2032, 2033, 2034, 2035, 2036].map((y) => [
            String(y),
            year(
              Array.from({ length: 365 + (y % 4 === 0 ? 1 : 0) }, (_, n) => isoFromOffset(`${y}-01-01`, n)),
            ),
          ]),
        ),
      ),
    );
    const off = new BusinessCalendar(allOff);
    expect(() => off.nextBusinessDay('2026-01-01')).toThrow(/no business day within 3660 days/);
  });
});

describe('shanghaiDate', () => {
  it('gives the Asia/Shanghai calendar date of an instant (UTC+8, no DST)', () => {
    expect(shanghaiDate(new Date('2026-09-30T15:59:59.999Z'))).toBe('2026-09-30');
    expect(shanghaiDate(new Date('2026-09-30T16:00:00Z'))).toBe('2026-10-01');
    expect(shanghaiDate(new Date('2026-12-31T16:00:00Z'))).toBe('2027-01-01');
    expect(shanghaiDate(new Date('2026-07-01T00:00:00+08:00'))).toBe('2026-07-01');
    expect(shanghaiDate(new Date('1969-12-31T16:00:00Z'))).toBe('1970-01-01');
    expect(shanghaiDate(new Date('1969-12-31T15:59:59Z'))).toBe('1969-12-31');
  });

  it('rejects an invalid Date', () => {
    expect(() => shanghaiDate(new Date(Number.NaN))).toThrow(RangeError);
  });

  it('agrees with Intl for any instant since China ended daylight saving (1992)', () => {
    const fmt = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' });
    // Intl knows the 1986–1991 summers at UTC+9 (e.g. 1991-09-12T15:00Z was already the 13th);
    // the product's dates are UTC+8 all year, as China has kept since 1992.
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1992, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        const instant = new Date(ms);
        expect(shanghaiDate(instant)).toBe(fmt.format(instant));
      }),
    );
    expect(shanghaiDate(new Date(684687600000))).toBe('1991-09-12');
  });
});

describe('properties of addBusinessDays', () => {
  it('the result is always a business day, on or after the asked date', () => {
    fc.assert(
      fc.property(anyDate, anyDays, (d, n) => {
        const r = cn.addBusinessDays(d, n);
        expect(cn.isBusinessDay(r)).toBe(true);
        expect(r >= d).toBe(true);
      }),
    );
  });

  it('is monotonic in days', () => {
    fc.assert(
      fc.property(anyDate, anyDays, anyDays, (d, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(cn.addBusinessDays(d, lo) <= cn.addBusinessDays(d, hi)).toBe(true);
      }),
    );
  });

  it('one more business day is strictly later', () => {
    fc.assert(
      fc.property(anyDate, anyDays, (d, n) => {
        expect(cn.addBusinessDays(d, n + 1) > cn.addBusinessDays(d, n)).toBe(true);
      }),
    );
  });

  it('is monotonic in the asked date', () => {
    fc.assert(
      fc.property(anyDate, anyDate, anyDays, (a, b, n) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(cn.addBusinessDays(lo, n) <= cn.addBusinessDays(hi, n)).toBe(true);
      }),
    );
  });

  it('counts exactly n business days after the first one (day-by-day reference)', () => {
    fc.assert(
      fc.property(anyDate, anyDays, (d, n) => {
        const start = cn.nextBusinessDay(d);
        const result = cn.addBusinessDays(d, n);
        let count = 0;
        for (let day = isoFromOffset(start, 1); day <= result; day = isoFromOffset(day, 1)) {
          if (cn.isBusinessDay(day)) count++;
        }
        expect(count).toBe(n);
        expect(cn.addBusinessDays(d, 0)).toBe(start);
      }),
    );
  });
});
