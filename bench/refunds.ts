/**
 * Refund creation throughput, over HTTP and against a "floor", on SQLite and on PostgreSQL.
 *
 *   npm run bench                          (BENCH_N=2000 BENCH_CONCURRENCY=16 by default)
 *
 * For each store the real system starts (`startSystem`: migrations, demo seed, in-process
 * acquirer, outbox worker, Fastify app) on a fresh SQLite file or a fresh PostgreSQL schema.
 * Next to it, on the same `ctx` (same store, same connection pool), a second tiny Fastify server
 * exposes `POST /floor`: only the refund transaction (`runIdempotent` + `createRefund`) with a
 * caller resolved once up front — no schema validation, no per-request session lookup, no replay
 * check, no approvals step. The ratio HTTP / floor is what the API layer costs on top of the
 * transaction itself.
 *
 * Both endpoints are driven by the same client (global fetch, keep-alive) with the same N and
 * concurrency. Each gets 100 warm-up requests; then the measured requests run as ABBA segments
 * (HTTP N/2, floor N/2, floor N/2, HTTP N/2) so that the slow growth of the refund tables during
 * the run weighs on both endpoints alike. Refunds are 100 fen against cash payments of 1,000,000
 * fen, without approvals (status `requested`, so no argon2 in the measured path).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import type { Config } from '../src/config.js';
import { DEMO } from '../src/demo.js';
import { authenticate } from '../src/service/auth.js';
import type { Caller, Ctx } from '../src/service/context.js';
import { createRefund, type RefundInput } from '../src/service/refunds.js';
import { claimKey, completeKey } from '../src/store/idempotency.js';
import { type System, startSystem } from '../src/system.js';

// ---------------------------------------------------------------------------------------------
// Settings (bounded)

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer in ${min}..${max}, got "${raw}"`);
  }
  return n;
}

const N = envInt('BENCH_N', 2000, 2, 20_000);
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 16, 1, 256);
const WARMUP = 100;
const REFUND_MINOR = 100;
const PAYMENT_MINOR = 1_000_000;
const NETWORK_DELAY_MS = 5;
/** One request may take at most this long before it counts as an error. */
const REQUEST_TIMEOUT_MS = 30_000;
/** A measured phase stops issuing requests after this long (the shortfall is reported). */
const PHASE_DEADLINE_MS = 180_000;
/** The whole run is killed after this long, whatever happens. */
const RUN_DEADLINE_MS = 15 * 60_000;
const PG_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://refund:refund@127.0.0.1:5432/refund_test';
const RESULTS_FILE = join(dirname(fileURLToPath(import.meta.url)), 'results.json');

const watchdog = setTimeout(() => {
  process.stderr.write(`bench: still running after ${RUN_DEADLINE_MS / 60_000} min; giving up\n`);
  process.exit(2);
}, RUN_DEADLINE_MS);
watchdog.unref();

// ---------------------------------------------------------------------------------------------
// Client

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: setup responses are read field by field
  body: any;
}

