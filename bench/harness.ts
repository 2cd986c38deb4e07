/**
 * What every phase of the bench shares: the settings, the load generator process, sign-in and
 * payments through the API, closed-loop runs in ABBA order, and the figures table's rows.
 */
import type { ChildProcess } from 'node:child_process';
import {
  call,
  envInt,
  expectStatus,
  pool,
  QUICK,
  round,
  spawnTs,
  stopChild,
  summarise,
  waitForLine,
} from './lib.js';
import type { GetJob, LoadResult, RefundJob, RefundTarget } from './load.js';
import type { Product } from './product.js';
import { BENCH_POLICY, DEMO_TERMINAL_ID } from './stores.js';

// ---- settings (bounded; BENCH_QUICK=1 makes every default small) -------------------------------

export const S = {
  quick: QUICK,
  /** Measured refunds per endpoint and configuration (two segments each, ABBA). */
  n: envInt('BENCH_N', 4_000, 20, 50_000, 300),
  /** Requests each server gets before measuring: its JIT and caches warm, for product and floor alike. */
  warmup: envInt('BENCH_WARMUP', 2_000, 0, 20_000, 50),
  sqliteConnections: envInt('BENCH_SQLITE_CONNECTIONS', 32, 1, 256),
  pgManyConnections: envInt('BENCH_PG_CONNECTIONS', 64, 1, 256),
  pgOneConnections: envInt('BENCH_PG_ONE_CONNECTIONS', 16, 1, 256),
  pgMerchants: envInt('BENCH_PG_MERCHANTS', 100, 1, 1_000, 10),
  /** Pool of the PostgreSQL floor, and DATABASE_POOL_SIZE offered to the product. */
  pgPool: envInt('BENCH_PG_POOL', 32, 1, 80),
  openRate: envInt('BENCH_OPEN_RATE', 500, 1, 20_000),
  openSeconds: envInt('BENCH_OPEN_SECONDS', 20, 1, 600, 3),
  counterN: envInt('BENCH_COUNTER_N', 400, 4, 20_000, 40),
  counterConnections: envInt('BENCH_COUNTER_CONNECTIONS', 8, 1, 64),
  growthPayments: envInt('BENCH_GROWTH_PAYMENTS', 1_000_000, 0, 5_000_000, 40_000),
  growthSmall: envInt('BENCH_GROWTH_SMALL', 10_000, 2, 1_000_000, 1_000),
  growthLarge: envInt('BENCH_GROWTH_LARGE', 100_000, 2, 1_000_000, 10_000),
  getRepeats: envInt('BENCH_GET_REPEATS', 300, 10, 10_000, 50),
  fsyncOps: envInt('BENCH_FSYNC_OPS', 5_000, 10, 1_000_000, 500),
  requestTimeoutMs: 30_000,
  segmentDeadlineMs: envInt('BENCH_SEGMENT_DEADLINE_MS', 180_000, 1_000, 1_800_000),
  runDeadlineMs: envInt('BENCH_DEADLINE_MIN', 35, 1, 240, 10) * 60_000,
  refundMinor: 100,
  paymentMinor: 100_000_000,
  pgUrl:
    process.env.BENCH_DATABASE_URL ??
    process.env.TEST_DATABASE_URL ??
    'postgres://refund:refund@127.0.0.1:5432/refund_test',
  phases: (process.env.BENCH_PHASES ?? 'fsync,sqlite,postgres,growth').split(',').map((p) => p.trim()),
};

export const DEMO_PASSWORDS = {
  cashier: '1111',
  admin: '12345678',
  supervisors: { '00': '123456', '02': '222222' },
};

// ---- figures ------------------------------------------------------------------------------------

export interface Figure {
  figure: string;
  store: 'sqlite' | 'postgres' | 'disk' | 'all';
  /** Connections / offered rate / size, in words. */
  load: string;
  value: number;
  unit: string;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  /** Requests that did not end in the expected status, or were not sent before the deadline. */
  errors?: number;
  target?: string;
  met?: boolean | null;
  note?: string;
}

export const figures: Figure[] = [];
export const notes: string[] = [];
export const failures: string[] = [];

/** Run one part of the bench; a failure is recorded (and printed) and the bench goes on with the next part. */
export async function step(name: string, fn: () => Promise<void>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    const line = `${name} failed: ${err instanceof Error ? err.message : String(err)}`;
    failures.push(line);
    process.stdout.write(`  FAILED ${line}\n`);
    return false;
  }
}

export function addFigure(f: Figure): Figure {
  figures.push(f);
  return f;
}

// ---- load generator -----------------------------------------------------------------------------

