import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The bench keeps working as the product changes: a tiny run of its SQLite and growth phases
 * (product and floor servers, load generator, open loop, counter refunds, a grown store,
 * settlement and reconciliation) must finish without a failed request or store check and
 * produce every figure. Targets are not asserted: timings on a CI runner mean nothing.
 */
describe('npm run bench (tiny sizes)', () => {
  it('produces every SQLite and growth figure with no failed request or store check', () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'bench-quick-test-'));
    const results = join(dir, 'results.json');
    try {
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/main.ts'], {
        env: {
          ...process.env,
          BENCH_QUICK: '1',
          BENCH_SERVER: 'src',
          BENCH_PHASES: 'fsync,sqlite,growth',
          BENCH_RESULTS: results,
          BENCH_N: '40',
          BENCH_WARMUP: '10',
          BENCH_OPEN_SECONDS: '1',
          BENCH_OPEN_RATE: '50',
          BENCH_COUNTER_N: '8',
          BENCH_GROWTH_PAYMENTS: '3000',
          BENCH_GROWTH_SMALL: '100',
          BENCH_GROWTH_LARGE: '1000',
          BENCH_GET_REPEATS: '10',
          BENCH_FSYNC_OPS: '20',
        },
        encoding: 'utf8',
        timeout: 100_000,
      });
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      const out = JSON.parse(readFileSync(results, 'utf8')) as {
        figures: { figure: string; value: number }[];
        failures: string[];
      };
      expect(out.failures).toEqual([]);
      const names = out.figures.map((f) => f.figure);
      for (const part of [
        'disk: 4 KiB append',
        'refund creation, product (POST /v1/refunds)',
        'refund creation, bare durable floor',
        'product ÷ floor',
        'latency, open loop',
        'counter refunds with a supervisor password',
        'payments + refunds in store',
        'GET /v1/refunds, a page deep (cursor)',
        'GET /v1/orders/:orderNo',
        'settlement (POST /v1/settlements), 1,000 transactions',
        'reconciliation (POST /v1/reconciliations), 1,000 lines',
        'memory: max RSS of the server process',
      ]) {
        expect(
          names.some((n) => n.includes(part)),
          part,
        ).toBe(true);
      }
      for (const f of out.figures) expect(Number.isFinite(f.value), f.figure).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
