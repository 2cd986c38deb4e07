/**
 * Every route of the API under fuzzing (issue 9, "Reliability, proven"). The routes come from the
 * running app's router and OpenAPI document (routes.ts), so a new route is fuzzed without a change
 * here. Each case sends one request with generated path parameters, query string, headers
 * (Authorization, Idempotency-Key, Content-Type, others) and body, and checks:
 *
 * - the answer is never a 5xx (nor a redirect);
 * - a 4xx is application/problem+json with a code from the one table (api/errors.ts) and its status;
 * - a refused request wrote nothing: every table of the store and the simulator's ledger are the
 *   same before and after it;
 * - a 2xx to a route that writes came with input its schema accepts (it is then left out of the
 *   "nothing written" check, and counted).
 *
 * The exceptions, each with its reason where it is made: the QR wallet's notify URL refuses in the
 * wallet's text protocol (`ownProtocol`); a wrong password for a real operator is counted and
 * audited by the lockout (`withoutCountedGuesses`); an API key records its last use
 * (snapshot.ts `volatileColumns`).
 *
 * Runs: FUZZ_RUNS cases per route and store (default 30; CI keeps the default, raise it locally:
 * `FUZZ_RUNS=1000 npx vitest run test/fuzz/api.fuzz.test.ts`). FUZZ_SEED replays a run; a
 * failure prints fast-check's seed and path.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemTable } from '../../src/api/errors.js';
import type { Config } from '../../src/config.js';
import { QR_NOTIFY_PATH } from '../../src/network/qr-wallet/notify-route.js';
import type { OperatorTable } from '../../src/store/schema.js';
import { recordFigures } from '../support/figures.js';
import { storeTargets } from '../support/stores.js';
import { DEMO, signIn, startTestSystem, type TestSystem, until } from '../support/system.js';
import {
  enc,
  type Hints,
  invalidFor,
  junkJson,
  junkString,
  onTheWire,
  queryArb,
  rawJunkBody,
  validFor,
} from './arbitraries.js';
import { type DocumentedRoute, fillPath, type JsonSchema, routeKey, v1Routes } from './routes.js';
import { fuzzRuns, fuzzSeed } from './runs.js';
import { type Books, diffBooks, moneyTables, snapshotBooks, storeTables } from './snapshot.js';

const RUNS_PER_ROUTE = fuzzRuns(30);
/** A request that takes longer than this is a hang. */
const REQUEST_TIMEOUT_MS = 15_000;

/** The same service as `npm start`: the bundled simulator (card host and QR wallet) as the network. */
const fuzzConfig = (): Partial<Config> => ({
  network: 'sim',
  // Nothing runs in the background: the store changes only through the request under test.
  worker: false,
  dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-fuzz-')),
});

/**
 * Routes whose refusals are not problem+json, each with its reason. The route is fuzzed all the
 * same, against the answer its own protocol defines.
 */
const ownProtocol: Record<
  string,
  { why: string; refusal: (status: number, body: string, type: string) => void }
> = {
  [`POST ${QR_NOTIFY_PATH}`]: {
    why: "the QR wallet's notify URL answers what it refuses with the wallet's text protocol (`fail`), see notify-route.ts",
    refusal: (status, body, type) => {
      if (type.startsWith('text/plain')) {
        expect(status).toBe(400);
        expect(body).toBe('fail');
      } else {
        // Refused before its handler (content type, body size): the app's one error handler.
        expectProblem(status, body, type);
      }
    },
  },
};

function expectProblem(status: number, body: string, type: string) {
  expect(type).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(body) as { code?: unknown; status?: unknown };
  expect(Object.keys(problemTable)).toContain(problem.code);
  expect(problem.status).toBe(status);
}

// The route table, read once from an app built like the ones under test.
const routeTable: DocumentedRoute[] = await (async () => {
  const sys = await startTestSystem(`sqlite:${join(mkdtempSync(join(tmpdir(), 'fuzz-routes-')), 'r.db')}`, {
    ...fuzzConfig(),
    seedDemo: false,
  });
  try {
    return await v1Routes(sys.app);
  } finally {
    await sys.close();
  }
})();

// ---- requests -------------------------------------------------------------------------------

const callers = ['cashier', 'supervisor', 'admin', 'apiKey'] as const;
type CallerName = (typeof callers)[number];

