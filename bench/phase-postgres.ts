/**
 * PostgreSQL (synchronous_commit as the server has it — checked to be `on`): refund creation over
 * many merchants at 64 connections and on one merchant at 16, each against the bare floor with
 * pg, ABBA in the same run. The product runs on a fresh schema, the floor on another; both are
 * dropped at the end.
 */
import {
  abba,
  addFigure,
  checkCount,
  createPayments,
  DEMO_PASSWORDS,
  demoMerchant,
  type Endpoint,
  type Floor,
  floorEndpoint,
  floorPaymentIds,
  type Loader,
  notes,
  paymentsFor,
  plus,
  productEndpoint,
  reportErrors,
  S,
  signIn,
  startFloor,
  step,
  warmUp,
} from './harness.js';
import { pool, type RssSampler } from './lib.js';
import type { RefundTarget } from './load.js';
import { type Product, startProduct } from './product.js';
import { createPgMerchants, openProbe, pgAdmin, pgConnections, schemaUrl } from './stores.js';

const PRODUCT_APP = 'rd-bench-product';
const FLOOR_APP = 'rd-bench-floor';

export async function postgresPhase(loader: Loader, rss: RssSampler): Promise<void> {
  const tag = `${process.pid}_${Date.now().toString(36)}`;
  const schemas = { product: `bench_${tag}`, floor: `bench_floor_${tag}` };
  const sync = await syncCommit();
  notes.push(`PostgreSQL synchronous_commit = ${sync}`);
  if (sync !== 'on')
    notes.push('WARNING: synchronous_commit is not on: the PostgreSQL figures are not durable commits');
  await pgAdmin(S.pgUrl, `create schema ${schemas.product}; create schema ${schemas.floor}`);
  let product: Product | null = null;
  let floor: Floor | null = null;
  try {
    const productUrl = schemaUrl(S.pgUrl, schemas.product, PRODUCT_APP);
    product = await startProduct({ databaseUrl: productUrl, poolSize: S.pgPool });
    rss.watch(product.pid, 'postgres');
    const many = await manyMerchants(product, productUrl);
    const one = await oneMerchant(product);
    const bare = await startFloor(
      schemaUrl(S.pgUrl, schemas.floor, FLOOR_APP),
      4 * S.pgManyConnections,
      S.pgPool,
    );
    floor = bare;
    await step(`postgres: ${S.pgMerchants} merchants`, () =>
      runConfig(loader, productUrl, bare, {
        label: `postgres ${S.pgMerchants} merchants`,
        http: many,
        connections: S.pgManyConnections,
        target: 1_500,
        figure: `refund creation, product, ${S.pgMerchants} merchants`,
      }),
    );
    await step('postgres: 1 merchant', () =>
      runConfig(loader, productUrl, bare, {
        label: 'postgres 1 merchant',
        http: one,
        connections: S.pgOneConnections,
        target: 800,
        figure: 'refund creation, product, 1 merchant',
      }),
    );
  } finally {
    if (product) {
      rss.unwatch(product.pid);
      await product.stop();
    }
    await floor?.stop();
    await pgAdmin(
      S.pgUrl,
      `drop schema if exists ${schemas.product} cascade; drop schema if exists ${schemas.floor} cascade`,
    ).catch((err: unknown) => process.stderr.write(`could not drop the bench schemas: ${String(err)}\n`));
  }
}

async function syncCommit(): Promise<string> {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: S.pgUrl, connectionTimeoutMillis: 5_000 });
  await c.connect();
  try {
    return String((await c.query('show synchronous_commit')).rows[0]?.synchronous_commit);
  } finally {
    await c.end();
  }
}

/** S.pgMerchants merchants: rows inserted by the bench (no product path exists), sessions and payments through the API. */
async function manyMerchants(product: Product, productUrl: string): Promise<Endpoint> {
  const merchants = await createPgMerchants(productUrl, S.pgMerchants);
  const perMerchant = paymentsFor(Math.ceil((2 * (S.warmup + S.n)) / S.pgMerchants), 2);
  const targets = await pool(merchants, 4, async (m): Promise<RefundTarget> => {
    const cashier = await signIn(product.base, m.terminalId, '01', DEMO_PASSWORDS.cashier);
    return { headers: cashier, paymentIds: await createPayments(product.base, cashier, perMerchant) };
  });
  process.stdout.write(`  [postgres] ${merchants.length} merchants, ${perMerchant} payments each\n`);
  return productEndpoint('product', product, targets);
}

async function oneMerchant(product: Product): Promise<Endpoint> {
  const { cashier } = await demoMerchant(product.base);
  const paymentIds = await createPayments(
    product.base,
    cashier,
    paymentsFor(2 * (S.warmup + S.n), S.pgOneConnections),
  );
  return productEndpoint('product', product, [{ headers: cashier, paymentIds }]);
}

async function runConfig(
  loader: Loader,
  productUrl: string,
  floor: Floor,
  c: { label: string; http: Endpoint; connections: number; target: number; figure: string },
): Promise<void> {
  const probe = await openProbe(productUrl);
  try {
    const bare = floorEndpoint(floor, floorPaymentIds(4 * c.connections));
    const before = await probe.countRefunds();
    const floorBefore = await floor.count();
    const warm = await warmUp(loader, [c.http, bare], S.warmup, c.connections);
    const { a, b } = await abba(loader, c.http, bare, S.n, c.connections, c.label);
    const backends = await pgConnections(S.pgUrl, PRODUCT_APP);
    checkCount(`${c.label} product`, before, await probe.countRefunds(), plus(warm.get('product'), a));
    checkCount(`${c.label} floor`, floorBefore, await floor.count(), plus(warm.get('floor'), b));
    reportErrors(`${c.label} product`, a);
    reportErrors(`${c.label} floor`, b);
    const load = `${c.connections} connections, ${S.n} refunds`;
    addFigure({
      figure: c.figure,
      store: 'postgres',
      load: `${load}; ${backends} product backends seen`,
      value: a.reqPerSec,
      unit: 'req/s',
      p50Ms: a.p50Ms,
      p99Ms: a.p99Ms,
      maxMs: a.maxMs,
      errors: a.errors + a.notSent,
      target: `≥ ${c.target.toLocaleString('en-US')}/s`,
      met: a.reqPerSec >= c.target,
      note: `${Math.round((a.reqPerSec / c.target) * 100)} % of the target; product ÷ floor ${(a.reqPerSec / b.reqPerSec).toFixed(2)}×`,
    });
    addFigure({
      figure: 'refund creation, bare durable floor (pg)',
      store: 'postgres',
      load: `${load}; pool ${S.pgPool}`,
      value: b.reqPerSec,
      unit: 'req/s',
      p50Ms: b.p50Ms,
      p99Ms: b.p99Ms,
      maxMs: b.maxMs,
      errors: b.errors + b.notSent,
    });
  } finally {
    await probe.close();
  }
}
