import { resolve } from 'node:path';

/** Configuration from the environment, read and validated once at start. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  dataDir: string;
  logLevel: string;
  /** Seed the demo merchant, terminal, operators and sales into an empty store. */
  seedDemo: boolean;
  /** Run the outbox worker in this process. */
  worker: boolean;
  /** In-process acquirer: how long review and processing take. */
  networkDelayMs: number;
  /** How long a worker's claim on an outbox row lasts before another worker may take it over. */
  workerLeaseMs: number;
  dataKey: string | undefined;
  tokenKey: string | undefined;
}

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer in ${min}..${max}, got "${value}"`);
  return n;
}

function bool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(env.DATA_DIR ?? 'data');
  const databaseUrl = env.DATABASE_URL ?? `sqlite:${resolve(dataDir, 'refund-desk.db')}`;
  if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(databaseUrl)) {
    throw new Error('DATABASE_URL must start with sqlite: or postgres://');
  }
  return {
    port: int('PORT', env.PORT, 3000, 0, 65535),
    host: env.HOST ?? '0.0.0.0',
    databaseUrl,
    dataDir,
    logLevel: env.LOG_LEVEL ?? 'info',
    seedDemo: bool(env.SEED_DEMO, true),
    worker: bool(env.WORKER, true),
    networkDelayMs: int('NETWORK_DELAY_MS', env.NETWORK_DELAY_MS, 1500, 0, 600_000),
    workerLeaseMs: int('WORKER_LEASE_MS', env.WORKER_LEASE_MS, 30_000, 1_000, 3_600_000),
    dataKey: env.DATA_KEY,
    tokenKey: env.TOKEN_KEY,
  };
}
