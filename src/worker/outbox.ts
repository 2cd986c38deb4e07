import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { BusinessCalendar } from '../domain/calendar.js';
import { type NetworkPort, NetworkUnavailableError, parseReversal, REVERSE_KIND } from '../network/port.js';
import { RECEIPT_SEND_KIND, RECEIPT_SEND_MAX_ATTEMPTS, type ReceiptDelivery } from '../receipts/send.js';
import { SUBMIT_KIND } from '../service/refunds.js';
import { CONSUMER_MESSAGE_KIND, earlierMessagePending } from '../store/consumer-messages.js';
import type { Store } from '../store/db.js';
import { RECOVER_KIND } from '../store/operations.js';
import { buryOutbox, claimDue, type OutboxUpdate, updateOutbox } from '../store/outbox.js';
import type { OutboxTable } from '../store/schema.js';
import {
  type ChargeCompensation,
  COMPENSATE_KIND,
  runChargeCompensation,
} from '../workflows/compensation.js';
import { recoverOperation } from '../workflows/recovery.js';
import { applyRefundResult, markDelayed, submitRefund } from '../workflows/refund.js';

export interface WorkerOptions {
  store: Store;
  network: NetworkPort;
  log: Logger;
  clock?: () => Date;
  /** Rows claimed per poll. */
  batchSize?: number;
  pollIntervalMs?: number;
  /** How long a claim lasts before another worker may take the row over (crashed worker). */
  leaseMs?: number;
  /** Processing longer than this marks the refund `delayed` (seed 004: 退款延迟). */
  delayedAfterMs?: number;
  /**
   * Business-day calendar: a refund that becomes delayed gets its expected arrival recomputed from
   * today. Without one, the delayed flag is still set but the date is left as it was.
   */
  calendar?: BusinessCalendar;
  workerId?: string;
  /** First retry delay; doubles per attempt up to a minute. */
  backoffBaseMs?: number;
  /** Voucher sends to consumers (`receipt.send`); without it such rows wait for a worker that has one. */
  receipts?: ReceiptDelivery;
}

const MAX_BACKOFF_MS = 60_000;

export function backoffMs(attempts: number, baseMs = 500): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(attempts, 10));
}

/**
 * One kind of outbox work. Every kind has a bound: after `maxAttempts` the row is `dead`, listed
 * by `GET /v1/outbox/dead` and written to the audit log — work never loops silently.
 */
export interface OutboxKind {
  /**
   * 'defer': not this worker's to do (left for one that can, after a lease); 'wait': not yet,
   * because an earlier row must go first (tried again at the next poll). Neither counts as an attempt.
   */
  run(row: OutboxTable): Promise<'done' | 'defer' | 'wait'>;
  maxAttempts: number;
  /** Called before each retry (e.g. mark a refund delayed). */
  onRetry?(row: OutboxTable, err: unknown): Promise<void>;
  /** Called once when the row dies. */
  onDead?(row: OutboxTable, error: string): Promise<void>;
  /** Whose row this is, for rows enqueued without a merchant (the dead-letter list is per merchant). */
  merchantOf?(row: OutboxTable): Promise<string | null>;
}

/** With back-off capped at a minute, 100 attempts keep retrying for about an hour and a half. */
const NETWORK_MAX_ATTEMPTS = 100;

/**
 * The outbox worker: a registry `kind → {run, maxAttempts, …}` and one loop that claims due rows
 * (SKIP LOCKED on PostgreSQL, so several workers share one outbox), runs them concurrently,
 * retries with exponential back-off and ends exhausted rows `dead`. It also polls refunds still
 * processing, for results whose notification was lost.
 */
export class OutboxWorker {
  private readonly store: Store;
  private readonly network: NetworkPort;
  private readonly log: Logger;
  private readonly clock: () => Date;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly leaseMs: number;
  private readonly delayedAfterMs: number;
  private readonly backoffBaseMs: number;
  private readonly calendar: BusinessCalendar | null;
  private readonly kinds = new Map<string, OutboxKind>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(opts: WorkerOptions) {
    this.store = opts.store;
    this.network = opts.network;
    this.log = opts.log.child({ component: 'outbox', workerId: opts.workerId ?? String(process.pid) });
    this.clock = opts.clock ?? (() => new Date());
    this.batchSize = opts.batchSize ?? 20;
    this.pollIntervalMs = opts.pollIntervalMs ?? 250;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.delayedAfterMs = opts.delayedAfterMs ?? 60_000;
    this.backoffBaseMs = opts.backoffBaseMs ?? 500;
    this.calendar = opts.calendar ?? null;
    this.registerDefaults(opts.receipts ?? null);
  }

