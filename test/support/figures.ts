import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The reliability figures of a test run (crash cycles, requests retried, faults injected, fuzz
 * cases, routes × roles, simulation steps…): each suite appends what it measured to
 * `reports/figures.jsonl`, and `npm run figures` turns the last run into RELIABILITY.md's table.
 * Figures are counts a suite observed, never targets it asserts; an assertion still decides pass/fail.
 */
export const FIGURES_FILE = join(dirname(fileURLToPath(import.meta.url)), '../../reports/figures.jsonl');

export function recordFigures(suite: string, figures: Record<string, number | string>): void {
  try {
    mkdirSync(dirname(FIGURES_FILE), { recursive: true });
    appendFileSync(FIGURES_FILE, `${JSON.stringify({ suite, at: new Date().toISOString(), ...figures })}\n`);
  } catch {
    // A read-only checkout still runs the tests; the figures are a report, not a result.
  }
}
