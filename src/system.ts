import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { buildApp, redactPaths } from './api/app.js';
import type { Config } from './config.js';
import { seedDemo } from './demo.js';
import { InProcessAcquirer } from './network/in-process/acquirer.js';
import type { Secrets } from './security.js';
import type { Ctx } from './service/context.js';
import { loadCalendarFile } from './store/calendar-file.js';
import { migrate, openStore } from './store/db.js';
import { OutboxWorker } from './worker/outbox.js';

/** Keys from the environment, or generated once and kept (mode 600) in the data directory. */
export function loadSecrets(config: Pick<Config, 'dataDir' | 'dataKey' | 'tokenKey'>): Secrets {
  const decode = (name: string, v: string) => {
    const b = Buffer.from(v, 'base64');
    if (b.length !== 32) throw new Error(`${name} must be 32 bytes, base64`);
    return b;
  };
  if (config.dataKey && config.tokenKey) {
    return { dataKey: decode('DATA_KEY', config.dataKey), tokenKey: decode('TOKEN_KEY', config.tokenKey) };
  }
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'secrets.json');
  if (!existsSync(file)) {
    const fresh = {
      dataKey: randomBytes(32).toString('base64'),
      tokenKey: randomBytes(32).toString('base64'),
    };
    writeFileSync(file, JSON.stringify(fresh), { mode: 0o600, flag: 'wx' });
  }
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { dataKey: string; tokenKey: string };
  return { dataKey: decode('dataKey', stored.dataKey), tokenKey: decode('tokenKey', stored.tokenKey) };
}

export function makeLogger(level: string): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' } });
}

export interface System {
  ctx: Ctx;
  app: FastifyInstance;
  worker: OutboxWorker | null;
  network: InProcessAcquirer;
  close(): Promise<void>;
}

/** Wire the whole service: store → migrations → demo → network → worker → HTTP. */
export async function startSystem(
  config: Config,
  opts: { log?: Logger; clock?: () => Date } = {},
): Promise<System> {
  const log = opts.log ?? makeLogger(config.logLevel);
  const store = openStore(config.databaseUrl);
  await migrate(store);
  const clock = opts.clock ?? (() => new Date());
  const network = new InProcessAcquirer(store, { processingDelayMs: config.networkDelayMs, clock });
  const ctx: Ctx = { store, secrets: loadSecrets(config), calendar: loadCalendarFile(), network, clock, log };
  if (config.seedDemo) await seedDemo(ctx);
  const worker = config.worker
    ? new OutboxWorker({ store, network, log, clock, leaseMs: config.workerLeaseMs })
    : null;
  worker?.start();
  const app = await buildApp(ctx, { logger: config.logLevel !== 'silent' });
  return {
    ctx,
    app,
    worker,
    network,
    async close() {
      await app.close();
      await worker?.stop();
      await network.close();
      await store.close();
    },
  };
}
