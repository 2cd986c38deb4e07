/**
 * Growth (SQLite): the product migrates and seeds an empty store, is stopped, the store is grown to
 * S.growthPayments payments with one refund each (bench/growth-seed.ts), and the product starts
 * again on it. Then: refund creation as in the SQLite phase (against that phase's empty-store
 * figure), list pages and order lookups one request at a time, settlement of two open batches and
 * reconciliation of two settlement files, 10× apart, through the API.
 */
import { join } from 'node:path';
import { type GrowthSeed, orderNoOf, seedGrowth, settlementFile } from './growth-seed.js';
import {
  abba,
  addFigure,
  checkCount,
  createPayments,
  demoMerchant,
  type Loader,
  type Measured,
  measured,
  paymentsFor,
  plus,
  productEndpoint,
  reportErrors,
  S,
  step,
  warmUp,
} from './harness.js';
import { call, expectStatus, type RssSampler, round } from './lib.js';
import type { GetJob } from './load.js';
import { type Product, startProduct } from './product.js';
import { openProbe, sqlitePath } from './stores.js';

const LONG_CALL_MS = 900_000;

export async function growthPhase(loader: Loader, rss: RssSampler, dir: string, empty: Measured | null) {
  const databaseUrl = `sqlite:${join(dir, 'growth.db')}`;
  // The product creates its own schema and demo merchant; the seed only adds rows to them.
  const first = await startProduct({ databaseUrl, poolSize: S.pgPool });
  await first.stop();
  const plan = {
    payments: S.growthPayments,
    reconLines: [S.growthSmall, S.growthLarge] as [number, number],
    batchTransactions: [S.growthSmall, S.growthLarge] as [number, number],
  };
  const seed = seedGrowth(sqlitePath(databaseUrl), plan);
  process.stdout.write(
    `  [growth] seeded ${seed.rows.payments.toLocaleString('en-US')} payments + refunds (+ history rows) in ${seed.seconds.toFixed(1)} s\n`,
  );
  const product = await startProduct({ databaseUrl, poolSize: S.pgPool });
  rss.watch(product.pid, 'growth');
  try {
    const { admin, cashier } = await demoMerchant(product.base);
    await step('growth: refund creation', () =>
      refundsOnGrownStore(loader, rss, dir, { product, databaseUrl, cashier }, empty),
    );
    await step('growth: lookups', () => lookups(loader, product, cashier, seed));
    await step('growth: settlements', () => settlements(product, admin, seed));
    await step('growth: reconciliations', () => reconciliations(product, admin, seed));
  } finally {
    rss.unwatch(product.pid);
    await product.stop();
  }
}

/**
 * Refund creation on the grown store against a second product on a fresh, empty store, started
 * beside it: ABBA in the same minutes, so that the disk's mood (a shared VM) weighs on both alike.
 * The SQLite phase's figure is shown too.
 */
