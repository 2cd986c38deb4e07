/**
 * `npm run figures`: the reliability figures the last test run recorded (reports/figures.jsonl,
 * written by test/support/figures.ts), one Markdown row per suite and store, latest entry winning —
 * the table RELIABILITY.md quotes. Run `npm test` (or one suite) first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { FIGURES_FILE } from '../test/support/figures.js';

if (!existsSync(FIGURES_FILE)) {
  process.stderr.write(`no figures yet: run the tests first (${FIGURES_FILE})\n`);
  process.exit(1);
}
const latest = new Map<string, Record<string, unknown>>();
for (const line of readFileSync(FIGURES_FILE, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const row = JSON.parse(line) as Record<string, unknown>;
  latest.set(`${row.suite}/${row.store ?? ''}`, row);
}
const rows = [...latest.values()].sort((a, b) => String(a.suite).localeCompare(String(b.suite)));
process.stdout.write('| Suite | Store | Figures | Recorded |\n|---|---|---|---|\n');
for (const r of rows) {
  const { suite, store, at, ...figures } = r;
  const text = Object.entries(figures)
    .map(([k, v]) => `${k} ${typeof v === 'number' && k !== 'seed' ? v.toLocaleString('en-US') : String(v)}`)
    .join(', ');
  process.stdout.write(`| ${suite} | ${store ?? '—'} | ${text} | ${String(at).slice(0, 16)} |\n`);
}
