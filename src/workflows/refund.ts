import type { Logger } from 'pino';
import type { BusinessCalendar } from '../domain/calendar.js';
import { expectedArrival } from '../domain/refund.js';
import type { RefundStatus } from '../domain/refund-state.js';
import { type NetworkPort, type NetworkResult, ResultMismatchError } from '../network/port.js';
import { appendAudit } from '../store/audit.js';
import type { Store, Tx } from '../store/db.js';
import { moveRefund, updateRefund } from '../store/ledger.js';
import { loadPaymentRow, lockRefund, paymentState, policyOf } from '../store/repo.js';

/**
 * A refund's life after the counter (creation, approval and cancel are in service/refunds.ts):
 *   1. hand off    under the refund's lock: still `approved`? stamp `handed_off_at`. From this
 *                  instant the network may hold it, so a cancel is refused (refund_at_network).
 *   2. submit      to the network, deduplicated by the refund id (at-least-once, effect once)
 *   3. record      `processing` (accepted) or `failed` (declined: the reservation is released)
 *   4. apply       the final result — the ONE `applyRefundResult`, called alike by the network's
 *                  callback, the wallet's notify route and the worker's status poll.
 * Cash and bank-transfer refunds are paid by the merchant, not the network: they settle locally.
 */
export interface RefundDeps {
  store: Store;
  network: NetworkPort;
  clock: () => Date;
  log: Logger;
}

/**
 * Step 1. Returns what the submission needs, or null when the refund is no longer approved. The
 * outbox row names the refund only: its merchant is found first, then every lock names it.
 */
async function handOff(deps: RefundDeps, refundId: string) {
  return deps.store.tx(async (trx) => {
    const refund = await lockRefund(trx, null, refundId);
    if (refund?.status !== 'approved') return null;
    const payment = await trx
      .selectFrom('payments')
      .selectAll()
      .where('id', '=', refund.payment_id)
      .where('merchant_id', '=', refund.merchant_id)
      .executeTakeFirstOrThrow();
    const local = refund.method !== 'original' || payment.method === 'cash' || !payment.network_reference;
    if (local) {
      await settleLocally(deps, trx, refund.id, refund.method, refund.merchant_id);
      return null;
    }
    if (!refund.handed_off_at) {
      const now = deps.clock();
      await updateRefund(trx, refund.merchant_id, refund.id, { handed_off_at: now.toISOString() }, now);
    }
    return { refund, payment, originalReference: payment.network_reference as string };
  });
}

/** Steps 1–3, run by the outbox for `refund.submit`. Throws to be retried (network unreachable). */
export async function submitRefund(deps: RefundDeps, refundId: string): Promise<void> {
  const handed = await handOff(deps, refundId);
  if (!handed) return;
  const { refund, payment, originalReference } = handed;
  const ack = await deps.network.submitRefund({
    requestId: refund.id,
    merchantId: refund.merchant_id,
    terminalId: refund.terminal_id,
    method: payment.method,
    originalReference,
    amountMinor: Number(refund.net_amount_minor),
    currency: refund.currency,
    reason: { code: refund.reason_code, note: refund.reason_note },
  });
  await deps.store.tx(async (trx) => {
    const at = deps.clock();
    // Re-read under lock: a notification may have applied the result meanwhile.
    const current = await lockRefund(trx, refund.merchant_id, refund.id);
    if (current?.status !== 'approved') return;
    if (ack.kind === 'accepted') {
      await moveRefund(trx, refund.id, 'processing', {
        merchantId: refund.merchant_id,
        actor: 'worker',
        at,
        set: { network_reference: ack.reference },
      });
      return;
    }
    await moveRefund(trx, refund.id, 'failed', {
      merchantId: refund.merchant_id,
      actor: 'network',
      at,
      set: { network_reference: ack.reference, response_code: ack.responseCode },
    });
    await auditResult(trx, refund.merchant_id, refund.id, 'failed', ack.responseCode, at);
  });
}

async function settleLocally(
  deps: RefundDeps,
  trx: Tx,
  refundId: string,
  method: string,
  merchantId: string,
) {
  const at = deps.clock();
  const ref = `${method === 'bank_transfer' ? 'BT' : 'CASH'}-${refundId.slice(-10)}`;
  await moveRefund(trx, refundId, 'processing', {
    merchantId,
    actor: 'worker',
    at,
    set: { network_reference: ref },
  });
  await moveRefund(trx, refundId, 'succeeded', {
    merchantId,
    actor: 'worker',
    at,
    set: { response_code: '00' },
  });
  await auditResult(trx, merchantId, refundId, 'succeeded', '00', at);
}

