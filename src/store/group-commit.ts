import { sql } from 'kysely';
import type { Tx } from './db.js';

/**
 * Group commit: the writes of concurrent requests share one transaction and one durable commit.
 *
 * A refund's own work is a few row writes; its commit is a disk flush. Run one transaction per
 * request and throughput is one flush per refund, whatever the disk's bandwidth. Here the requests
 * that arrive while a transaction is running (or within the same event-loop turn) queue on their
 * lane; the next transaction runs all of them, each inside its own SAVEPOINT, so one request's
 * error rolls back that request's writes alone, and answers every one of them after the single
 * COMMIT. An answer is never given before the commit that makes it durable; a failed commit
 * fails every request of the group, none of which then happened.
 *
 * Lanes: a lane's groups run one after another; different lanes run in parallel. SQLite has one
 * writer, so it uses one lane; PostgreSQL uses one lane per merchant, so a group holds its
 * merchant's locks once for all its requests and merchants never wait for each other.
 *
 * Written here rather than taken from a library: neither Kysely nor the drivers batch
 * independent callers into one transaction (pg's and SQLite's own group commit apply to
 * concurrent transactions, not to statements of one connection).
 */
export interface GroupCommitOptions {
  /** Open a transaction, run `fn` in it, commit (the store's own `tx`). */
  tx: <T>(fn: (trx: Tx) => Promise<T>) => Promise<T>;
  /** At most this many requests share a transaction (bounds lock hold time and the loss of a failed commit). */
  maxGroup?: number;
  /** Issue a savepoint statement (replaceable in tests). */
  savepoint?: (trx: Tx, op: SavepointOp) => Promise<void>;
}

export type SavepointOp = 'savepoint' | 'release' | 'rollback';

const SAVEPOINT_SQL = {
  savepoint: sql`savepoint group_item`,
  release: sql`release savepoint group_item`,
  rollback: sql`rollback to savepoint group_item`,
} as const;

async function sqlSavepoint(trx: Tx, op: SavepointOp): Promise<void> {
  await SAVEPOINT_SQL[op].execute(trx);
}

interface Pending {
  fn: (trx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface GroupStats {
  groups: number;
  requests: number;
  largest: number;
}

export class GroupCommitter {
  private readonly queues = new Map<string, Pending[]>();
  private readonly busy = new Set<string>();
  private readonly maxGroup: number;
  private readonly savepoint: (trx: Tx, op: SavepointOp) => Promise<void>;
  readonly stats: GroupStats = { groups: 0, requests: 0, largest: 0 };

  constructor(private readonly opts: GroupCommitOptions) {
    this.maxGroup = opts.maxGroup ?? 64;
    this.savepoint = opts.savepoint ?? sqlSavepoint;
  }

  /** Run `fn` in the next group transaction of `lane`; resolves with its result once that transaction has committed. */
  run<T>(lane: string, fn: (trx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let queue = this.queues.get(lane);
      if (!queue) {
        queue = [];
        this.queues.set(lane, queue);
      }
      queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.busy.has(lane)) {
        this.busy.add(lane);
        // The requests read in this same turn of the event loop join the group.
        setImmediate(() => void this.drain(lane));
      }
    });
  }

  private async drain(lane: string): Promise<void> {
    const queue = this.queues.get(lane);
    try {
      while (queue && queue.length > 0) {
        await this.runGroup(queue.splice(0, this.maxGroup));
      }
    } finally {
      this.busy.delete(lane);
      if (queue && queue.length === 0) this.queues.delete(lane);
      else if (queue) {
        // A request queued after the loop's last check: start the next group for it.
        this.busy.add(lane);
        setImmediate(() => void this.drain(lane));
      }
    }
  }

  private async runGroup(group: Pending[]): Promise<void> {
    this.stats.groups++;
    this.stats.requests += group.length;
    this.stats.largest = Math.max(this.stats.largest, group.length);
    const [only] = group;
    if (only && group.length === 1) {
      // Alone: the transaction itself is the savepoint.
      try {
        only.resolve(await this.opts.tx(only.fn));
      } catch (err) {
        only.reject(err);
      }
      return;
    }
    let outcomes: Outcome[];
    try {
      outcomes = await this.opts.tx(async (trx) => {
        const done: Outcome[] = [];
        for (const p of group) {
          await this.savepoint(trx, 'savepoint');
          try {
            const value = await p.fn(trx);
            await this.savepoint(trx, 'release');
            done.push({ ok: true, value });
          } catch (error) {
            await this.savepoint(trx, 'rollback');
            await this.savepoint(trx, 'release');
            done.push({ ok: false, error });
          }
        }
        return done;
      });
    } catch (err) {
      // The commit (or the transaction around the items) failed: nothing of the group happened.
      for (const p of group) p.reject(err);
      return;
    }
    group.forEach((p, i) => {
      const o = outcomes[i];
      if (o?.ok) p.resolve(o.value);
      else p.reject(o ? o.error : new Error('group commit lost an outcome'));
    });
  }
}
