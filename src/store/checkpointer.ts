import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * SQLite WAL checkpoints off the event loop.
 *
 * In WAL mode every commit appends to the -wal file; a checkpoint copies those pages back into
 * the database file and syncs it. By default the committing connection does that itself every
 * 1000 pages — and better-sqlite3 is synchronous, so the whole server stops for it (tens to
 * hundreds of milliseconds under load: the p99 of issue 10's open-loop run). Here a worker thread
 * with its own connection runs PASSIVE checkpoints (they never block a writer, and a writer never
 * waits for them) a few times a second, and the server's connection only checkpoints itself as a
 * safety net if the WAL grows far past that (`SAFETY_NET_PAGES`).
 *
 * Written here because no library does it: it is the few lines below on better-sqlite3's own API.
 * The worker is given as source text (`eval`), so it runs the same from the TypeScript sources,
 * the built files and the tests, and it loads better-sqlite3 from the path this module resolves.
 */
export const CHECKPOINT_INTERVAL_MS = 250;
/** The server's own connection checkpoints past this many WAL pages (the worker fell behind). */
export const SAFETY_NET_PAGES = 20_000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
let stopped = false;
let timer = null;
const tick = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
  if (!stopped) timer = setTimeout(tick, workerData.intervalMs);
};
parentPort.on('message', (m) => {
  if (m === 'stop') {
    stopped = true;
    if (timer) clearTimeout(timer);
    try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
    db.close();
    parentPort.postMessage({ stopped: true });
  }
});
timer = setTimeout(tick, workerData.intervalMs);
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(
  path: string,
  opts: { intervalMs?: number; onError?: (message: string) => void } = {},
): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      path,
      module: createRequire(import.meta.url).resolve('better-sqlite3'),
      intervalMs: opts.intervalMs ?? CHECKPOINT_INTERVAL_MS,
    },
    // It allocates almost nothing: a small heap keeps the thread's share of the server's memory small.
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 },
  });
  // A checkpointer must never keep the process alive on its own.
  worker.unref();
  let stopped: Promise<void> | null = null;
  worker.on('message', (m: { error?: string }) => {
    if (m.error) opts.onError?.(m.error);
  });
  return {
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        const done = () => resolve();
        worker.once('exit', done);
        worker.on('message', (m: { stopped?: boolean }) => {
          if (m.stopped) void worker.terminate().then(done, done);
        });
        worker.postMessage('stop');
        // A worker that does not answer is ended anyway.
        setTimeout(() => void worker.terminate().then(done, done), 2_000).unref();
      });
      return stopped;
    },
  };
}