/** Step 4. Idempotent: a late or repeated result changes nothing. A result names the refund only. */
export async function applyRefundResult(
  deps: Pick<RefundDeps, 'store' | 'clock'>,
  r: NetworkResult,
): Promise<void> {
  await deps.store.tx(async (trx) => {
    const refund = await lockRefund(trx, null, r.requestId);
    if (!refund) return;
    if (r.amountMinor !== undefined && r.amountMinor !== Number(refund.net_amount_minor)) {
      // We asked the network for net_amount_minor: a signed message naming another amount is not
      // this refund's result. Applying it would put our books and the network's apart.
      throw new ResultMismatchError(
        `network result for ${refund.id} names ${r.amountMinor}, the refund sent ${refund.net_amount_minor}`,
      );
    }
    const status = refund.status;
    const at = deps.clock();
    if (status === 'approved') {
      // The result overtook our own "processing" write: record the step we missed first.
      await moveRefund(trx, refund.id, 'processing', {
        merchantId: refund.merchant_id,
        actor: 'worker',
        at,
        set: { network_reference: r.reference },
      });
    } else if (status !== 'processing') {
      return;
    }
    await moveRefund(trx, refund.id, r.outcome, {
      merchantId: refund.merchant_id,
      actor: 'network',
      at,
      set: { network_reference: r.reference, response_code: r.responseCode },
    });
    await auditResult(trx, refund.merchant_id, refund.id, r.outcome, r.responseCode, at);
  });
}

async function auditResult(
  trx: Tx,
  merchantId: string,
  refundId: string,
  outcome: string,
  responseCode: string,
  at: Date,
) {
  await appendAudit(trx, {
    merchantId,
    actor: 'network',
    action: `refund.${outcome}`,
    entity: 'refund',
    entityId: refundId,
    data: { responseCode },
    at,
  });
}

/** Refunds that can become delayed: approved (waiting to be submitted) or processing at the network. */
const delayableStatuses: ReadonlySet<string> = new Set<RefundStatus>(['approved', 'processing']);

/**
 * 退款延迟 (seed 004): the refund is past its SLA. Once per refund, and only while it is still in
 * flight: flag it `delayed`, push its expected arrival out to today (Shanghai) plus the policy's
 * business days for its route — never earlier than the date already promised — and audit it.
 * No status moves, so no refund event is written.
 */
export async function markDelayed(
  deps: Pick<RefundDeps, 'store' | 'clock' | 'log'> & { calendar: BusinessCalendar | null },
  refundId: string,
  cause: 'submission_failing' | 'processing_overdue',
): Promise<void> {
  // By id alone (the worker has the outbox row's id), and it finds the merchant for the locks.
  const peek = await deps.store.db
    .selectFrom('refunds')
    .select(['merchant_id', 'status', 'delayed'])
    .where('id', '=', refundId)
    .executeTakeFirst();
  // Cheap check first: a failing submission calls this on every retry.
  if (!peek || peek.delayed === 1 || !delayableStatuses.has(peek.status)) return;
  await deps.store.tx(async (trx) => {
    const refund = await lockRefund(trx, peek.merchant_id, refundId);
    if (!refund || refund.delayed === 1 || !delayableStatuses.has(refund.status)) return;
    const at = deps.clock();
    let arrival = refund.expected_arrival;
    if (deps.calendar) {
      const merchant = await trx
        .selectFrom('merchants')
        .select('policy_json')
        .where('id', '=', refund.merchant_id)
        .executeTakeFirstOrThrow();
      const paymentRow = await loadPaymentRow(
        trx,
        refund.merchant_id,
        { paymentId: refund.payment_id },
        false,
      );
      const pushed = expectedArrival(
        policyOf(merchant),
        deps.calendar,
        await paymentState(trx, paymentRow),
        refund.method,
        at,
      );
      // ISO dates compare as strings.
      if (pushed > arrival) arrival = pushed;
    }
    await updateRefund(trx, refund.merchant_id, refundId, { delayed: 1, expected_arrival: arrival }, at);
    await appendAudit(trx, {
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
    deps.log.warn({ refundId, cause, expectedArrival: arrival }, 'refund delayed past its SLA');
  });
}
