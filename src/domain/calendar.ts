/**
 * Business-day calendar used to compute when a refund is expected to reach the consumer.
 *
 * Pure: no I/O and no clock. Dates are ISO calendar dates `YYYY-MM-DD` in Asia/Shanghai (convert an
 * instant with {@link shanghaiDate}). Arithmetic runs on day numbers (days since 1970-01-01), never on
 * local-time `Date`s. The holiday data lives in `data/calendars/*.json` and is loaded by the store layer.
 */

export interface CalendarEntry {
  readonly date: string;
  readonly name: string;
}

export interface CalendarYear {
  /** Where the year's schedule comes from (e.g. the State Council notice). */
  readonly source: string;
  /** True while the year is an estimate that must be replaced by the official notice. */
  readonly provisional: boolean;
  /** Days off (every day of a holiday block, weekends included). */
  readonly holidays: readonly CalendarEntry[];
  /** Make-up working days (调休上班): weekend days that are business days. */
  readonly workdays: readonly CalendarEntry[];
}

export interface CalendarData {
  readonly name: string;
  /** Weekend days of the week, 0 = Sunday … 6 = Saturday. */
  readonly weekend: readonly number[];
  /** Keyed by four-digit year; years absent here fall back to weekends only. */
  readonly years: Readonly<Record<string, CalendarYear>>;
}

/** Upper bound on calendar days scanned by any loop, and on the `days` argument (about ten years). */
export const MAX_SCAN_DAYS = 3660;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const YEAR_KEY = /^\d{4}$/;
/** The product's calendar, and every merchant's time zone (merchants keep none of their own). */
export const MERCHANT_TIME_ZONE = 'Asia/Shanghai';
const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;
const MS_PER_DAY = 24 * 60 * 60 * 1000;

// ---------------------------------------------------------------------------------------------
// Day-number arithmetic (proleptic Gregorian, H. Hinnant's days_from_civil / civil_from_days).

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeapYear(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: era * 400 + yoe + (m <= 2 ? 1 : 0), m, d };
}

/** Parses `YYYY-MM-DD` into a day number, or returns undefined if it is not a real calendar date. */
function tryDayNumber(date: unknown): number | undefined {
  if (typeof date !== 'string') return undefined;
  const match = ISO_DATE.exec(date);
  if (!match) return undefined;
  const y = Number(match[1]);
  const m = Number(match[2]);
  const d = Number(match[3]);
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return undefined;
  return daysFromCivil(y, m, d);
}

function dayNumber(date: string): number {
  const n = tryDayNumber(date);
  if (n === undefined)
    throw new RangeError(`invalid date ${JSON.stringify(date)}: expected a YYYY-MM-DD calendar date`);
  return n;
}

function isoFromDayNumber(days: number): string {
  const { y, m, d } = civilFromDays(days);
  if (y < 0 || y > 9999) throw new RangeError(`date out of range: year ${y} is not within 0000-9999`);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function yearOfDayNumber(days: number): number {
  return civilFromDays(days).y;
}

/** Day of week of a day number: 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
function weekdayOfDayNumber(days: number): number {
  return (((days + 4) % 7) + 7) % 7;
}

/** The calendar date in Asia/Shanghai (UTC+8 all year, no DST) of an instant, as `YYYY-MM-DD`. */
export function shanghaiDate(instant: Date): string {
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('shanghaiDate: invalid Date');
  return isoFromDayNumber(Math.floor((ms + SHANGHAI_OFFSET_MS) / MS_PER_DAY));
}

/** Whether `date` is a real `YYYY-MM-DD` calendar date. */
export function isCalendarDate(date: string): boolean {
  return tryDayNumber(date) !== undefined;
}

/** `date` moved by `days` calendar days (negative: back). */
export function addDays(date: string, days: number): string {
  return isoFromDayNumber(dayNumber(date) + days);
}

/** The instant a calendar day begins in Asia/Shanghai. */
export function shanghaiDayStart(date: string): Date {
  return new Date(dayNumber(date) * MS_PER_DAY - SHANGHAI_OFFSET_MS);
}

// ---------------------------------------------------------------------------------------------
// Validation of calendar data.

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(path: string, message: string): never {
  throw new Error(`invalid calendar data: ${path} ${message}`);
}

function parseEntries(value: unknown, path: string, year: string): CalendarEntry[] {
  if (!Array.isArray(value)) fail(path, 'must be an array of { date, name }');
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(entry)) fail(at, 'must be an object { date, name }');
    const { date, name } = entry;
    if (tryDayNumber(date) === undefined) {
      fail(`${at}.date`, `must be a valid YYYY-MM-DD date, got ${JSON.stringify(date)}`);
    }
    const iso = date as string;
    if (iso.slice(0, 4) !== year) fail(`${at}.date`, `${iso} is not in year ${year}`);
    if (typeof name !== 'string' || name.trim() === '') fail(`${at}.name`, 'must be a non-empty string');
    if (seen.has(iso)) fail(`${at}.date`, `${iso} is listed twice`);
    seen.add(iso);
    return { date: iso, name };
  });
}

