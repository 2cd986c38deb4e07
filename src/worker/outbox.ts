import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { BusinessCalendar } from '../domain/calendar.js';
import { DomainError } from '../domain/errors.js';
import type { PaymentMethod } from '../domain/payment.js';
import type { RefundMethod } from '../domain/policy.js';
import { expectedArrival } from '../domain/refund.js';
import type { RefundStatus } from '../domain/refund-state.js';
import {
  type NetworkPort,
  type NetworkResult,
  NetworkUnavailableError,
  REVERSE_KIND,
} from '../network/port.js';
import { RECEIPT_SEND_KIND, RECEIPT_SEND_MAX_ATTEMPTS, type ReceiptDelivery } from '../receipts/send.js';
import { SUBMIT_KIND } from '../service/refunds.js';
import { appendAudit } from '../store/audit.js';
import type { Store } from '../store/db.js';
import { loadPaymentRow, lockRefund, moveRefund, paymentState, policyOf } from '../store/repo.js';
import type { OutboxTable } from '../store/schema.js';

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

/** Refunds that can become delayed: approved (waiting to be submitted) or processing at the network. */
const delayableStatuses: ReadonlySet<string> = new Set<RefundStatus>(['approved', 'processing']);

export function backoffMs(attempts: number, baseMs = 500): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(attempts, 10));
}

