/**
 * SQLite: refund creation through the product against the bare durable floor (same run, ABBA,
 * same client, same connections), then the open-loop latency run, then counter refunds approved
 * with a supervisor's refund password.
 */
import { join } from 'node:path';
import {
  abba,
  addFigure,
  checkCount,
  createPayments,
  DEMO_PASSWORDS,
  demoMerchant,
  floorEndpoint,
  floorPaymentIds,
  type Loader,
  type Measured,
  measured,
  paymentsFor,
  plus,
  productEndpoint,
  refundJob,
  reportErrors,
  S,
  startFloor,
  step,
  warmUp,
} from './harness.js';
import { type RssSampler, round } from './lib.js';
import { type Product, startProduct } from './product.js';
import { openProbe } from './stores.js';

export interface SqliteOutcome {
  product: Measured;
  floor: Measured;
}

export async function sqlitePhase(
  loader: Loader,
  rss: RssSampler,
  dir: string,
): Promise<SqliteOutcome | null> {
  const databaseUrl = `sqlite:${join(dir, 'product.db')}`;
  const product = await startProduct({ databaseUrl, poolSize: S.pgPool });
  rss.watch(product.pid, 'sqlite');
  try {
    const { cashier } = await demoMerchant(product.base);
    const openCount = S.openRate * S.openSeconds;
    const planned = 2 * (S.warmup + S.n) + openCount + S.counterN;
    const paymentIds = await createPayments(product.base, cashier, paymentsFor(planned, S.sqliteConnections));
    let outcome: SqliteOutcome | null = null;
    await step('sqlite: product against floor', async () => {
      outcome = await productAgainstFloor(loader, product, dir, cashier, paymentIds);
    });
    await step('sqlite: open loop', () => openLoop(loader, product, databaseUrl, cashier, paymentIds));
    await step('sqlite: counter refunds', () =>
      counterRefunds(loader, product, databaseUrl, cashier, paymentIds),
    );
    return outcome;
  } finally {
    rss.unwatch(product.pid);
    await product.stop();
  }
}

async function productAgainstFloor(
  loader: Loader,
  product: Product,
  dir: string,
  cashier: Record<string, string>,
  paymentIds: string[],
): Promise<SqliteOutcome> {
  const floor = await startFloor(`sqlite:${join(dir, 'floor.db')}`, S.sqliteConnections, 1);
  const probe = await openProbe(`sqlite:${join(dir, 'product.db')}`);
  try {
    const http = productEndpoint('product', product, [{ headers: cashier, paymentIds }]);
    const bare = floorEndpoint(floor, floorPaymentIds(S.sqliteConnections));
    const before = await probe.countRefunds();
    const warm = await warmUp(loader, [http, bare], S.warmup, S.sqliteConnections);
    const { a, b } = await abba(loader, http, bare, S.n, S.sqliteConnections, 'sqlite');
    checkCount('sqlite product', before, await probe.countRefunds(), plus(warm.get('product'), a));
    checkCount('sqlite floor', 0, await floor.count(), plus(warm.get('floor'), b));
    reportErrors('sqlite product', a);
    reportErrors('sqlite floor', b);
    const load = `${S.sqliteConnections} connections, ${S.n} refunds`;
    addFigure({
      figure: 'refund creation, product (POST /v1/refunds)',
      store: 'sqlite',
      load,
      value: a.reqPerSec,
      unit: 'req/s',
      p50Ms: a.p50Ms,
      p99Ms: a.p99Ms,
      maxMs: a.maxMs,
      errors: a.errors + a.notSent,
    });
    addFigure({
      figure: 'refund creation, bare durable floor',
      store: 'sqlite',
      load,
      value: b.reqPerSec,
      unit: 'req/s',
      p50Ms: b.p50Ms,
      p99Ms: b.p99Ms,
      maxMs: b.maxMs,
      errors: b.errors + b.notSent,
    });
    const ratio = a.reqPerSec / b.reqPerSec;
    addFigure({
      figure: 'product ÷ floor',
      store: 'sqlite',
      load: 'same run',
      value: ratio,
      unit: '×',
      target: '≥ 1.0×',
      met: ratio >= 1,
      note: ratio >= 1 ? '' : `${(1 - ratio).toFixed(2)} short of 1.0`,
    });
    return { product: a, floor: b };
  } finally {
    await probe.close();
    await floor.stop();
  }
}