function parseYear(value: unknown, year: string): CalendarYear {
  const path = `years.${year}`;
  if (!isRecord(value)) fail(path, 'must be an object');
  const { source, provisional } = value;
  if (typeof source !== 'string' || source.trim() === '')
    fail(`${path}.source`, 'must be a non-empty string');
  if (typeof provisional !== 'boolean') fail(`${path}.provisional`, 'must be a boolean');
  const holidays = parseEntries(value.holidays, `${path}.holidays`, year);
  const workdays = parseEntries(value.workdays, `${path}.workdays`, year);
  const holidayDates = new Set(holidays.map((h) => h.date));
  for (const w of workdays) {
    if (holidayDates.has(w.date)) fail(path, `lists ${w.date} as both a holiday and a workday`);
  }
  return { source, provisional, holidays, workdays };
}

/**
 * Validates calendar JSON (see `data/calendars/cn.json`) and returns a fresh copy.
 * Throws an `Error` naming the offending path when the shape is wrong, a date is not a valid
 * `YYYY-MM-DD` in its year, a date is listed twice, or a date is both a holiday and a workday.
 */
export function parseCalendarData(json: unknown): CalendarData {
  if (!isRecord(json)) fail('(root)', 'must be an object');
  const { name, weekend, years } = json;
  if (typeof name !== 'string' || name.trim() === '') fail('name', 'must be a non-empty string');
  if (!Array.isArray(weekend)) fail('weekend', 'must be an array of weekdays 0 (Sunday) to 6 (Saturday)');
  for (const day of weekend) {
    if (!Number.isInteger(day) || day < 0 || day > 6) {
      fail('weekend', `must contain weekdays 0 (Sunday) to 6 (Saturday), got ${JSON.stringify(day)}`);
    }
  }
  if (new Set(weekend).size !== weekend.length) fail('weekend', 'must not repeat a weekday');
  if (weekend.length >= 7) fail('weekend', 'must leave at least one working weekday');
  if (!isRecord(years)) fail('years', 'must be an object keyed by four-digit year');
  const parsedYears: Record<string, CalendarYear> = {};
  for (const [year, value] of Object.entries(years)) {
    if (!YEAR_KEY.test(year)) fail(`years.${year}`, 'key must be a four-digit year');
    parsedYears[year] = parseYear(value, year);
  }
  return { name, weekend: [...(weekend as number[])], years: parsedYears };
}

// ---------------------------------------------------------------------------------------------

/**
 * Business days: not a weekend day unless listed as a make-up workday, and not a listed holiday.
 * Years absent from the data fall back to weekends only (see {@link BusinessCalendar.coversDate}).
 */
export class BusinessCalendar {
  readonly name: string;
  private readonly weekend: ReadonlySet<number>;
  private readonly holidays: ReadonlySet<number>;
  private readonly workdays: ReadonlySet<number>;
  private readonly years: ReadonlySet<number>;

  constructor(data: CalendarData) {
    this.name = data.name;
    this.weekend = new Set(data.weekend);
    const holidays = new Set<number>();
    const workdays = new Set<number>();
    const years = new Set<number>();
    for (const [year, entry] of Object.entries(data.years)) {
      years.add(Number(year));
      for (const h of entry.holidays) holidays.add(dayNumber(h.date));
      for (const w of entry.workdays) workdays.add(dayNumber(w.date));
    }
    for (const day of workdays) {
      if (holidays.has(day)) {
        throw new Error(`invalid calendar data: ${isoFromDayNumber(day)} is both a holiday and a workday`);
      }
    }
    this.holidays = holidays;
    this.workdays = workdays;
    this.years = years;
  }

  /** True if the date's year has holiday data; otherwise results for it use weekends only. */
  coversDate(date: string): boolean {
    return this.years.has(yearOfDayNumber(dayNumber(date)));
  }

  isBusinessDay(date: string): boolean {
    return this.isBusinessDayNumber(dayNumber(date));
  }

  /** The date itself if it is a business day, otherwise the first business day after it. */
  nextBusinessDay(date: string): string {
    return isoFromDayNumber(this.nextBusinessDayNumber(dayNumber(date)));
  }

  /**
   * The business day `days` business days after {@link nextBusinessDay}(date): counting starts from
   * the next business day, so `addBusinessDays(d, 0) === nextBusinessDay(d)`.
   * `days` must be an integer from 0 to {@link MAX_SCAN_DAYS}.
   */
  addBusinessDays(date: string, days: number): string {
    if (!Number.isInteger(days) || days < 0 || days > MAX_SCAN_DAYS) {
      throw new RangeError(
        `addBusinessDays: days must be an integer from 0 to ${MAX_SCAN_DAYS}, got ${days}`,
      );
    }
    let current = this.nextBusinessDayNumber(dayNumber(date));
    for (let i = 0; i < days; i++) current = this.nextBusinessDayNumber(current + 1);
    return isoFromDayNumber(current);
  }

  private isBusinessDayNumber(day: number): boolean {
    if (this.holidays.has(day)) return false;
    if (this.workdays.has(day)) return true;
    return !this.weekend.has(weekdayOfDayNumber(day));
  }

  private nextBusinessDayNumber(from: number): number {
    for (let day = from; day < from + MAX_SCAN_DAYS; day++) {
      if (this.isBusinessDayNumber(day)) return day;
    }
    throw new Error(`no business day within ${MAX_SCAN_DAYS} days of ${isoFromDayNumber(from)}`);
  }
}
