/**
 * `npm run bench`: every figure of issue 10, measured from outside the product, on SQLite and
 * PostgreSQL, printed as one table and written to bench/results.json. See bench/README.md.
 *
 *   npm run bench                     the full bench (about 15 minutes on 2 cores)
 *   npm run bench:quick               everything small (BENCH_QUICK=1), about a minute or two
 *   BENCH_PHASES=sqlite,growth …      only some phases (fsync, sqlite, postgres, growth)
 *
 * Processes: this one (orchestrator: setup calls, checks, RSS sampling, the table), the product
 * (`refund-desk serve`), the floor server, and the load generator (bench/load.ts) — never the
 * load generator and a server in one process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { probeFsync } from './fsync-probe.js';
import {
  addFigure,
  type Figure,
  failures,
  figures,
  Loader,
  type Measured,
  notes,
  S,
  step,
} from './harness.js';
import { BENCH_DIR, machine, REPO_DIR, RssSampler, round, say } from './lib.js';
import { growthPhase } from './phase-growth.js';
import { postgresPhase } from './phase-postgres.js';
import { sqlitePhase } from './phase-sqlite.js';
import { NETWORK_DELAY_MS, serverMode } from './product.js';

const RESULTS_FILE =
  process.env.BENCH_RESULTS || join(BENCH_DIR, S.quick ? 'results-quick.json' : 'results.json');

const watchdog = setTimeout(() => {
  process.stderr.write(`bench: still running after ${S.runDeadlineMs / 60_000} min; giving up\n`);
  process.exit(2);
}, S.runDeadlineMs);
watchdog.unref();

async function pgReachable(): Promise<string | null> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: S.pgUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function fsyncFigures(dir: string): void {
  for (const f of probeFsync(dir, S.fsyncOps, 10_000)) {
    addFigure({
      figure: `disk: 4 KiB ${f.pattern === 'append' ? 'append (WAL-like)' : 'overwrite'} + fdatasync`,
      store: 'disk',
      load: `${f.count} syncs, one at a time, in the SQLite directory`,
      value: f.opsPerSec,
      unit: 'syncs/s',
      p50Ms: f.p50Ms,
      p99Ms: f.p99Ms,
      maxMs: f.maxMs,
      target: 'the ceiling',
      met: null,
    });
  }
}

const num = (x: number | undefined, digits: number) =>
  x === undefined || !Number.isFinite(x)
    ? ''
    : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function valueText(f: Figure): string {
  const digits = f.unit === '×' ? 2 : f.unit === 's' ? 2 : f.unit.startsWith('ms') ? 2 : 0;
  return `${num(f.value, digits)} ${f.unit}`;
}

export function table(rows: Figure[]): string {
  const head = '| figure | store | load | result | p50 ms | p99 ms | max ms | errors | target | met | note |';
  const rule = '|---|---|---|---:|---:|---:|---:|---:|---|---|---|';
  const lines = rows.map((f) =>
    [
      f.figure,
      f.store,
      f.load,
      valueText(f),
      num(f.p50Ms, 2),
      num(f.p99Ms, 2),
      num(f.maxMs, 1),
      f.errors === undefined ? '' : String(f.errors),
      f.target ?? '',
      f.met === undefined || f.met === null ? '' : f.met ? 'met' : '**not met**',
      f.note ?? '',
    ].join(' | '),
  );
  return [head, rule, ...lines.map((l) => `| ${l} |`)].join('\n');
}

async function main(): Promise<void> {
  const m = machine();
  say(`Refund Desk benchmark (issue 10)${S.quick ? ' — QUICK MODE: small sizes, not for the README' : ''}`);
  say(
    `  machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.platform}; Node ${m.node}; ${m.date}`,
  );
  say(`  server: refund-desk serve from ${serverMode()}, in-process acquirer (${NETWORK_DELAY_MS} ms)`);
  const dir = mkdtempSync(join(os.tmpdir(), 'refund-desk-bench-'));
  const rss = new RssSampler(200);
  const loader = await Loader.start();
  const t0 = Date.now();
  let empty: Measured | null = null;
  try {
    if (S.phases.includes('fsync')) {
      say('disk: fsync probe');
      await step('fsync probe', async () => fsyncFigures(dir));
    }
    if (S.phases.includes('sqlite')) {
      say('sqlite: product vs floor, open loop, counter refunds');
      await step('sqlite', async () => {
        empty = (await sqlitePhase(loader, rss, dir))?.product ?? null;
      });
    }
    if (S.phases.includes('postgres')) {
      const down = await pgReachable();
      if (down) {
        const line = `PostgreSQL not reachable at ${S.pgUrl} (${down}): skipped (scripts/ensure-postgres.sh starts one)`;
        failures.push(line);
        say(`postgres: ${line}`);
      } else {
        say('postgres: product vs floor, 100 merchants and 1 merchant');
        await step('postgres', () => postgresPhase(loader, rss));
      }
    }
    if (S.phases.includes('growth')) {
      say(`growth: ${S.growthPayments.toLocaleString('en-US')} payments + refunds (sqlite only)`);
      await step('growth', () => growthPhase(loader, rss, dir, empty));
    }
  } finally {
    loader.stop();
    rss.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [label, mib] of rss.maxByLabel)
    notes.push(`max RSS of the ${label} server: ${mib.toFixed(0)} MiB`);
  const maxMB = rss.max * 1.048_576;
  addFigure({
    figure: 'memory: max RSS of the server process',
    store: 'all',
    load: `sampled every 200 ms through every phase (${[...rss.maxByLabel.keys()].join(', ')})`,
    value: maxMB,
    unit: 'MB',
    target: '≤ 300 MB',
    met: maxMB > 0 ? maxMB <= 300 : null,
    ...(maxMB > 300 ? { note: `${round(maxMB - 300, 0)} MB over` } : {}),
  });
  report(m, (Date.now() - t0) / 1000);
}

function report(m: ReturnType<typeof machine>, seconds: number): void {
  say('');
  say(table(figures));
  say('');
  say(
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node}; ${m.date.slice(0, 10)}; ${Math.round(seconds)} s`,
  );
  for (const n of notes) say(`note: ${n}`);
  for (const f of failures) say(`FAILED: ${f}`);
  const notMet = figures.filter((f) => f.met === false).map((f) => f.figure);
  if (notMet.length) say(`targets not met: ${notMet.join('; ')}`);
  else if (failures.length === 0) say('every target measured here met');
  writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify(
      {
        machine: m,
        seconds: Math.round(seconds),
        settings: {
          ...S,
          pgUrl: S.pgUrl.replace(/\/\/[^@]*@/, '//…@'),
          server: serverMode(),
          networkDelayMs: NETWORK_DELAY_MS,
        },
        figures: figures.map((f) => ({
          ...f,
          value: round(f.value, 3),
          ...(f.p50Ms === undefined ? {} : { p50Ms: round(f.p50Ms, 3) }),
          ...(f.p99Ms === undefined ? {} : { p99Ms: round(f.p99Ms, 3) }),
          ...(f.maxMs === undefined ? {} : { maxMs: round(f.maxMs, 3) }),
        })),
        notes,
        failures,
      },
      null,
      2,
    )}\n`,
  );
  // Formatted as the repository's formatter wants it, so that `npm run lint` stays clean after a run.
  spawnSync(join(REPO_DIR, 'node_modules', '.bin', 'biome'), ['format', '--write', RESULTS_FILE], {
    stdio: 'ignore',
  });
  say(`results written to ${RESULTS_FILE}`);
  if (failures.length > 0) process.exitCode = 1;
}

await main();