/**
 * The outbox worker, as a workflow with visible steps (Medusa style):
 *   claim → submit to the network → record `processing` (or `failed`) → apply the result.
 * Submission is at-least-once and the network deduplicates by refund id, so the effect is
 * exactly once. Several workers can share one PostgreSQL outbox: claims use SKIP LOCKED.
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
  private readonly receipts: ReceiptDelivery | null;
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
    this.receipts = opts.receipts ?? null;
    this.network.onResult((r) => this.applyResult(r));
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

  /** One pass: submit what is due, then ask the network about refunds still processing. */
  async tick(): Promise<{ submitted: number; polled: number }> {
    const claimed = await this.claim();
    // Claimed rows are independent (one refund or reversal each): work them concurrently, so one
    // slow answer from the network does not hold up the rest of the batch.
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

  private async claim(): Promise<OutboxTable[]> {
    const now = this.clock();
    const lease = new Date(now.getTime() + this.leaseMs).toISOString();
    const iso = now.toISOString();
    return this.store.tx(async (trx) => {
      const due = trx
        .selectFrom('outbox')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', iso)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', iso)]))
        .orderBy('next_attempt_at')
        .limit(this.batchSize);
      const ids = await (this.store.dialect === 'postgres' ? due.forUpdate().skipLocked() : due).execute();
      if (ids.length === 0) return [];
      return trx
        .updateTable('outbox')
        .set((eb) => ({ locked_until: lease, attempts: eb('attempts', '+', 1), updated_at: iso }))
        .where(
          'id',
          'in',
          ids.map((r) => r.id),
        )
        .returningAll()
        .execute();
    });
  }

  private async handle(row: OutboxTable): Promise<void> {
    if (row.kind === RECEIPT_SEND_KIND) return this.sendReceipt(row);
    if (row.kind !== SUBMIT_KIND && row.kind !== REVERSE_KIND) {
      await this.finish(row.id, 'dead', `unknown outbox kind ${row.kind}`);
      return;
    }
    try {
      if (row.kind === REVERSE_KIND) await this.reverse(row);
      else await this.submitRefund(row);
    } catch (err) {
      const retryAt = new Date(this.clock().getTime() + backoffMs(row.attempts, this.backoffBaseMs));
      const message = err instanceof Error ? err.message : String(err);
      this.log.warn(
        { refundId: row.ref_id, attempts: row.attempts, err: message },
        'refund submission will be retried',
      );
      await this.store.db
        .updateTable('outbox')
        .set({
          locked_until: null,
          next_attempt_at: retryAt.toISOString(),
          last_error: message.slice(0, 500),
        })
        .where('id', '=', row.id)
        .execute();
      if (
        err instanceof NetworkUnavailableError &&
        this.clock().getTime() - Date.parse(row.created_at) > this.delayedAfterMs
      ) {
        await this.markDelayed(row.ref_id, 'submission_failing');
      }
    }
  }

  /** Step: deliver a voucher to the consumer; retried with back-off, given up after 8 attempts. */
  private async sendReceipt(row: OutboxTable): Promise<void> {
    if (!this.receipts) {
      await this.store.db
        .updateTable('outbox')
        .set({
          locked_until: null,
          attempts: row.attempts - 1,
          next_attempt_at: new Date(this.clock().getTime() + this.leaseMs).toISOString(),
        })
        .where('id', '=', row.id)
        .execute();
      return;
    }
    try {
      await this.receipts.deliver(row);
      await this.finish(row.id, 'done', null);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (row.attempts >= RECEIPT_SEND_MAX_ATTEMPTS) {
        await this.receipts.giveUp(row, message);
        await this.finish(row.id, 'dead', message.slice(0, 500));
        return;
      }
      const retryAt = new Date(this.clock().getTime() + backoffMs(row.attempts, this.backoffBaseMs));
      await this.store.db
        .updateTable('outbox')
        .set({
          locked_until: null,
          next_attempt_at: retryAt.toISOString(),
          last_error: message.slice(0, 500),
        })
        .where('id', '=', row.id)
        .execute();
    }
  }

  /** Compensation step: a reversal (冲正) retried until the host acknowledges it. */
  private async reverse(row: OutboxTable): Promise<void> {
    if (!this.network.reverse) {
      await this.finish(row.id, 'dead', `network ${this.network.name} has no reversals`);
      return;
    }
    await this.network.reverse(JSON.parse(row.payload_json));
    await this.finish(row.id, 'done', null);
  }

  /** Step: submit → record processing. Refunds that are not to be paid out by a network settle locally. */
  private async submitRefund(row: OutboxTable): Promise<void> {
    const refund = await this.store.db
      .selectFrom('refunds')
      .selectAll()
      .where('id', '=', row.ref_id)
      .executeTakeFirst();
    if (refund?.status !== 'approved') {
      await this.finish(row.id, 'done', refund ? `refund already ${refund.status}` : 'refund missing');
      return;
    }
    const payment = await this.store.db
      .selectFrom('payments')
      .selectAll()
      .where('id', '=', refund.payment_id)
      .executeTakeFirstOrThrow();
    if (refund.method !== 'original' || payment.method === 'cash' || !payment.network_reference) {
      // Cash and bank-transfer refunds are paid by the merchant, not the network.
      await this.store.tx(async (trx) => {
        const at = this.clock();
        const ref = `${refund.method === 'bank_transfer' ? 'BT' : 'CASH'}-${refund.id.slice(-10)}`;
        if ((await lockRefund(this.store, trx, refund.id))?.status === 'approved') {
          await moveRefund(this.store, trx, refund.id, 'processing', {
            actor: 'worker',
            at,
            set: { network_reference: ref },
          });
          await moveRefund(this.store, trx, refund.id, 'succeeded', {
            actor: 'worker',
            at,
            set: { response_code: '00' },
          });
          await this.auditResult(trx, refund.merchant_id, refund.id, 'succeeded', '00', at);
        }
        await this.finishIn(trx, row.id, 'done', null);
      });
      return;
    }
    const ack = await this.network.submitRefund({
      requestId: refund.id,
      merchantId: refund.merchant_id,
      terminalId: refund.terminal_id,
      method: payment.method as PaymentMethod,
      originalReference: payment.network_reference,
      amountMinor: Number(refund.net_amount_minor),
      currency: refund.currency,
      reason: { code: refund.reason_code, note: refund.reason_note },
    });
    await this.store.tx(async (trx) => {
      const at = this.clock();
      // Re-read under lock: a notification may have applied the result meanwhile.
      const current = await lockRefund(this.store, trx, refund.id);
      if (current?.status === 'approved') {
        if (ack.kind === 'accepted') {
          await moveRefund(this.store, trx, refund.id, 'processing', {
            actor: 'worker',
            at,
            set: { network_reference: ack.reference },
          });
        } else {
          await moveRefund(this.store, trx, refund.id, 'failed', {
            actor: 'network',
            at,
            set: { network_reference: ack.reference, response_code: ack.responseCode },
          });
          await this.auditResult(trx, refund.merchant_id, refund.id, 'failed', ack.responseCode, at);
        }
      }
      await this.finishIn(trx, row.id, 'done', null);
    });
  }

  /** Step: apply the network's outcome. Idempotent: a late or repeated result changes nothing. */
  async applyResult(r: NetworkResult): Promise<void> {
    await this.store.tx(async (trx) => {
      const refund = await lockRefund(this.store, trx, r.requestId);
      if (!refund) return;
      const status = refund.status as RefundStatus;
      const at = this.clock();
      if (status === 'approved') {
        // The result overtook our own "processing" write: record the step we missed first.
        await moveRefund(this.store, trx, refund.id, 'processing', {
          actor: 'worker',
          at,
          set: { network_reference: r.reference },
        });
      } else if (status !== 'processing') {
        return;
      }
      await moveRefund(this.store, trx, refund.id, r.outcome, {
        actor: 'network',
        at,
        set: { network_reference: r.reference, response_code: r.responseCode },
      });
      await this.auditResult(trx, refund.merchant_id, refund.id, r.outcome, r.responseCode, at);
    });
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
        if (result) await this.applyResult(result);
        else if (row.delayed === 0 && now.getTime() - Date.parse(row.updated_at) > this.delayedAfterMs) {
          await this.markDelayed(row.id, 'processing_overdue');
        }
      } catch (err) {
        if (!(err instanceof NetworkUnavailableError || err instanceof DomainError)) throw err;
      }
    }
    return rows.length;
  }

  /**
   * 退款延迟 (seed 004): the refund is past its SLA. Once per refund, and only while it is still in
   * flight: flag it `delayed`, push its expected arrival out to today (Shanghai) plus the policy's
   * business days for its route — never earlier than the date already promised — and audit it.
   * No status moves, so no refund event is written. A row that is not a refund (a sale's
   * reversal) or a refund already flagged or finished is left alone.
   */
  private async markDelayed(refundId: string, cause: 'submission_failing' | 'processing_overdue') {
    const peek = await this.store.db
      .selectFrom('refunds')
      .select(['status', 'delayed'])
      .where('id', '=', refundId)
      .executeTakeFirst();
    // Cheap check first: a failing submission calls this on every retry.
    if (!peek || peek.delayed === 1 || !delayableStatuses.has(peek.status)) return;
    await this.store.tx(async (trx) => {
      const refund = await lockRefund(this.store, trx, refundId);
      if (!refund || refund.delayed === 1 || !delayableStatuses.has(refund.status)) return;
      const at = this.clock();
      let arrival = refund.expected_arrival;
      if (this.calendar) {
        const merchant = await trx
          .selectFrom('merchants')
          .select('policy_json')
          .where('id', '=', refund.merchant_id)
          .executeTakeFirstOrThrow();
        const paymentRow = await loadPaymentRow(
          this.store,
          trx,
          refund.merchant_id,
          { paymentId: refund.payment_id },
          false,
        );
        const pushed = expectedArrival(
          policyOf(merchant),
          this.calendar,
          await paymentState(trx, paymentRow),
          refund.method as RefundMethod,
          at,
        );
        // ISO dates compare as strings.
        if (pushed > arrival) arrival = pushed;
      }
      await trx
        .updateTable('refunds')
        .set({ delayed: 1, expected_arrival: arrival, updated_at: at.toISOString() })
        .where('id', '=', refundId)
        .execute();
      await appendAudit(this.store, trx, {
        merchantId: refund.merchant_id,
        actor: 'worker',
        action: 'refund.delayed',
        entity: 'refund',
        entityId: refundId,
        data: {
          cause,
          status: refund.status,
          expectedArrival: arrival,
          previousExpectedArrival: refund.expected_arrival,
        },
        at,
      });
      this.log.warn({ refundId, cause, expectedArrival: arrival }, 'refund delayed past its SLA');
    });
  }

  private async auditResult(
    trx: Parameters<Parameters<Store['tx']>[0]>[0],
    merchantId: string,
    refundId: string,
    outcome: string,
    responseCode: string,
    at: Date,
  ) {
    await appendAudit(this.store, trx, {
      merchantId,
      actor: 'network',
      action: `refund.${outcome}`,
      entity: 'refund',
      entityId: refundId,
      data: { responseCode },
      at,
    });
  }

  private async finish(id: string, status: 'done' | 'dead', note: string | null) {
    await this.finishIn(this.store.db, id, status, note);
  }

  private async finishIn(
    trx: Parameters<Parameters<Store['tx']>[0]>[0],
    id: string,
    status: 'done' | 'dead',
    note: string | null,
  ) {
    await trx
      .updateTable('outbox')
      .set({ status, locked_until: null, last_error: note, updated_at: this.clock().toISOString() })
      .where('id', '=', id)
      .execute();
  }
}

/** Outbox depth for health and metrics. */
export async function outboxDepth(store: Store): Promise<number> {
  const r = await sql<{ n: number }>`select count(*) as n from outbox where status = 'pending'`.execute(
    store.db,
  );
  return Number(r.rows[0]?.n ?? 0);
}