type Auth =
  | { kind: 'caller'; caller: CallerName }
  | { kind: 'none' }
  | { kind: 'raw'; value: string }
  | { kind: 'mangled'; caller: CallerName; how: 'lowercase' | 'suffix' | 'truncated' | 'twice' | 'basic' };

type Body =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown; schemaValid: boolean | null }
  | { kind: 'raw'; payload: string };

interface FuzzRequest {
  params: Record<string, string>;
  query: string;
  auth: Auth;
  idempotencyKey: { kind: 'fresh' } | { kind: 'none' } | { kind: 'raw'; value: string };
  contentType: string | null;
  headers: Record<string, string>;
  body: Body;
}

const headerJunk = junkString.map(onTheWire);

const authArb: fc.Arbitrary<Auth> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.constantFrom(...callers).map((caller) => ({ kind: 'caller' as const, caller })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          'Bearer   ',
          'Basic dXNlcjpwYXNz',
          'Token abc',
          'Bearer null',
          'Bearer rdk_',
        ),
        headerJunk.map((v) => `Bearer ${v}`),
        headerJunk,
        fc.integer({ min: 190, max: 5_000 }).map((n) => `Bearer ${'A'.repeat(n)}`),
      )
      .map((value) => ({ kind: 'raw' as const, value })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('mangled' as const),
      caller: fc.constantFrom(...callers),
      how: fc.constantFrom(
        'lowercase' as const,
        'suffix' as const,
        'truncated' as const,
        'twice' as const,
        'basic' as const,
      ),
    }),
  },
);

const idempotencyArb: fc.Arbitrary<FuzzRequest['idempotencyKey']> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'fresh' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          '',
          ' ',
          'a b',
          'fuzz-reused-key',
          'a'.repeat(256),
          'a'.repeat(10_000),
          '\u00e9t\u00e9',
        ),
        headerJunk,
      )
      .map((value) => ({ kind: 'raw' as const, value })),
  },
);

const contentTypeArb: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constant(null) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=utf-16',
        'application/JSON',
        'application/problem+json',
        'application/json, text/plain',
        'application/octet-stream',
        '*/*',
        'application/json;;;',
      ),
      headerJunk,
    ),
  },
);

const extraHeadersArb: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom(
    'x-request-id',
    'accept',
    'accept-language',
    'x-forwarded-for',
    'cookie',
    'origin',
    'content-encoding',
    'if-none-match',
  ),
  headerJunk,
  { maxKeys: 3 },
);

/**
 * A body the server reads as JSON: a generated JSON value, or a raw payload that is a byte order
 * mark followed by JSON — RFC 8259 §8.1 lets a parser ignore the mark, and Fastify's does, so
 * "\uFEFF{}" is the empty object to a route whose schema takes one (PUT /v1/policy).
 */
function jsonToTheServer(body: Body): boolean {
  if (body.kind === 'json') return true;
  if (body.kind !== 'raw' || !body.payload.startsWith('\uFEFF')) return false;
  try {
    JSON.parse(body.payload.slice(1));
    return true;
  } catch {
    return false;
  }
}

function bodyArb(route: DocumentedRoute, hints: Hints): fc.Arbitrary<Body> {
  const json = (value: unknown, schemaValid: boolean | null): Body => ({ kind: 'json', value, schemaValid });
  const raw = rawJunkBody.map((payload): Body => ({ kind: 'raw', payload }));
  const none = fc.constant<Body>({ kind: 'none' });
  if (route.body === null) {
    if (route.method === 'GET') {
      return fc.oneof(
        { weight: 8, arbitrary: none },
        { weight: 1, arbitrary: junkJson.map((v) => json(v, null)) },
      );
    }
    return fc.oneof(
      none,
      junkJson.map((v) => json(v, null)),
      raw,
    );
  }
  const schema = route.body;
  const checked = (v: unknown) => json(v, Value.Check(asJsonSchema, v));
  const asJsonSchema = openApiToJsonSchema(schema);
  return fc.oneof(
    { weight: 6, arbitrary: invalidFor(schema, hints).map(checked) },
    // Valid bodies too: with a bad header they are refused all the same, with good ones they reach
    // the rules behind the schema (and if accepted, are counted and left out of the write check).
    { weight: 3, arbitrary: validFor(schema, hints).map(checked) },
    { weight: 2, arbitrary: junkJson.map(checked) },
    { weight: 2, arbitrary: raw },
    { weight: 1, arbitrary: none },
  );
}

