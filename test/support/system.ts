import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { logSerializers, redactPaths } from '../../src/api/app.js';
import type { Config } from '../../src/config.js';
import { DEMO } from '../../src/demo.js';
import { type System, startSystem } from '../../src/system.js';

export { DEMO };

export interface TestSystem extends System {
  base: string;
  url: string;
}

/** The whole service on a fresh store, listening on a free port, demo seeded. */
export async function startTestSystem(
  url: string,
  overrides: Partial<Config> = {},
  opts: { clock?: () => Date; logStream?: NodeJS.WritableStream } = {},
): Promise<TestSystem> {
  const config: Config = {
    port: 0,
    host: '127.0.0.1',
    databaseUrl: url,
    dataDir: `/tmp/refund-desk-test-data-${process.pid}`,
    logLevel: opts.logStream ? 'info' : 'silent',
    seedDemo: true,
    worker: true,
    networkDelayMs: 20,
    workerLeaseMs: 30_000,
    workerBackoffMs: 500,
    workerDelayedAfterMs: 60_000,
    network: 'in-process',
    acquirerHost: '127.0.0.1',
    acquirerPort: 0,
    simControlPort: 0,
    terminalMasterKey: '0123456789ABCDEFFEDCBA9876543210',
    networkTimeoutMs: 2_000,
    // Suites fire thousands of requests from one address within a minute; the limits have a test of their own.
    rateLimitPerMinute: 1_000_000,
    signInLimitPerMinute: 10_000,
    smtpUrl: undefined,
    mailFrom: 'Refund Desk <refund-desk@localhost>',
    smsGatewayUrl: undefined,
    dataKey: undefined,
    tokenKey: undefined,
    ...overrides,
  };
  // The production logger's redaction, so tests see what production would log.
  const log = pino(
    {
      level: config.logLevel,
      redact: { paths: redactPaths, censor: '[redacted]' },
      serializers: logSerializers,
    },
    opts.logStream ?? process.stdout,
  );
  const system = await startSystem(config, { log, ...(opts.clock ? { clock: opts.clock } : {}) });
  const address = await system.app.listen({ port: 0, host: '127.0.0.1' });
  return { ...system, base: address, url };
}

export interface Client {
  token: string;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field in tests
  call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T; headers: Headers }>;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field in tests
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const sent = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== ''));
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...sent },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

export async function signIn(base: string, operatorNo: string, password: string): Promise<Client> {
  const r = await call(base, 'POST', '/v1/sessions', { terminalId: DEMO.terminalId, operatorNo, password });
  if (r.status !== 201) throw new Error(`sign-in failed: ${r.status} ${JSON.stringify(r.body)}`);
  const token = r.body.token as string;
  return {
    token,
    // Like the terminal, every POST carries a fresh Idempotency-Key unless the test sets one;
    // a test that means to send none passes `'idempotency-key': ''`.
    call: (method, path, body, headers = {}) =>
      call(base, method, path, body, {
        authorization: `Bearer ${token}`,
        ...(method === 'POST' ? { 'idempotency-key': `t-${randomUUID()}` } : {}),
        ...headers,
      }),
  };
}

export const supervisor = { operatorNo: '00', password: '123456' };
export const supervisor2 = { operatorNo: '02', password: '222222' };

let orderCounter = 0;
export function orderNo(prefix = 'T'): string {
  return `${prefix}-${process.pid}-${Date.now()}-${orderCounter++}`;
}

/** A Luhn-valid UnionPay-style test card number. */
export { testPan } from '../../src/demo.js';

export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() - start > timeoutMs)
      throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export type { FastifyInstance };
