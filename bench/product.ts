/**
 * The product under test, started the way a shop starts it: `refund-desk serve` (dist/cli.js, built
 * by `npm run bench`; BENCH_SERVER=src runs src/cli.ts through tsx instead), in a process of its
 * own, configured through its environment only. The bench reads the listening address from the
 * banner the command prints.
 *
 * Settings the bench chooses (and reports): the in-process acquirer (NETWORK=in-process, 5 ms),
 * the demo seed (merchant, terminal, operators of PRODUCT.md §9), a per-minute rate limit high
 * enough never to refuse benchmark traffic, logs off, fresh keys, and DATABASE_POOL_SIZE (used only
 * if the product reads it; the PostgreSQL connections it really opens are observed and reported).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_DIR, stopChild, track, waitForLine } from './lib.js';

export const NETWORK_DELAY_MS = 5;
const START_TIMEOUT_MS = 120_000;

export interface Product {
  base: string;
  host: string;
  port: number;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function serverMode(): 'dist' | 'src' {
  const wanted = process.env.BENCH_SERVER;
  if (wanted === 'src') return 'src';
  if (wanted === 'dist' || existsSync(join(REPO_DIR, 'dist', 'cli.js'))) return 'dist';
  return 'src';
}

export async function startProduct(opts: { databaseUrl: string; poolSize: number }): Promise<Product> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'refund-desk-bench-data-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: opts.databaseUrl,
    DATABASE_POOL_SIZE: String(opts.poolSize),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    SEED_DEMO: '1',
    WORKER: '1',
    NETWORK: 'in-process',
    NETWORK_DELAY_MS: String(NETWORK_DELAY_MS),
    DATA_KEY: randomBytes(32).toString('base64'),
    TOKEN_KEY: randomBytes(32).toString('base64'),
    RATE_LIMIT_PER_MINUTE: '1000000',
    SIGNIN_LIMIT_PER_MINUTE: '10000',
    // As `npm start` and docs/production.md run the server: two glibc malloc arenas instead of
    // one per thread (thread pool, checkpointer), about 80 MB less RSS under load.
    MALLOC_ARENA_MAX: '2',
  };
  // BENCH_PROFILE_DIR: the product writes a V8 CPU profile there when it exits (flame graphs).
  const profile = process.env.BENCH_PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
    : [];
  const args =
    serverMode() === 'dist'
      ? [...profile, join(REPO_DIR, 'dist', 'cli.js'), 'serve']
      : [...profile, '--import', 'tsx', 'src/cli.ts', 'serve'];
  const child = track(
    spawn(process.execPath, args, { cwd: REPO_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  // Keep draining the pipes: a full pipe would block the server.
  child.stdout?.resume();
  child.stderr?.resume();
  let m: RegExpMatchArray;
  try {
    m = await waitForLine(child, /API\s+(http:\/\/[^\s/]+)\/v1/, 'refund-desk serve', START_TIMEOUT_MS);
  } catch (err) {
    await stopChild(child, 2_000);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const base = (m[1] as string).replace('localhost', '127.0.0.1');
  const url = new URL(base);
  return {
    base,
    host: url.hostname,
    port: Number(url.port),
    pid: child.pid ?? -1,
    child,
    async stop() {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