async function openLoop(
  loader: Loader,
  product: Product,
  databaseUrl: string,
  cashier: Record<string, string>,
  paymentIds: string[],
): Promise<void> {
  const probe = await openProbe(databaseUrl);
  try {
    const count = S.openRate * S.openSeconds;
    const before = await probe.countRefunds();
    const e = productEndpoint('product', product, [{ headers: cashier, paymentIds }]);
    const r = await loader.run(
      refundJob(e, count, 512, { kind: 'open', rate: S.openRate }),
      S.openSeconds * 1000 + S.requestTimeoutMs + 120_000,
    );
    const m = measured([r]);
    process.stdout.write(
      `  [open loop] ${count} offered at ${S.openRate}/s: ${m.ok} completed (201), p50 ${round(m.p50Ms, 2)} ms, p99 ${round(m.p99Ms, 2)} ms\n`,
    );
    checkCount('sqlite open loop', before, await probe.countRefunds(), m);
    reportErrors('sqlite open loop', m);
    addFigure({
      figure: `latency, open loop at ${S.openRate} refunds/s offered`,
      store: 'sqlite',
      load: `${count} offered over ${S.openSeconds} s; ${m.ok} completed`,
      value: m.p99Ms,
      unit: 'ms p99',
      p50Ms: m.p50Ms,
      p99Ms: m.p99Ms,
      maxMs: m.maxMs,
      errors: m.errors,
      target: 'p99 ≤ 25 ms',
      met: m.p99Ms <= 25 && m.ok === count,
      note: `timed from the scheduled send (coordinated omission corrected)${m.p99Ms > 25 ? `; ${round(m.p99Ms / 25, 1)}× the bound` : ''}`,
    });
  } finally {
    await probe.close();
  }
}

async function counterRefunds(
  loader: Loader,
  product: Product,
  databaseUrl: string,
  cashier: Record<string, string>,
  paymentIds: string[],
): Promise<void> {
  const probe = await openProbe(databaseUrl);
  try {
    const before = await probe.countRefunds();
    // One approval per refund (below the large-refund threshold), the two demo supervisors in turn.
    const approvals = Object.entries(DEMO_PASSWORDS.supervisors).map(([operatorNo, password]) => [
      { operatorNo, password },
    ]);
    const e = productEndpoint('counter', product, [{ headers: cashier, paymentIds, approvals }]);
    const r = await loader.run(refundJob(e, S.counterN, S.counterConnections), S.segmentDeadlineMs + 60_000);
    const m = measured([r]);
    process.stdout.write(
      `  [counter] ${S.counterN} refunds with a supervisor password: ${round(m.reqPerSec)} req/s, p50 ${round(m.p50Ms, 1)} ms\n`,
    );
    checkCount('sqlite counter refunds', before, await probe.countRefunds(), m);
    reportErrors('sqlite counter refunds', m);
    addFigure({
      figure: 'counter refunds with a supervisor password',
      store: 'sqlite',
      load: `${S.counterConnections} connections, ${S.counterN} refunds, supervisors 00/02 in turn`,
      value: m.reqPerSec,
      unit: 'req/s',
      p50Ms: m.p50Ms,
      p99Ms: m.p99Ms,
      maxMs: m.maxMs,
      errors: m.errors + m.notSent,
      target: 'reported',
      met: null,
    });
  } finally {
    await probe.close();
  }
}