async function refundsOnGrownStore(
  loader: Loader,
  rss: RssSampler,
  dir: string,
  grown: { product: Product; databaseUrl: string; cashier: Record<string, string> },
  earlier: Measured | null,
) {
  const emptyUrl = `sqlite:${join(dir, 'growth-empty.db')}`;
  const fresh = await startProduct({ databaseUrl: emptyUrl, poolSize: S.pgPool });
  rss.watch(fresh.pid, 'growth-empty');
  const probes = [await openProbe(grown.databaseUrl), await openProbe(emptyUrl)];
  try {
    const freshCashier = (await demoMerchant(fresh.base)).cashier;
    const count = paymentsFor(S.warmup + S.n, S.sqliteConnections);
    const big = productEndpoint('grown', grown.product, [
      { headers: grown.cashier, paymentIds: await createPayments(grown.product.base, grown.cashier, count) },
    ]);
    const small = productEndpoint('empty', fresh, [
      { headers: freshCashier, paymentIds: await createPayments(fresh.base, freshCashier, count) },
    ]);
    const before = await Promise.all(probes.map((p) => p.countRefunds()));
    const warm = await warmUp(loader, [big, small], S.warmup, S.sqliteConnections);
    const { a, b } = await abba(loader, big, small, S.n, S.sqliteConnections, 'growth');
    const after = await Promise.all(probes.map((p) => p.countRefunds()));
    checkCount('growth refunds', before[0] ?? 0, after[0] ?? 0, plus(warm.get('grown'), a));
    checkCount('growth empty-store refunds', before[1] ?? 0, after[1] ?? 0, plus(warm.get('empty'), b));
    reportErrors('growth refunds', a);
    reportErrors('growth empty-store refunds', b);
    const pct = (a.reqPerSec / b.reqPerSec) * 100;
    process.stdout.write(
      `  [growth] refund creation ${round(a.reqPerSec)} req/s = ${round(pct)} % of the empty store\n`,
    );
    const load = `${S.sqliteConnections} connections, ${S.n} refunds`;
    addFigure({
      figure: `refund creation, ${S.growthPayments.toLocaleString('en-US')} payments + refunds in store`,
      store: 'sqlite',
      load,
      value: a.reqPerSec,
      unit: 'req/s',
      p50Ms: a.p50Ms,
      p99Ms: a.p99Ms,
      maxMs: a.maxMs,
      errors: a.errors + a.notSent,
      target: '≥ 80 % of empty store',
      met: pct >= 80,
      note: `${round(pct)} % of the empty store beside it`,
    });
    addFigure({
      figure: 'refund creation, empty store (beside the grown one)',
      store: 'sqlite',
      load,
      value: b.reqPerSec,
      unit: 'req/s',
      p50Ms: b.p50Ms,
      p99Ms: b.p99Ms,
      maxMs: b.maxMs,
      errors: b.errors + b.notSent,
      ...(earlier ? { note: `the SQLite phase measured ${round(earlier.reqPerSec)} req/s` } : {}),
    });
  } finally {
    await Promise.all(probes.map((p) => p.close()));
    rss.unwatch(fresh.pid);
    await fresh.stop();
  }
}

/** GET paths one at a time (after one unmeasured pass over the first few); p99 against 5 ms. */
async function lookups(loader: Loader, product: Product, cashier: Record<string, string>, seed: GrowthSeed) {
  const history = seed.slices.find((s) => s.name === 'history');
  const from = history?.from ?? 0;
  const span = Math.max(1, (history?.to ?? 1) - from);
  const orderAt = (i: number) => orderNoOf(from + ((i * 7_919_993) % span));
  const r = S.getRepeats;
  // Deep pages: a cursor from well inside the history (found with `to=`), then the page after it.
  const cursors: string[] = [];
  for (let k = 0; k < 10; k++) {
    const to = new Date(Date.now() - (30 + k * 30) * 86_400_000).toISOString();
    const page = await expectStatus(
      'GET /v1/refunds?to=',
      call(product.base, 'GET', `/v1/refunds?to=${encodeURIComponent(to)}`, undefined, cashier),
      200,
    );
    if (page.body.nextCursor) cursors.push(page.body.nextCursor as string);
  }
  const kinds: [string, string[]][] = [
    ['GET /v1/refunds, first page', Array.from({ length: r }, () => '/v1/refunds')],
    [
      'GET /v1/refunds, a page deep (cursor)',
      Array.from(
        { length: r },
        (_, i) => `/v1/refunds?cursor=${cursors[i % Math.max(1, cursors.length)] ?? ''}`,
      ),
    ],
    ['GET /v1/refunds?orderNo=', Array.from({ length: r }, (_, i) => `/v1/refunds?orderNo=${orderAt(i)}`)],
    ['GET /v1/orders/:orderNo', Array.from({ length: r }, (_, i) => `/v1/orders/${orderAt(i + r)}`)],
  ];
  for (const [figure, paths] of kinds) {
    const job = (p: string[]): GetJob => ({
      kind: 'get',
      host: product.host,
      port: product.port,
      paths: p,
      headers: cashier,
      requestTimeoutMs: S.requestTimeoutMs,
    });
    await loader.run(job(paths.slice(0, 10)), 120_000);
    const m = measured([await loader.run(job(paths), S.segmentDeadlineMs + 60_000)]);
    reportErrors(figure, m);
    process.stdout.write(`  [growth] ${figure}: p50 ${round(m.p50Ms, 2)} ms, p99 ${round(m.p99Ms, 2)} ms\n`);
    addFigure({
      figure,
      store: 'sqlite',
      load: `${S.growthPayments.toLocaleString('en-US')} refunds in store; ${paths.length} requests, one at a time`,
      value: m.p99Ms,
      unit: 'ms p99',
      p50Ms: m.p50Ms,
      p99Ms: m.p99Ms,
      maxMs: m.maxMs,
      errors: m.errors,
      target: 'p99 ≤ 5 ms',
      met: m.p99Ms <= 5 && m.errors === 0,
      ...(m.p99Ms > 5 ? { note: `${round(m.p99Ms / 5, 1)}× the bound` } : {}),
    });
  }
}