async function call(
  base: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function expectStatus(what: string, r: Promise<Reply>, status: number): Promise<Reply> {
  const got = await r;
  if (got.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${got.status} ${JSON.stringify(got.body)}`);
  }
  return got;
}

async function signIn(base: string, operatorNo: string, password: string): Promise<string> {
  const r = await expectStatus(
    `sign in ${operatorNo}`,
    call(base, 'POST', '/v1/sessions', { terminalId: DEMO.terminalId, operatorNo, password }),
    201,
  );
  return r.body.token as string;
}

interface Sample {
  /** Per-request latency, nanoseconds, successful requests only. */
  latenciesNs: bigint[];
  elapsedNs: bigint;
  ok: number;
  errors: number;
  errorSamples: string[];
  /** Requests not sent because the phase deadline passed. */
  notSent: number;
}

function emptySample(): Sample {
  return { latenciesNs: [], elapsedNs: 0n, ok: 0, errors: 0, errorSamples: [], notSent: 0 };
}

function merge(a: Sample, b: Sample): Sample {
  return {
    latenciesNs: [...a.latenciesNs, ...b.latenciesNs],
    elapsedNs: a.elapsedNs + b.elapsedNs,
    ok: a.ok + b.ok,
    errors: a.errors + b.errors,
    errorSamples: [...a.errorSamples, ...b.errorSamples].slice(0, 10),
    notSent: a.notSent + b.notSent,
  };
}

interface Target {
  url: string;
  headers: Record<string, string>;
}

/**
 * POST `count` refunds with `concurrency` requests in flight; request i goes to payment i mod P
 * with a fresh Idempotency-Key. Only 201s count as success.
 */
async function drive(
  target: Target,
  count: number,
  concurrency: number,
  paymentIds: string[],
  keyPrefix: string,
): Promise<Sample> {
  const sample = emptySample();
  let next = 0;
  const deadline = Date.now() + PHASE_DEADLINE_MS;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      if (Date.now() > deadline) {
        sample.notSent++;
        continue;
      }
      const body = JSON.stringify({
        paymentId: paymentIds[i % paymentIds.length],
        amount: REFUND_MINOR,
        reason: { code: 'quality_issue' },
      });
      const t0 = process.hrtime.bigint();
      try {
        const res = await fetch(target.url, {
          method: 'POST',
          headers: {
            ...target.headers,
            'content-type': 'application/json',
            'idempotency-key': `${keyPrefix}-${i}`,
          },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await res.text();
        const t1 = process.hrtime.bigint();
        if (res.status === 201) {
          sample.ok++;
          sample.latenciesNs.push(t1 - t0);
        } else {
          sample.errors++;
          if (sample.errorSamples.length < 10)
            sample.errorSamples.push(`${res.status} ${text.slice(0, 300)}`);
        }
      } catch (err) {
        sample.errors++;
        if (sample.errorSamples.length < 10) sample.errorSamples.push(String(err));
      }
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  sample.elapsedNs = process.hrtime.bigint() - start;
  return sample;
}

// ---------------------------------------------------------------------------------------------
// Floor: the refund transaction alone, on the system's ctx

async function startFloor(ctx: Ctx, caller: Caller): Promise<{ app: FastifyInstance; base: string }> {
  const app = Fastify({ logger: false });
  app.post('/floor', async (req, reply) => {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string') return reply.code(400).send({ error: 'Idempotency-Key required' });
    const input = req.body as RefundInput;
    const scope = {
      merchantId: caller.merchantId,
      key,
      fingerprint: { method: 'POST', path: '/floor', body: input },
    };
    const claim = await claimKey(ctx.store, scope, new Date());
    const result =
      'replayed' in claim
        ? claim
        : await ctx.store.tx(async (trx) => {
            const answer = { statusCode: 201, body: await createRefund(ctx, trx, caller, input, []) };
            await completeKey(trx, scope, claim, answer);
            return answer;
          });
    return reply.code(result.statusCode).send(result.body);
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base };
}

// ---------------------------------------------------------------------------------------------
// One store

interface Row {
  store: 'sqlite' | 'postgres';
  endpoint: 'http' | 'floor';
  n: number;
  concurrency: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  errors: number;
  notSent: number;
  errorSamples: string[];
}

function percentileMs(sorted: bigint[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Number(sorted[rank]) / 1e6;
}

function summarise(store: Row['store'], endpoint: Row['endpoint'], s: Sample): Row {
  const sorted = [...s.latenciesNs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    store,
    endpoint,
    n: s.ok + s.errors + s.notSent,
    concurrency: CONCURRENCY,
    reqPerSec: s.elapsedNs > 0n ? (s.ok + s.errors) / (Number(s.elapsedNs) / 1e9) : Number.NaN,
    p50Ms: percentileMs(sorted, 50),
    p99Ms: percentileMs(sorted, 99),
    ok: s.ok,
    errors: s.errors,
    notSent: s.notSent,
    errorSamples: s.errorSamples,
  };
}

async function countRefunds(ctx: Ctx): Promise<number> {
  const r = await ctx.store.db
    .selectFrom('refunds')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'requested')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

async function benchStore(store: Row['store'], databaseUrl: string): Promise<Row[]> {
  const config: Config = {
    port: 0,
    host: '127.0.0.1',
    databaseUrl,
    dataDir: mkdtempSync(join(os.tmpdir(), 'refund-desk-bench-data-')),
    logLevel: 'silent',
    seedDemo: true,
    worker: true,
    networkDelayMs: NETWORK_DELAY_MS,
    workerLeaseMs: 30_000,
    workerBackoffMs: 500,
    workerDelayedAfterMs: 60_000,
    network: 'in-process',
    acquirerHost: '127.0.0.1',
    acquirerPort: 0,
    simControlPort: 0,
    terminalMasterKey: '0123456789ABCDEFFEDCBA9876543210',
    networkTimeoutMs: 5_000,
    smtpUrl: undefined,
    mailFrom: 'Refund Desk <refund-desk@localhost>',
    smsGatewayUrl: undefined,
    // Fresh keys for this run: nothing is written to the data directory.
    dataKey: randomBytes(32).toString('base64'),
    tokenKey: randomBytes(32).toString('base64'),
  };
  let system: System | null = null;
  let floor: FastifyInstance | null = null;
  try {
    system = await startSystem(config);
    const base = await system.app.listen({ port: 0, host: '127.0.0.1' });

    // A generous policy, so that limits never refuse a benchmark refund.
    const admin = await signIn(base, '99', '12345678');
    await expectStatus(
      'PUT /v1/policy',
      call(
        base,
        'PUT',
        '/v1/policy',
        {
          dailyRefundLimit: 1_000_000_000_000,
          maxRefundAmount: 100_000_000,
          largeRefundThreshold: 100_000_000,
        },
        { authorization: `Bearer ${admin}`, 'idempotency-key': `bench-policy-${Date.now()}` },
      ),
      200,
    );

    const token = await signIn(base, '01', '1111');
    const auth = { authorization: `Bearer ${token}` };
    const caller = await authenticate(system.ctx, token);

    // Enough cash payments that the refunds never exhaust one (10,000 refunds each), and several
    // of them, so that consecutive requests lock different payment rows.
    const totalRefunds = 2 * (WARMUP + N);
    const paymentCount = Math.max(8, Math.ceil((2 * totalRefunds * REFUND_MINOR) / PAYMENT_MINOR));
    const paymentIds: string[] = [];
    for (let i = 0; i < paymentCount; i++) {
      const r = await expectStatus(
        'POST /v1/payments',
        call(
          base,
          'POST',
          '/v1/payments',
          { orderNo: `BENCH-${process.pid}-${i}`, amount: PAYMENT_MINOR, currency: 'CNY', method: 'cash' },
          { ...auth, 'idempotency-key': `bench-pay-${process.pid}-${i}` },
        ),
        201,
      );
      paymentIds.push(r.body.id as string);
    }

    const started = await startFloor(system.ctx, caller);
    floor = started.app;
    const http: Target = { url: `${base}/v1/refunds`, headers: auth };
    const floorTarget: Target = { url: `${started.base}/floor`, headers: auth };
    const before = await countRefunds(system.ctx);
    const run = Date.now().toString(36);

    const say = (line: string) => process.stdout.write(`  [${store}] ${line}\n`);
    say(`${paymentCount} payments of ${PAYMENT_MINOR} fen; warm-up ${WARMUP} requests per endpoint`);
    const warmHttp = await drive(http, WARMUP, CONCURRENCY, paymentIds, `bw-h-${run}`);
    const warmFloor = await drive(floorTarget, WARMUP, CONCURRENCY, paymentIds, `bw-f-${run}`);
    for (const [name, w] of [
      ['http', warmHttp],
      ['floor', warmFloor],
    ] as const) {
      // Fail fast: a setup problem would otherwise turn every measured request into an error.
      if (w.errors > 0) {
        throw new Error(`warm-up ${name} on ${store}: ${w.errors} errors, e.g. ${w.errorSamples[0]}`);
      }
    }

    const half = Math.floor(N / 2);
    const rest = N - half;
    let httpSample = emptySample();
    let floorSample = emptySample();
    const segments: [Row['endpoint'], number][] = [
      ['http', half],
      ['floor', half],
      ['floor', rest],
      ['http', rest],
    ];
    for (const [i, [endpoint, count]] of segments.entries()) {
      const target = endpoint === 'http' ? http : floorTarget;
      const s = await drive(target, count, CONCURRENCY, paymentIds, `bm-${endpoint}-${run}-${i}`);
      say(
        `segment ${i + 1}/4 ${endpoint.padEnd(5)} ${count} requests in ${(Number(s.elapsedNs) / 1e9).toFixed(2)} s` +
          (s.errors ? `, ${s.errors} errors` : ''),
      );
      if (endpoint === 'http') httpSample = merge(httpSample, s);
      else floorSample = merge(floorSample, s);
    }

    // Every successful request must have left exactly one `requested` refund behind.
    const after = await countRefunds(system.ctx);
    const expected = warmHttp.ok + warmFloor.ok + httpSample.ok + floorSample.ok;
    if (after - before !== expected) {
      say(`WARNING: ${after - before} new refunds in the store, expected ${expected}`);
    }
    return [summarise(store, 'http', httpSample), summarise(store, 'floor', floorSample)];
  } finally {
    await floor?.close().catch(() => undefined);
    await system?.close().catch((err: unknown) => process.stderr.write(`close failed: ${String(err)}\n`));
    rmSync(config.dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Stores

async function postgresReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
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

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function benchSqlite(): Promise<Row[]> {
  const dir = mkdtempSync(join(os.tmpdir(), 'refund-desk-bench-'));
  try {
    return await benchStore('sqlite', `sqlite:${join(dir, 'bench.db')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(): Promise<Row[]> {
  const schema = `bench_${process.pid}_${Date.now()}`;
  await adminQuery(`create schema ${schema}`);
  try {
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return await benchStore('postgres', url.toString());
  } finally {
    await adminQuery(`drop schema if exists ${schema} cascade`).catch((err: unknown) =>
      process.stderr.write(`could not drop schema ${schema}: ${String(err)}\n`),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

async function main(): Promise<void> {
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
  process.stdout.write(
    `Refund Desk benchmark — refund creation\n` +
      `  machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}\n` +
      `  node ${machine.node}, ${machine.date}\n` +
      `  N=${N} per endpoint, concurrency=${CONCURRENCY}, warm-up=${WARMUP}, refund=${REFUND_MINOR} fen, ` +
      `client and server in one process\n`,
  );

  const rows: Row[] = [];
  const notes: string[] = [];
  process.stdout.write('sqlite\n');
  rows.push(...(await benchSqlite()));
  const pgDown = await postgresReachable();
  if (pgDown) {
    const note = `PostgreSQL not reachable at ${PG_URL} (${pgDown}): postgres skipped (run scripts/ensure-postgres.sh)`;
    notes.push(note);
    process.stdout.write(`note: ${note}\n`);
  } else {
    process.stdout.write('postgres\n');
    rows.push(...(await benchPostgres()));
  }

  const ratios = (['sqlite', 'postgres'] as const).flatMap((store) => {
    const http = rows.find((r) => r.store === store && r.endpoint === 'http');
    const fl = rows.find((r) => r.store === store && r.endpoint === 'floor');
    if (!http || !fl) return [];
    return [{ store, throughputRatio: http.reqPerSec / fl.reqPerSec, p50Ratio: http.p50Ms / fl.p50Ms }];
  });

  process.stdout.write('\n');
  for (const r of rows) {
    if (r.errors > 0 || r.notSent > 0) {
      process.stdout.write(
        `ERRORS ${r.store}/${r.endpoint}: ${r.errors} failed, ${r.notSent} not sent (deadline)\n` +
          r.errorSamples.map((e) => `  ${e}\n`).join(''),
      );
    }
  }
  for (const q of ratios) {
    process.stdout.write(
      `${q.store}: HTTP/floor throughput ratio ${f2(q.throughputRatio)}, ` +
        `p50 ratio ${f2(q.p50Ratio)} (floor p50 / HTTP p50 = ${f2(1 / q.p50Ratio)})\n`,
    );
  }

  const table = [
    '| store | endpoint | N | concurrency | req/s | p50 ms | p99 ms |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.store} | ${r.endpoint === 'http' ? 'POST /v1/refunds' : 'floor (transaction only)'} | ${r.n} | ${r.concurrency} | ${f1(r.reqPerSec)} | ${f2(r.p50Ms)} | ${f2(r.p99Ms)} |`,
    ),
  ].join('\n');
  process.stdout.write(
    `\n${table}\n\n` +
      `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; Node ${machine.node}; ${machine.date.slice(0, 10)}\n`,
  );

  const errors = rows.reduce((s, r) => s + r.errors + r.notSent, 0);
  writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify(
      {
        machine,
        settings: {
          n: N,
          concurrency: CONCURRENCY,
          warmup: WARMUP,
          refundMinor: REFUND_MINOR,
          paymentMinor: PAYMENT_MINOR,
          networkDelayMs: NETWORK_DELAY_MS,
          order: 'ABBA: http N/2, floor N/2, floor N/2, http N/2',
        },
        results: rows.map(({ errorSamples, ...r }) => ({
          ...r,
          reqPerSec: Number(r.reqPerSec.toFixed(1)),
          p50Ms: Number(r.p50Ms.toFixed(3)),
          p99Ms: Number(r.p99Ms.toFixed(3)),
          ...(errorSamples.length ? { errorSamples } : {}),
        })),
        ratios: ratios.map((q) => ({
          store: q.store,
          throughputRatio: Number(q.throughputRatio.toFixed(3)),
          p50Ratio: Number(q.p50Ratio.toFixed(3)),
        })),
        notes,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`results written to ${RESULTS_FILE}\n`);
  if (errors > 0) process.exitCode = 1;
}

await main();