/** OpenAPI 3.0 says `nullable: true` where JSON Schema says "or null". */
function openApiToJsonSchema(schema: unknown): JsonSchema {
  if (Array.isArray(schema)) return schema.map(openApiToJsonSchema) as unknown as JsonSchema;
  if (typeof schema !== 'object' || schema === null) return schema as JsonSchema;
  const { nullable, ...rest } = schema as JsonSchema;
  const out = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, openApiToJsonSchema(v)]));
  return nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

function paramArb(pool: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...pool).map(enc) },
    { weight: 3, arbitrary: junkString.map(enc) },
    // Sent as they are: broken percent-escapes, dot segments, encoded slashes.
    {
      weight: 1,
      arbitrary: fc.constantFrom('%', '%zz', '%E0%A4%A', '..', '.', '%2e%2e', '%2F', 'a%2Fb', '%00', ''),
    },
  );
}

function requestArb(
  route: DocumentedRoute,
  pool: readonly string[],
  hints: Hints,
): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    params: fc.record(Object.fromEntries(route.params.map((p) => [p, paramArb(pool)]))),
    query: queryArb(route.query),
    auth: authArb,
    idempotencyKey: idempotencyArb,
    contentType: contentTypeArb,
    headers: extraHeadersArb,
    body: bodyArb(route, hints),
  });
}

// ---- the suite --------------------------------------------------------------------------------

interface RouteStats {
  cases: number;
  refused: number;
  readAccepted: number;
  writeAccepted: number;
  statuses: Record<number, number>;
  /** Problem codes of the refusals. */
  codes: Record<string, number>;
}

