import type { PaymentMethod } from '../domain/payment.js';
import { ulid } from '../ids.js';
import type { NetworkPort } from '../network/port.js';
import { appendAudit } from '../store/audit.js';
import type { Store, Tx } from '../store/db.js';
import { loadOperation, moveOperation } from '../store/operations.js';
import { enqueueOutbox } from '../store/repo.js';

/** Outbox kind: undo a sale or charge that stands at the network but could not be recorded. */
export const COMPENSATE_KIND = 'payment.compensate';

/** What undoing a network charge needs: never the card number. */
export interface ChargeCompensation {
  operationId: string;
  paymentId: string;
  merchantId: string;
  terminalId: string | null;
  method: PaymentMethod;
  reference: string;
  amountMinor: number;
  currency: string;
}

/**
 * Step "compensate" of the sale and charge workflows: the network authorised, our ledger refused
 * the write (or the process could not finish it). Mark the operation and queue the void in one
 * transaction: from here the outbox retries it until the network confirms, or ends it dead and
 * visible — never silently.
 */
export async function queueChargeCompensation(
  store: Store,
  c: ChargeCompensation,
  cause: string,
  at: Date,
): Promise<void> {
  await store.tx(async (trx) => {
    if (!(await moveOperation(trx, c.merchantId, c.operationId, 'reserved', 'compensating', at, c.reference)))
      return;
    await enqueueOutbox(trx, {
      id: `ob_${ulid()}`,
      kind: COMPENSATE_KIND,
      refId: c.paymentId,
      payload: c,
      at,
    });
    await appendAudit(trx, {
      merchantId: c.merchantId,
      actor: 'system',
      action: 'payment.compensation_queued',
      entity: 'payment',
      entityId: c.paymentId,
      data: { amount: c.amountMinor, method: c.method, reference: c.reference, cause: cause.slice(0, 200) },
      at,
    });
  });
}

/**
 * The outbox handler: void the unrecorded charge at the network (same batch, so a void is
 * possible). The void's request id is derived from the payment, so repeats are one void.
 */
export async function runChargeCompensation(
  store: Store,
  network: NetworkPort,
  c: ChargeCompensation,
  at: () => Date,
): Promise<void> {
  const op = await loadOperation(store.db, c.merchantId, c.operationId);
  if (op?.status !== 'compensating') return;
  const result = await network.voidSale({
    requestId: `comp_${c.paymentId}`,
    merchantId: c.merchantId,
    terminalId: c.terminalId,
    method: c.method,
    originalReference: c.reference,
    amountMinor: c.amountMinor,
    currency: c.currency,
  });
  if (!result.approved) {
    throw new Error(
      `the network refused to void the unrecorded charge (response code ${result.responseCode})`,
    );
  }
  await store.tx(async (trx: Tx) => {
    const now = at();
    if (!(await moveOperation(trx, c.merchantId, c.operationId, 'compensating', 'compensated', now))) return;
    await appendAudit(trx, {
      merchantId: c.merchantId,
      actor: 'system',
      action: 'payment.compensated',
      entity: 'payment',
      entityId: c.paymentId,
      data: { amount: c.amountMinor, reference: c.reference },
      at: now,
    });
  });
}