/** Linear if 10× the work takes at most 12× the time. */
const LINEAR_MAX_RATIO = 12;

function sizeFigures(what: string, sizes: [number, number], seconds: [number, number], unit: string) {
  const ratio = seconds[1] / seconds[0];
  for (const [i, size] of sizes.entries()) {
    addFigure({
      figure: `${what}, ${size.toLocaleString('en-US')} ${unit}`,
      store: 'sqlite',
      load: `${S.growthPayments.toLocaleString('en-US')} payments in store; one request`,
      value: seconds[i] ?? Number.NaN,
      unit: 's',
      ...(i === 1
        ? {
            target: `linear (${(sizes[1] / sizes[0]).toFixed(0)}× the size ≤ ${LINEAR_MAX_RATIO}× the time)`,
            met: ratio <= LINEAR_MAX_RATIO,
            note: `${round(ratio, 1)}× the time of ${sizes[0].toLocaleString('en-US')}`,
          }
        : { target: 'measured', met: null }),
    });
  }
}

async function settlements(product: Product, admin: Record<string, string>, seed: GrowthSeed) {
  const seconds: number[] = [];
  for (const [i, terminalId] of seed.batchTerminals.entries()) {
    const size = seed.plan.batchTransactions[i] ?? 0;
    const r = await call(
      product.base,
      'POST',
      '/v1/settlements',
      { terminalId },
      { ...admin, 'idempotency-key': `bench-settle-${terminalId}-${Date.now()}` },
      LONG_CALL_MS,
    );
    const t = r.body?.totals;
    const got = (t?.sales?.count ?? 0) + (t?.refunds?.count ?? 0);
    if (r.status !== 201 || got !== size) {
      throw new Error(
        `settlement of ${terminalId}: ${r.status}, ${got} of ${size} transactions: ${JSON.stringify(r.body).slice(0, 400)}`,
      );
    }
    seconds.push(r.ms / 1000);
    process.stdout.write(`  [growth] settlement of ${size} transactions: ${(r.ms / 1000).toFixed(2)} s\n`);
  }
  sizeFigures(
    'settlement (POST /v1/settlements)',
    seed.plan.batchTransactions,
    seconds as [number, number],
    'transactions',
  );
}

async function reconciliations(product: Product, admin: Record<string, string>, seed: GrowthSeed) {
  const seconds: number[] = [];
  for (const [i, name] of ['recon-small', 'recon-large'].entries()) {
    const slice = seed.slices.find((s) => s.name === name);
    if (!slice) throw new Error(`no ${name} slice`);
    const lines = seed.plan.reconLines[i] ?? 0;
    const csv = settlementFile(slice, seed.seededAt);
    const r = await call(
      product.base,
      'POST',
      '/v1/reconciliations',
      { day: seed.reconDays[i], csv },
      { ...admin, 'idempotency-key': `bench-recon-${name}-${Date.now()}` },
      LONG_CALL_MS,
    );
    if (r.status !== 201 || r.body?.matched !== lines || r.body?.balanced !== true) {
      throw new Error(
        `reconciliation of ${lines} lines: ${r.status}, matched ${r.body?.matched}, balanced ${r.body?.balanced}: ${JSON.stringify(r.body).slice(0, 600)}`,
      );
    }
    seconds.push(r.ms / 1000);
    process.stdout.write(
      `  [growth] reconciliation of ${lines} lines: ${(r.ms / 1000).toFixed(2)} s (balanced)\n`,
    );
  }
  sizeFigures(
    'reconciliation (POST /v1/reconciliations)',
    seed.plan.reconLines,
    seconds as [number, number],
    'lines',
  );
}