  /** Add a kind of work (a new network or channel is one registration). */
  register(kind: string, handler: OutboxKind): void {
    this.kinds.set(kind, handler);
  }

  private get deps() {
    return { store: this.store, network: this.network, clock: this.clock, log: this.log };
  }

  private registerDefaults(receipts: ReceiptDelivery | null): void {
    const refundMerchant = async (refundId: string) =>
      (
        await this.store.db
          .selectFrom('refunds')
          .select('merchant_id')
          .where('id', '=', refundId)
          .executeTakeFirst()
      )?.merchant_id ?? null;
    this.register(SUBMIT_KIND, {
      maxAttempts: NETWORK_MAX_ATTEMPTS,
      run: async (row) => {
        await submitRefund(this.deps, row.ref_id);
        return 'done';
      },
      onRetry: async (row, err) => {
        if (
          err instanceof NetworkUnavailableError &&
          this.clock().getTime() - Date.parse(row.created_at) > this.delayedAfterMs
        ) {
          await markDelayed({ ...this.deps, calendar: this.calendar }, row.ref_id, 'submission_failing');
        }
      },
      merchantOf: (row) => refundMerchant(row.ref_id),
    });
    this.register(REVERSE_KIND, {
      maxAttempts: NETWORK_MAX_ATTEMPTS,
      run: async (row) => {
        if (!this.network.reverse) throw new Error(`network ${this.network.name} has no reversals`);
        // Rows from before the payload was typed carry only { attemptId }: card reversals.
        await this.network.reverse(parseReversal(JSON.parse(row.payload_json)));
        return 'done';
      },
      merchantOf: async (row) => {
        const p = parseReversal(JSON.parse(row.payload_json));
        if (p.network === 'qr') return p.merchantId;
        const t = await this.store.db
          .selectFrom('link_attempts')
          .innerJoin('terminals', (j) =>
            j
              .onRef('terminals.id', '=', 'link_attempts.terminal_id')
              .onRef('terminals.merchant_id', '=', 'link_attempts.merchant_id'),
          )
          .select('terminals.merchant_id')
          .where('link_attempts.id', '=', p.attemptId)
          .executeTakeFirst();
        return t?.merchant_id ?? null;
      },
    });
    this.register(COMPENSATE_KIND, {
      maxAttempts: NETWORK_MAX_ATTEMPTS,
      run: async (row) => {
        await runChargeCompensation(
          this.store,
          this.network,
          JSON.parse(row.payload_json) as ChargeCompensation,
          this.clock,
        );
        return 'done';
      },
    });
    this.register(RECOVER_KIND, {
      maxAttempts: NETWORK_MAX_ATTEMPTS,
      run: async (row) => {
        await recoverOperation(this.deps, row.ref_id);
        return 'done';
      },
      merchantOf: async (row) =>
        (
          await this.store.db
            .selectFrom('operations')
            .select('merchant_id')
            .where('id', '=', row.ref_id)
            .executeTakeFirst()
        )?.merchant_id ?? null,
    });
    // A consumer's status message (issue 12): like a voucher send, only where the senders are.
    this.register(CONSUMER_MESSAGE_KIND, {
      maxAttempts: RECEIPT_SEND_MAX_ATTEMPTS,
      run: async (row) => {
        if (!receipts) return 'defer';
        // In the order of the steps: "refunded" never reaches the phone before "under review".
        if (await earlierMessagePending(this.store.db, row)) return 'wait';
        await receipts.message(row);
        return 'done';
      },
      merchantOf: async (row) => row.merchant_id,
    });
    this.register(RECEIPT_SEND_KIND, {
      maxAttempts: RECEIPT_SEND_MAX_ATTEMPTS,
      run: async (row) => {
        // Without senders this worker leaves vouchers to a worker that has them.
        if (!receipts) return 'defer';
        await receipts.deliver(row);
        return 'done';
      },
      onDead: async (row, error) => {
        await receipts?.giveUp(row, error);
      },
      merchantOf: async (row) => {
        const send = await this.store.db
          .selectFrom('receipt_sends')
          .select('refund_id')
          .where('id', '=', row.ref_id)
          .executeTakeFirst();
        return send ? refundMerchant(send.refund_id) : null;
      },
    });
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Finish the tick in progress, then stop (graceful shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => undefined)
        .catch((err) => this.log.error({ err }, 'outbox tick failed'))
        .finally(() => this.schedule(this.pollIntervalMs));
    }, ms);
  }

  /** One pass: run what is due, then ask the network about refunds still processing. */
  async tick(): Promise<{ submitted: number; polled: number }> {
    const claimed = await this.claim();
    // Claimed rows are independent: work them concurrently, so one slow answer from the network
    // does not hold up the rest of the batch.
    await Promise.all(claimed.map((row) => this.handle(row)));
    const polled = await this.pollProcessing();
    return { submitted: claimed.length, polled };
  }

  /** Run ticks until nothing is left to do (tests and the CLI's `drain`). */
  async drain(maxTicks = 100): Promise<void> {
    for (let i = 0; i < maxTicks; i++) {
      const { submitted } = await this.tick();
      const pending = await this.store.db
        .selectFrom('refunds')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', 'in', ['approved', 'processing'])
        .executeTakeFirstOrThrow();
      if (submitted === 0 && Number(pending.n) === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private claim(): Promise<OutboxTable[]> {
    const now = this.clock();
    return claimDue(this.store, now, new Date(now.getTime() + this.leaseMs), this.batchSize);
  }

  private async handle(row: OutboxTable): Promise<void> {
    const kind = this.kinds.get(row.kind);
    if (!kind) {
      await this.bury(row, undefined, `unknown outbox kind ${row.kind}`);
      return;
    }
    try {
      const outcome = await kind.run(row);
      if (outcome === 'defer' || outcome === 'wait') {
        const later = outcome === 'defer' ? this.leaseMs : this.pollIntervalMs;
        await this.update(row.id, {
          locked_until: null,
          attempts: row.attempts - 1,
          next_attempt_at: new Date(this.clock().getTime() + later).toISOString(),
        });
        return;
      }
      await this.update(row.id, { status: 'done', locked_until: null, last_error: null });
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      if (row.attempts >= kind.maxAttempts) {
        await this.bury(row, kind, message);
        return;
      }
      this.log.warn(
        { kind: row.kind, refId: row.ref_id, attempts: row.attempts, err: message },
        'outbox work will be retried',
      );
      const retryAt = new Date(this.clock().getTime() + backoffMs(row.attempts, this.backoffBaseMs));
      await this.update(row.id, {
        locked_until: null,
        next_attempt_at: retryAt.toISOString(),
        last_error: message,
      });
      await kind.onRetry?.(row, err);
    }
  }

  /** The row is given up: `dead`, visible in the list and the audit log. */
  private async bury(row: OutboxTable, kind: OutboxKind | undefined, error: string): Promise<void> {
    this.log.error(
      { kind: row.kind, refId: row.ref_id, attempts: row.attempts, err: error },
      'outbox work is dead',
    );
    const merchantId = row.merchant_id ?? (await kind?.merchantOf?.(row).catch(() => null)) ?? null;
    await kind?.onDead?.(row, error);
    await buryOutbox(this.store, row, merchantId, error, this.clock());
  }

  private async update(id: string, set: OutboxUpdate): Promise<void> {
    await updateOutbox(this.store.db, id, set, this.clock());
  }

  /** Recover results whose notification was lost (restart, dropped message): ask the network. */
  private async pollProcessing(): Promise<number> {
    const now = this.clock();
    const stale = new Date(now.getTime() - 1_000).toISOString();
    const rows = await this.store.db
      .selectFrom('refunds')
      .select(['id', 'updated_at', 'delayed'])
      .where('status', '=', 'processing')
      .where('updated_at', '<', stale)
      .orderBy('updated_at')
      .limit(this.batchSize)
      .execute();
    for (const row of rows) {
      try {
        const result = await this.network.queryRefund(row.id);
        if (result) await applyRefundResult(this.deps, result);
        else if (row.delayed === 0 && now.getTime() - Date.parse(row.updated_at) > this.delayedAfterMs) {
          await markDelayed({ ...this.deps, calendar: this.calendar }, row.id, 'processing_overdue');
        }
      } catch (err) {
        if (!(err instanceof NetworkUnavailableError))
          this.log.warn({ err, refundId: row.id }, 'status poll failed');
      }
    }
    return rows.length;
  }
}

/** Outbox depth for health and metrics: work waiting, and work given up (dead letters). */
export async function outboxDepth(store: Store): Promise<{ pending: number; dead: number }> {
  const r = await sql<{ status: string; n: number }>`
    select status, count(*) as n from outbox where status in ('pending', 'dead') group by status`.execute(
    store.db,
  );
  const of = (status: string) => Number(r.rows.find((x) => x.status === status)?.n ?? 0);
  return { pending: of('pending'), dead: of('dead') };
}