export class Loader {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: LoadResult): void; reject(e: Error): void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { type: string; id?: number; result?: LoadResult; message?: string }) => {
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (!p || m.id === undefined) return;
      this.pending.delete(m.id);
      if (m.type === 'result' && m.result) p.resolve(m.result);
      else p.reject(new Error(`load generator: ${m.message ?? 'failed'}`));
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`load generator exited (${code})`));
      this.pending.clear();
    });
  }

  static async start(): Promise<Loader> {
    const child = spawnTs('bench/load.ts', { ...process.env }, true);
    child.stdout?.resume();
    child.stderr?.pipe(process.stderr);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('load generator did not start in 60 s')), 60_000);
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    });
    return new Loader(child);
  }

  /** Run one job; rejects if it has not answered within `timeoutMs`. */
  run(job: RefundJob | GetJob, timeoutMs: number): Promise<LoadResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load job ${job.kind} gave no result in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ type: 'job', id, job });
    });
  }

  stop(): void {
    this.child.disconnect();
  }
}

// ---- setup through the API ----------------------------------------------------------------------

export async function signIn(base: string, terminalId: string, operatorNo: string, password: string) {
  const r = await expectStatus(
    `sign in ${operatorNo}@${terminalId}`,
    call(base, 'POST', '/v1/sessions', { terminalId, operatorNo, password }),
    201,
  );
  return { authorization: `Bearer ${r.body.token as string}` };
}

/** The demo merchant with the bench's policy (PUT /v1/policy as admin 99) and its cashier's session. */
export async function demoMerchant(base: string) {
  const admin = await signIn(base, DEMO_TERMINAL_ID, '99', DEMO_PASSWORDS.admin);
  await expectStatus(
    'PUT /v1/policy',
    call(base, 'PUT', '/v1/policy', BENCH_POLICY, {
      ...admin,
      'idempotency-key': `bench-policy-${Date.now()}`,
    }),
    200,
  );
  const cashier = await signIn(base, DEMO_TERMINAL_ID, '01', DEMO_PASSWORDS.cashier);
  return { admin, cashier };
}

let paymentSeq = 0;

/** `count` cash payments of S.paymentMinor through POST /v1/payments; their ids. */
export async function createPayments(base: string, auth: Record<string, string>, count: number) {
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const start = paymentSeq;
  paymentSeq += count;
  return pool(
    Array.from({ length: count }, (_, i) => start + i),
    8,
    async (n) => {
      const r = await expectStatus(
        'POST /v1/payments',
        call(
          base,
          'POST',
          '/v1/payments',
          { orderNo: `BENCH-${tag}-${n}`, amount: S.paymentMinor, currency: 'CNY', method: 'cash' },
          { ...auth, 'idempotency-key': `bench-pay-${tag}-${n}` },
        ),
        201,
      );
      return r.body.id as string;
    },
  );
}

/** Enough payments that `refunds` refunds of S.refundMinor use at most half of what they hold, and at least `min`. */
export function paymentsFor(refunds: number, min: number): number {
  return Math.max(min, Math.ceil((2 * refunds * S.refundMinor) / S.paymentMinor));
}

// ---- runs -----------------------------------------------------------------------------------------

export interface Endpoint {
  name: string;
  host: string;
  port: number;
  path: string;
  targets: RefundTarget[];
}

export function productEndpoint(name: string, product: Product, targets: RefundTarget[]): Endpoint {
  return { name, host: product.host, port: product.port, path: '/v1/refunds', targets };
}

let keySeq = 0;

export function refundJob(
  e: Endpoint,
  count: number,
  concurrency: number,
  extra: Partial<RefundJob> = {},
): RefundJob {
  return {
    kind: 'closed',
    host: e.host,
    port: e.port,
    path: e.path,
    targets: e.targets,
    count,
    concurrency,
    keyPrefix: `bk-${process.pid}-${Date.now().toString(36)}-${keySeq++}`,
    amountMinor: S.refundMinor,
    requestTimeoutMs: S.requestTimeoutMs,
    deadlineMs: S.segmentDeadlineMs,
    ...extra,
  };
}

export interface Measured {
  ok: number;
  errors: number;
  notSent: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errorSamples: string[];
  distinctIds: number;
  latenciesMs: number[];
  elapsedMs: number;
}

export function measured(parts: LoadResult[]): Measured {
  const latenciesMs = parts.flatMap((p) => p.latenciesMs);
  const ok = parts.reduce((s, p) => s + p.ok, 0);
  const errors = parts.reduce((s, p) => s + p.errors, 0);
  const elapsedMs = parts.reduce((s, p) => s + p.elapsedMs, 0);
  const sum = summarise(latenciesMs);
  return {
    ok,
    errors,
    notSent: parts.reduce((s, p) => s + p.notSent, 0),
    reqPerSec: elapsedMs > 0 ? (ok / elapsedMs) * 1000 : Number.NaN,
    p50Ms: sum.p50Ms,
    p99Ms: sum.p99Ms,
    maxMs: sum.maxMs,
    errorSamples: parts.flatMap((p) => p.errorSamples).slice(0, 5),
    distinctIds: parts.reduce((s, p) => s + p.distinctIds, 0),
    latenciesMs,
    elapsedMs,
  };
}

