/**
 * Shared pieces of the benchmark: bounded settings, a small JSON-over-HTTP client for setup calls,
 * percentiles, child processes, RSS sampling and the machine description.
 *
 * Measured load never goes through `call` below: it is sent by the load generator (bench/load.ts)
 * in a process of its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = join(BENCH_DIR, '..');

// ---- settings ---------------------------------------------------------------------------------

export const QUICK = ['1', 'true', 'yes'].includes((process.env.BENCH_QUICK ?? '').toLowerCase());

/** An integer setting from the environment, within [min, max]; `quick` replaces the default in quick mode. */
export function envInt(name: string, fallback: number, min: number, max: number, quick?: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return QUICK && quick !== undefined ? quick : fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer in ${min}..${max}, got "${raw}"`);
  }
  return n;
}

// ---- statistics -------------------------------------------------------------------------------

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function summarise(latenciesMs: readonly number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? (sorted[sorted.length - 1] ?? Number.NaN) : Number.NaN,
  };
}

export const round = (x: number, digits = 1): number =>
  Number.isFinite(x) ? Number(x.toFixed(digits)) : Number.NaN;

// ---- setup calls (not measured) ----------------------------------------------------------------

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: setup answers are read field by field
  body: any;
  ms: number;
}

const setupAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** One JSON request to `base` (http://host:port); bounded by `timeoutMs`. */
export function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<Reply> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      {
        agent: setupAgent,
        host: url.hostname,
        port: url.port,
        method,
        path: `${url.pathname}${url.search}`,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            // not JSON: kept as text for the error message
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, ms: performance.now() - t0 });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export async function expectStatus(what: string, r: Promise<Reply>, status: number): Promise<Reply> {
  const got = await r;
  if (got.status !== status) {
    throw new Error(
      `${what}: expected ${status}, got ${got.status} ${JSON.stringify(got.body).slice(0, 400)}`,
    );
  }
  return got;
}

/** Run `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// ---- child processes --------------------------------------------------------------------------

const children = new Set<ChildProcess>();

/** Every child this process started is killed when it exits, however it exits. */
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** `node --import tsx <script>` (a TypeScript file of this repository), with an IPC channel. */
export function spawnTs(script: string, env: NodeJS.ProcessEnv, ipc = false): ChildProcess {
  return track(
    spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: REPO_DIR,
      env,
      stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/** Resolve with the first stdout match of `re`; reject when the child exits or `timeoutMs` passes. */
export function waitForLine(
  child: ChildProcess,
  re: RegExp,
  what: string,
  timeoutMs: number,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => finish(new Error(`${what}: not ready after ${timeoutMs} ms\n${err.slice(-2000)}`)),
      timeoutMs,
    );
    const onOut = (c: Buffer) => {
      out += c.toString('utf8');
      const m = re.exec(out);
      if (m) finish(null, m);
    };
    const onErr = (c: Buffer) => {
      err += c.toString('utf8');
    };
    const onExit = (code: number | null) =>
      finish(new Error(`${what}: exited with ${code} before it was ready\n${err.slice(-2000)}`));
    const finish = (e: Error | null, m?: RegExpMatchArray) => {
      clearTimeout(timer);
      child.stdout?.off('data', onOut);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve(m as RegExpMatchArray);
    };
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onErr);
    child.on('exit', onExit);
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

// ---- memory -----------------------------------------------------------------------------------

/** Resident set size of a process in MiB, read from /proc (Linux); NaN elsewhere. */
export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Samples the RSS of every registered server process every `everyMs`; keeps the maximum per label. */
export class RssSampler {
  readonly maxByLabel = new Map<string, number>();
  private readonly watched = new Map<number, string>();
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 200) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  watch(pid: number, label: string): void {
    this.watched.set(pid, label);
    this.sample();
  }

  unwatch(pid: number): void {
    this.sample();
    this.watched.delete(pid);
  }

  private sample(): void {
    for (const [pid, label] of this.watched) {
      const mib = rssMiB(pid);
      if (Number.isFinite(mib)) this.maxByLabel.set(label, Math.max(this.maxByLabel.get(label) ?? 0, mib));
    }
  }

  get max(): number {
    return Math.max(0, ...this.maxByLabel.values());
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// ---- machine ----------------------------------------------------------------------------------

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

export const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
