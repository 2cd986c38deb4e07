import { sql } from 'kysely';
import type { Tx } from './dialect.js';

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
  /**
   * Issue savepoint statements, in order (replaceable in tests). Default: one statement at a time;
   * `savepointsInOneRoundTrip` sends them as one multi-statement query (PostgreSQL).
   */
  savepoint?: (trx: Tx, ops: SavepointOp[]) => Promise<void>;
}

export type SavepointOp = 'savepoint' | 'release' | 'rollback';

const SAVEPOINT_SQL = {
  savepoint: 'savepoint group_item',
  release: 'release savepoint group_item',
  rollback: 'rollback to savepoint group_item',
} as const;

async function oneAtATime(trx: Tx, ops: SavepointOp[]): Promise<void> {
  for (const op of ops) await sql.raw(SAVEPOINT_SQL[op]).execute(trx);
}

/**
 * PostgreSQL runs a parameterless query with several statements in one round trip (the simple
 * query protocol): ending one request's savepoint and opening the next one's cost one trip.
 */
export async function savepointsInOneRoundTrip(trx: Tx, ops: SavepointOp[]): Promise<void> {
  if (ops.length > 0) await sql.raw(ops.map((op) => SAVEPOINT_SQL[op]).join('; ')).execute(trx);
}

/** One request's result from a batch: its answer, its own refusal, or "run me on my own". */
export type BatchOutcome = Outcome | { alone: true };

/**
 * Requests of one kind that can be decided together (e.g. refund creation): one call for all of
 * them instead of one `fn` each. Each request of the kind brings the same `many`. If `many`
 * throws, nothing of it stays (its savepoint is rolled back) and every request runs its own `fn`.
 */
export interface Batchable<I> {
  kind: string;
  input: I;
  many: (trx: Tx, inputs: I[]) => Promise<BatchOutcome[]>;
}

interface Pending {
  fn: (trx: Tx) => Promise<unknown>;
  batch: Batchable<unknown> | undefined;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** One request's result: its value or its own error. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

type Flush = (trx: Tx, values: unknown[]) => Promise<void>;

/** What the requests of one group transaction left to be written once for all of them. */
class GroupEnd {
  /** The running request's share, kept only if the request succeeds. */
  private item = new Map<Flush, unknown[]>();
  private readonly group = new Map<Flush, unknown[]>();

  add(flush: Flush, value: unknown): void {
    const values = this.item.get(flush);
    if (values) values.push(value);
    else this.item.set(flush, [value]);
  }

  /** The running request ended: keep its share (`ok`) or drop it with its savepoint. */
  settle(ok: boolean): void {
    if (ok) {
      for (const [flush, values] of this.item) {
        const kept = this.group.get(flush);
        if (kept) kept.push(...values);
        else this.group.set(flush, values);
      }
    }
    this.item = new Map();
  }

  async flush(trx: Tx): Promise<void> {
    for (const [flush, values] of this.group) await flush(trx, values);
  }
}

const groupEnds = new WeakMap<object, GroupEnd>();

/**
 * Inside a group transaction, leave `value` to `flush`, which runs once for the values of every
 * request of the group that succeeded, in their order, just before the commit; returns false
 * outside one (a lone request, a plain `tx`): the caller then writes at once. The audit chain
 * uses it: a group locks each chain's head once and links all its entries in one insert.
 */
export function deferToGroupEnd<T>(
  trx: Tx,
  flush: (trx: Tx, values: T[]) => Promise<void>,
  value: T,
): boolean {
  const end = groupEnds.get(trx);
  if (!end) return false;
  end.add(flush as Flush, value);
  return true;
}

export interface GroupStats {
  groups: number;
  requests: number;
  largest: number;
  /** Requests answered by a batch (`Batchable`) rather than their own `fn`. */
  batched: number;
  /** Batches that threw and whose requests then ran one by one (a bug to look into if it grows). */
  batchFallbacks: number;
}

/** The requests of a group that share a batch kind, two or more of them, in arrival order. */
function batches(group: Pending[]): Pending[][] {
  const byKind = new Map<string, Pending[]>();
  for (const p of group) {
    if (!p.batch) continue;
    const list = byKind.get(p.batch.kind);
    if (list) list.push(p);
    else byKind.set(p.batch.kind, [p]);
  }
  return [...byKind.values()].filter((members) => members.length > 1);
}

export class GroupCommitter {
  private readonly queues = new Map<string, Pending[]>();
  private readonly busy = new Set<string>();
  private readonly maxGroup: number;
  private readonly savepoint: (trx: Tx, ops: SavepointOp[]) => Promise<void>;
  readonly stats: GroupStats = { groups: 0, requests: 0, largest: 0, batched: 0, batchFallbacks: 0 };

  constructor(private readonly opts: GroupCommitOptions) {
    this.maxGroup = opts.maxGroup ?? 64;
    this.savepoint = opts.savepoint ?? oneAtATime;
  }

  /** Run `fn` in the next group transaction of `lane`; resolves with its result once that transaction has committed. */
  run<T, I = never>(lane: string, fn: (trx: Tx) => Promise<T>, batch?: Batchable<I>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let queue = this.queues.get(lane);
      if (!queue) {
        queue = [];
        this.queues.set(lane, queue);
      }
      queue.push({
        fn,
        batch: batch as Batchable<unknown> | undefined,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
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
        const end = new GroupEnd();
        groupEnds.set(trx, end);
        try {
          const done: (Outcome | undefined)[] = group.map(() => undefined);
          // The end of one request's savepoint goes with the start of the next one's.
          let closing: SavepointOp[] = [];
          for (const members of batches(group)) {
            await this.savepoint(trx, [...closing, 'savepoint']);
            const first = members[0];
            try {
              if (!first?.batch) throw new Error('a batch without its kind');
              const results = await first.batch.many(
                trx,
                members.map((m) => m.batch?.input),
              );
              closing = ['release'];
              end.settle(true);
              members.forEach((m, k) => {
                const r = results[k];
                if (r && !('alone' in r)) {
                  done[group.indexOf(m)] = r;
                  this.stats.batched++;
                }
              });
            } catch {
              // Each of them runs on its own below, with its own outcome.
              this.stats.batchFallbacks++;
              closing = ['rollback', 'release'];
              end.settle(false);
            }
          }
          for (const [i, p] of group.entries()) {
            if (done[i]) continue;
            await this.savepoint(trx, [...closing, 'savepoint']);
            try {
              const value = await p.fn(trx);
              closing = ['release'];
              end.settle(true);
              done[i] = { ok: true, value };
            } catch (error) {
              closing = ['rollback', 'release'];
              end.settle(false);
              done[i] = { ok: false, error };
            }
          }
          await this.savepoint(trx, closing);
          await end.flush(trx);
          return done as Outcome[];
        } finally {
          groupEnds.delete(trx);
        }
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