export function reportErrors(what: string, m: Measured): void {
  if (m.errors === 0 && m.notSent === 0) return;
  const line = `${what}: ${m.errors} errors, ${m.notSent} not sent before the deadline`;
  failures.push(line);
  process.stdout.write(`  ERRORS ${line}\n${m.errorSamples.map((e) => `    ${e}\n`).join('')}`);
}

/** Warm-up: every endpoint gets `count` requests; any error stops the phase. */
export async function warmUp(loader: Loader, endpoints: Endpoint[], count: number, concurrency: number) {
  const done = new Map<string, { ok: number; distinctIds: number }>();
  for (const e of endpoints) {
    const r =
      count === 0
        ? { ok: 0, distinctIds: 0, errors: 0, notSent: 0, errorSamples: [] }
        : await loader.run(refundJob(e, count, concurrency), S.segmentDeadlineMs + 60_000);
    if (r.errors > 0 || r.notSent > 0)
      throw new Error(`warm-up of ${e.name}: ${r.errors} errors, e.g. ${r.errorSamples[0] ?? '(none)'}`);
    done.set(e.name, { ok: r.ok, distinctIds: r.distinctIds });
  }
  return done;
}

/** Successes of several runs, for the store check. */
export function plus(...parts: ({ ok: number; distinctIds: number } | undefined)[]) {
  return {
    ok: parts.reduce((s, p) => s + (p?.ok ?? 0), 0),
    distinctIds: parts.reduce((s, p) => s + (p?.distinctIds ?? 0), 0),
  };
}

// ---- the floor ------------------------------------------------------------------------------------

export interface Floor {
  host: string;
  port: number;
  pid: number;
  count(): Promise<number>;
  stop(): Promise<void>;
}

export async function startFloor(databaseUrl: string, payments: number, poolSize: number): Promise<Floor> {
  const child = spawnTs('bench/floor.ts', {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    FLOOR_DB: databaseUrl,
    FLOOR_PAYMENTS: String(payments),
    FLOOR_POOL: String(poolSize),
  });
  child.stderr?.resume();
  const m = await waitForLine(child, /FLOOR_READY (\d+)/, 'floor server', 60_000);
  child.stdout?.resume();
  const port = Number(m[1]);
  return {
    host: '127.0.0.1',
    port,
    pid: child.pid ?? -1,
    count: async () => {
      const r = await expectStatus(
        'GET /floor/count',
        call(`http://127.0.0.1:${port}`, 'GET', '/floor/count'),
        200,
      );
      return Number(r.body.refunds);
    },
    stop: () => stopChild(child),
  };
}

export function floorEndpoint(floor: Floor, paymentIds: string[]): Endpoint {
  return {
    name: 'floor',
    host: floor.host,
    port: floor.port,
    path: '/floor/refunds',
    targets: [{ headers: {}, paymentIds }],
  };
}

export const floorPaymentIds = (n: number) => Array.from({ length: n }, (_, i) => `fp_${i}`);

/**
 * A then B then B then A, `n/2` requests each: whatever drifts during the run (tables growing,
 * the page cache, a noisy neighbour) weighs on both alike.
 */
export async function abba(
  loader: Loader,
  a: Endpoint,
  b: Endpoint,
  n: number,
  concurrency: number,
  label: string,
) {
  const half = Math.floor(n / 2);
  const parts = new Map<string, LoadResult[]>([
    [a.name, []],
    [b.name, []],
  ]);
  for (const [i, [e, count]] of (
    [
      [a, half],
      [b, half],
      [b, n - half],
      [a, n - half],
    ] as const
  ).entries()) {
    const r = await loader.run(refundJob(e, count, concurrency), S.segmentDeadlineMs + 60_000);
    parts.get(e.name)?.push(r);
    process.stdout.write(
      `  [${label}] ${i + 1}/4 ${e.name.padEnd(8)} ${count} requests, ${r.ok} ok in ${(r.elapsedMs / 1000).toFixed(2)} s = ${round((r.ok / r.elapsedMs) * 1000)} req/s${r.errors ? `, ${r.errors} errors` : ''}\n`,
    );
  }
  return { a: measured(parts.get(a.name) ?? []), b: measured(parts.get(b.name) ?? []) };
}

/** The store must hold exactly one new refund per 201 (and each 201 must name its own refund). */
export function checkCount(
  what: string,
  before: number,
  after: number,
  m: { ok: number; distinctIds: number },
) {
  if (after - before !== m.ok || m.distinctIds !== m.ok) {
    const line = `${what}: ${m.ok} answers 201 naming ${m.distinctIds} distinct refunds, but ${after - before} new refunds in the store`;
    failures.push(line);
    process.stdout.write(`  CHECK FAILED ${line}\n`);
    return false;
  }
  process.stdout.write(`  [${what}] store check: ${after - before} new refunds for ${m.ok} answers 201 ✓\n`);
  return true;
}