describe.each(storeTargets)('fuzzing every API route on $name', (target) => {
  let sys: TestSystem;
  let tables: string[];
  const tokens = new Map<CallerName, string>();
  let pool: string[] = [];
  let hints: Hints = {};
  const stats = new Map<string, RouteStats>();
  let started = 0;
  /** The books as the last refused case left them (null: take a fresh snapshot). */
  let unchanged: Books | null = null;

  const inject = (opts: InjectOptions) => sys.app.inject(opts);

  const operators: Record<Exclude<CallerName, 'apiKey'>, [string, string]> = {
    cashier: ['01', '1111'],
    supervisor: ['00', '123456'],
    admin: ['99', '12345678'],
  };

  async function signInAs(caller: Exclude<CallerName, 'apiKey'>) {
    const [no, password] = operators[caller];
    tokens.set(caller, (await signIn(sys.base, no, password)).token);
  }

  async function newApiKey(name: string): Promise<{ id: string; key: string }> {
    const r = await inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { authorization: `Bearer ${tokens.get('admin')}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name }),
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string; key: string };
  }

  /** Our callers' operator rows as seeded: an accepted operators call may disable, demote or re-password one. */
  let callerOperators: OperatorTable[] = [];

  /** After a request that was accepted: a sign-out or a revoked key is replaced, so callers stay valid. */
  async function ensureCallers() {
    for (const { id, merchant_id, ...seeded } of callerOperators)
      await sys.ctx.store.db
        .updateTable('operators')
        .set(seeded)
        .where('id', '=', id)
        .where('merchant_id', '=', merchant_id)
        .execute();
    for (const caller of callers) {
      const r = await inject({
        method: 'GET',
        url: '/v1/sessions/current',
        headers: { authorization: `Bearer ${tokens.get(caller)}` },
      });
      if (r.statusCode === 200) continue;
      if (caller === 'apiKey') tokens.set('apiKey', (await newApiKey('fuzz caller')).key);
      else await signInAs(caller);
    }
  }

  beforeAll(async () => {
    started = Date.now();
    sys = await startTestSystem(await target.freshUrl(), fuzzConfig());
    await until(
      async () => (await inject({ method: 'GET', url: '/v1/health' })).json() as { network: string },
      (h) => h.network === 'up',
      20_000,
    );
    tables = await storeTables(sys.ctx.store);
    for (const caller of ['cashier', 'supervisor', 'admin'] as const) await signInAs(caller);
    callerOperators = await sys.ctx.store.db
      .selectFrom('operators')
      .selectAll()
      .where('merchant_id', '=', DEMO.merchantId)
      .where(
        'operator_no',
        'in',
        Object.values(operators).map(([no]) => no),
      )
      .execute();
    tokens.set('apiKey', (await newApiKey('fuzz caller')).key);
    const spareKey = await newApiKey('fuzz spare');

    const asCashier = async (method: 'GET' | 'POST', url: string, body?: unknown) =>
      inject({
        method,
        url,
        headers: {
          authorization: `Bearer ${tokens.get('cashier')}`,
          'idempotency-key': `fz-${randomUUID()}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    const payments = (await asCashier('GET', '/v1/payments?orderNo=DEMO-1001')).json() as {
      data: { id: string }[];
    };
    const paymentId = payments.data[0]?.id ?? 'pay_missing';
    const refund = await asCashier('POST', '/v1/refunds', {
      orderNo: 'DEMO-1001',
      amount: 100,
      reason: { code: 'quality_issue' },
    });
    expect(refund.statusCode, refund.body).toBe(201);
    const day = new Date().toISOString().slice(0, 10);
    const csv = sys.simulator?.ledger.settlementCsv(DEMO.merchantId, day);
    const recon = await inject({
      method: 'POST',
      url: '/v1/reconciliations',
      headers: {
        authorization: `Bearer ${tokens.get('supervisor')}`,
        'idempotency-key': `fz-${randomUUID()}`,
        'content-type': 'application/json',
      },
      payload: JSON.stringify({ day, csv }),
    });
    expect(recon.statusCode, recon.body).toBe(201);
    // Real identifiers for path parameters, so cases get past "not found" into the code behind.
    pool = [
      paymentId,
      (refund.json() as { id: string }).id,
      (recon.json() as { id: string }).id,
      spareKey.id,
      'DEMO-1001',
      'DEMO-1004',
      '01',
      '00',
      '05',
    ];
    // Real values for body fields of these names (operator 02 only: our callers' passwords must not lock).
    hints = {
      paymentId: [paymentId],
      orderNo: ['DEMO-1001', 'DEMO-1004'],
      terminalId: [DEMO.terminalId],
      operatorNo: ['02'],
      sku: ['TEA-001', 'CUP-002'],
    };
  });

  afterAll(async () => {
    const all = [...stats.values()];
    const sum = (f: (s: RouteStats) => number) => all.reduce((n, s) => n + f(s), 0);
    console.log(
      `api fuzz on ${target.name}: ${sum((s) => s.cases)} cases over ${stats.size} routes ` +
        `(${RUNS_PER_ROUTE} per route), ${sum((s) => s.refused)} refused with nothing written, ` +
        `${sum((s) => s.readAccepted)} reads answered 2xx, ${sum((s) => s.writeAccepted)} valid writes accepted; ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    recordFigures('fuzz: every API route', {
      store: target.name,
      routes: stats.size,
      cases: sum((s) => s.cases),
      refusedNothingWritten: sum((s) => s.refused),
      readsAccepted: sum((s) => s.readAccepted),
      validWritesAccepted: sum((s) => s.writeAccepted),
    });
    const accepted = [...stats]
      .filter(([, s]) => s.writeAccepted > 0)
      .map(([k, s]) => `${k} ×${s.writeAccepted}`);
    console.log(
      `api fuzz on ${target.name}: writes accepted with valid input: ${accepted.join(', ') || 'none'}`,
    );
    const codes: Record<string, number> = {};
    for (const st of all) for (const [c, n] of Object.entries(st.codes)) codes[c] = (codes[c] ?? 0) + n;
    const byCount = Object.entries(codes).sort((a, b) => b[1] - a[1]);
    console.log(
      `api fuzz on ${target.name}: refusals by code: ${byCount.map(([c, n]) => `${c} ${n}`).join(', ')}`,
    );
    await sys?.close();
  });

  it('fuzzes the routes the app registers: the table here is the app’s', async () => {
    const live = await v1Routes(sys.app);
    expect(live.map(routeKey)).toEqual(routeTable.map(routeKey));
    expect(routeTable.length).toBeGreaterThan(30);
    for (const key of Object.keys(ownProtocol)) expect(routeTable.map(routeKey)).toContain(key);
    for (const table of moneyTables) expect(tables).toContain(table);
  });

  function headersOf(r: FuzzRequest): Record<string, string> {
    const h: Record<string, string> = { ...r.headers };
    const token = (c: CallerName) => tokens.get(c) ?? '';
    switch (r.auth.kind) {
      case 'caller':
        h.authorization = `Bearer ${token(r.auth.caller)}`;
        break;
      case 'raw':
        h.authorization = r.auth.value;
        break;
      case 'mangled': {
        const t = token(r.auth.caller);
        h.authorization = {
          lowercase: `bearer ${t}`,
          suffix: `Bearer ${t}x`,
          truncated: `Bearer ${t.slice(0, -1)}`,
          twice: `Bearer ${t} ${t}`,
          basic: `Basic ${t}`,
        }[r.auth.how];
        break;
      }
      case 'none':
        break;
    }
    if (r.idempotencyKey.kind === 'fresh') h['idempotency-key'] = `fz-${randomUUID()}`;
    if (r.idempotencyKey.kind === 'raw') h['idempotency-key'] = r.idempotencyKey.value;
    if (r.contentType !== null) h['content-type'] = r.contentType;
    return h;
  }

  function payloadOf(body: Body): string | undefined {
    if (body.kind === 'json') return JSON.stringify(body.value) ?? 'null';
    if (body.kind === 'raw') return body.payload;
    return undefined;
  }

  it.each(routeTable.map((r) => [routeKey(r), r] as const))(
    '%s',
    async (key, route) => {
      const s: RouteStats = {
        cases: 0,
        refused: 0,
        readAccepted: 0,
        writeAccepted: 0,
        statuses: {},
        codes: {},
      };
      stats.set(key, s);
      const own = ownProtocol[key];
      await fc.assert(
        fc.asyncProperty(requestArb(route, pool, hints), async (r) => {
          const url = fillPath(route.path, r.params) + (r.query ? `?${r.query}` : '');
          const payload = payloadOf(r.body);
          // Nothing runs in the background, so the books after a refused case are those before the next.
          const before: Books = unchanged ?? (await snapshotBooks(sys, tables));
          unchanged = null;
          const res = await withTimeout(
            inject({
              method: route.method,
              url,
              headers: headersOf(r),
              ...(payload === undefined ? {} : { payload }),
            }),
            REQUEST_TIMEOUT_MS,
          );
          s.cases++;
          s.statuses[res.statusCode] = (s.statuses[res.statusCode] ?? 0) + 1;
          const what = `${route.method} ${url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, what).toBeLessThan(500);
          expect(res.statusCode < 300 || res.statusCode >= 400, what).toBe(true);

          if (res.statusCode >= 400) {
            s.refused++;
            const type = String(res.headers['content-type'] ?? '');
            try {
              (own?.refusal ?? expectProblem)(res.statusCode, res.body, type);
            } catch (err) {
              throw new Error(`${what}\n${(err as Error).message}`);
            }
            const code = type.startsWith('application/problem+json')
              ? String((JSON.parse(res.body) as { code: string }).code)
              : `text:${res.body}`;
            s.codes[code] = (s.codes[code] ?? 0) + 1;
            const after = await snapshotBooks(sys, tables);
            expect(withoutCountedGuesses(code, diffBooks(before, after)), `${what}\nwrote:`).toEqual([]);
            unchanged = after;
            return;
          }
          if (route.method === 'GET') {
            s.readAccepted++;
            return;
          }
          // Accepted and possibly written: only with input the route's schema accepts.
          s.writeAccepted++;
          if (r.body.kind === 'json' && r.body.schemaValid !== null)
            expect(r.body.schemaValid, what).toBe(true);
          if (route.body !== null) expect(jsonToTheServer(r.body), what).toBe(true);
          await ensureCallers();
        }),
        { numRuns: RUNS_PER_ROUTE, ...fuzzSeed() },
      );
    },
    300_000,
  );
});

/**
 * A wrong password for a real operator is counted and audited even though its request is refused:
 * that is the lockout (service/auth.ts `checkPassword`), the one write a refusal makes on purpose.
 * Generated approvals name a real operator now and then ("00" is a likely short string).
 */
function withoutCountedGuesses(code: string, diff: string[]): string[] {
  const counted = ['supervisor_password_invalid', 'supervisor_locked', 'unauthenticated', 'operator_locked'];
  if (!counted.includes(code)) return diff;
  return diff.filter(
    (line) =>
      !line.startsWith('operators ') &&
      !line.startsWith('audit_head ') &&
      !(line.startsWith('audit_log + ') && /"action":\s*"operator\.(password_failed|locked)"/.test(line)),
  );
}

/** A request that has not answered in time is a hang: fail with that, not with the test's timeout. */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: a hang`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
