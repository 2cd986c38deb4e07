import { DomainError } from '../domain/errors.js';
import { ulid } from '../ids.js';
import { forUpdate, type Tx } from './db.js';
import { enqueueOutbox, type PaymentRow } from './repo.js';
import type { OperationKind, OperationStatus, OperationTable } from './schema.js';

/**
 * The journal of workflows that cross the network. A row is written under the merchant lock
 * before the network is called (`reserved`), so every concurrent request that takes the same lock
 * sees it; it ends `applied` (recorded in the ledger), `released` (the network did nothing), or
 * `compensating` → `compensated` (the network acted but the ledger could not take it: undone).
 */

/** Outbox kind: finish a workflow whose request died between its network call and its write. */
export const RECOVER_KIND = 'operation.recover';

/**
 * How long a reservation may stay open before the outbox resolves it: longer than any request
 * can run (network timeout, reversal, a retry after the idempotency claim went stale).
 */
export const RECOVER_AFTER_MS = 300_000;

/**
 * Queue the reservation's recovery in the caller's transaction (insertOperation does, so a crash at
 * any later point is recovered); `dueAt` now asks for it at once (a failed apply step).
 */
export async function scheduleRecovery(
  trx: Tx,
  operationId: string,
  at: Date,
  dueAt = new Date(at.getTime() + RECOVER_AFTER_MS),
): Promise<void> {
  await enqueueOutbox(trx, {
    id: `ob_${ulid()}`,
    kind: RECOVER_KIND,
    refId: operationId,
    payload: { operationId },
    at,
    dueAt,
  });
}

/** Statuses that still hold their reservation. */
export const activeOperationStatuses: readonly OperationStatus[] = ['reserved'];

export async function insertOperation(
  trx: Tx,
  op: {
    id: string;
    merchantId: string;
    kind: OperationKind;
    orderNo: string;
    paymentId: string;
    payload: unknown;
    at: Date;
  },
): Promise<void> {
  const iso = op.at.toISOString();
  await trx
    .insertInto('operations')
    .values({
      id: op.id,
      merchant_id: op.merchantId,
      kind: op.kind,
      order_no: op.orderNo,
      payment_id: op.paymentId,
      status: 'reserved',
      reference: null,
      payload_json: JSON.stringify(op.payload),
      created_at: iso,
      updated_at: iso,
    })
    .execute();
  await scheduleRecovery(trx, op.id, op.at);
}

/** Reserved operations of one order or one payment (callers hold the merchant lock). */
export async function activeOperations(
  trx: Tx,
  merchantId: string,
  where: { orderNo?: string; paymentId?: string; kinds: readonly OperationKind[] },
): Promise<OperationTable[]> {
  let q = trx
    .selectFrom('operations')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .where('status', 'in', [...activeOperationStatuses])
    .where('kind', 'in', [...where.kinds]);
  if (where.orderNo !== undefined) q = q.where('order_no', '=', where.orderNo);
  if (where.paymentId !== undefined) q = q.where('payment_id', '=', where.paymentId);
  return q.orderBy('created_at').execute();
}

/**
 * Payments of one merchant locked for new refunds — by id, and sales by order number — each with
 * whether a void of it is in flight (a refund must wait for it), in one statement. Callers hold
 * the merchant lock, so the order in which the rows are locked cannot deadlock.
 */
export async function lockPaymentsForRefunds(
  trx: Tx,
  merchantId: string,
  ref: { ids: string[]; saleOrderNos: string[] },
): Promise<{ row: PaymentRow; voidInProgress: boolean }[]> {
  if (ref.ids.length === 0 && ref.saleOrderNos.length === 0) return [];
  const q = trx
    .selectFrom('payments')
    .selectAll('payments')
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('operations')
            .select('operations.id')
            .where('operations.merchant_id', '=', merchantId)
            .whereRef('operations.payment_id', '=', 'payments.id')
            .where('operations.status', 'in', [...activeOperationStatuses])
            .where('operations.kind', '=', 'void'),
        )
        .as('void_in_progress'),
    )
    .where('payments.merchant_id', '=', merchantId)
    .where((eb) => {
      const terms = [];
      if (ref.ids.length > 0) terms.push(eb('payments.id', 'in', ref.ids));
      if (ref.saleOrderNos.length > 0)
        terms.push(
          eb.and([eb('payments.order_no', 'in', ref.saleOrderNos), eb('payments.kind', '=', 'sale')]),
        );
      return eb.or(terms);
    })
    .orderBy('payments.id');
  const rows = await forUpdate(trx, q).execute();
  return rows.map(({ void_in_progress, ...row }) => ({
    row,
    voidInProgress: Boolean(void_in_progress) && String(void_in_progress) !== '0',
  }));
}

/** Refuse while another workflow holds a reservation on the same order or payment. */
export async function refuseWhileActive(
  trx: Tx,
  merchantId: string,
  where: { orderNo?: string; paymentId?: string; kinds: readonly OperationKind[]; exceptId?: string },
  what: string,
): Promise<void> {
  const active = (await activeOperations(trx, merchantId, where)).filter((o) => o.id !== where.exceptId);
  const first = active[0];
  if (first) {
    throw new DomainError(
      'operation_in_progress',
      `${what}: a ${first.kind} of this order is in progress at the network; wait for it to finish and try again`,
      { operation: first.kind },
    );
  }
}

/** An operation; `merchantId` null: by id alone, on every shard (the worker's recovery has the id only). */
export async function loadOperation(
  trx: Tx,
  merchantId: string | null,
  id: string,
): Promise<OperationTable | undefined> {
  let q = trx.selectFrom('operations').selectAll().where('id', '=', id);
  if (merchantId !== null) q = q.where('merchant_id', '=', merchantId);
  return q.executeTakeFirst();
}

/** Move an operation on; only from the status the caller saw, so two finishers cannot both win. */
export async function moveOperation(
  trx: Tx,
  merchantId: string,
  id: string,
  from: OperationStatus,
  to: OperationStatus,
  at: Date,
  reference?: string | null,
): Promise<boolean> {
  const r = await trx
    .updateTable('operations')
    .set({ status: to, updated_at: at.toISOString(), ...(reference !== undefined ? { reference } : {}) })
    .where('id', '=', id)
    .where('merchant_id', '=', merchantId)
    .where('status', '=', from)
    .executeTakeFirst();
  const moved = Number(r.numUpdatedRows) === 1;
  if (moved && from === 'reserved') {
    // The reservation is resolved: its scheduled recovery (operation.recover) has nothing to do.
    await trx
      .updateTable('outbox')
      .set({ status: 'done', updated_at: at.toISOString() })
      .where('kind', '=', RECOVER_KIND)
      .where('ref_id', '=', id)
      .where('status', '=', 'pending')
      .execute();
  }
  return moved;
}
