import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BusinessCalendar, parseCalendarData } from '../domain/calendar.js';

/**
 * The shipped PRC calendar. Resolved from this module's URL: both `src/store/` (tsx, vitest) and
 * `dist/store/` (compiled) sit two levels below the package root, next to `data/`.
 */
export const DEFAULT_CALENDAR_PATH = fileURLToPath(new URL('../../data/calendars/cn.json', import.meta.url));

/** Reads, validates and builds a business calendar from a JSON file (default: the PRC calendar). */
export function loadCalendarFile(path: string = DEFAULT_CALENDAR_PATH): BusinessCalendar {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read calendar file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`calendar file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    return new BusinessCalendar(parseCalendarData(json));
  } catch (err) {
    throw new Error(`calendar file ${path}: ${(err as Error).message}`, { cause: err });
  }
}
