import type { Logger } from 'pino';
import type { PaymentMethod } from '../domain/payment.js';
import { type NetworkPort, NetworkUnavailableError, type VoidRequest } from '../network/port.js';
import type { Store } from '../store/db.js';
import { loadOperation, moveOperation } from '../store/operations.js';
import type { OperationTable } from '../store/schema.js';
import { queueChargeCompensation } from './compensation.js';
import { applyVoid } from './void.js';

export { RECOVER_KIND } from '../store/operations.js';

/**
 * The outbox handler for `operation.recover`: a reservation still open this long means its
 * request died between the network call and the write (or the write failed and asked for it).
 * The network is asked again with the same request id — every network step is deduplicated by it —
 * and the answer decides: a sale or charge the network holds is voided (the cashier never saw it
 * succeed); a void the network made is recorded (it cannot be undone, and the reservation kept
 * refunds of that payment out); anything the network did not do is released. A sale is looked up,
 * not sent again: we never keep the card number, and a request that never left must be released,
 * not retried until it dies.
 */
export async function recoverOperation(
  deps: { store: Store; network: NetworkPort; clock: () => Date; log: Logger },
  operationId: string,
): Promise<void> {
  // The outbox row names the operation only: found by id on whichever shard holds it.
  const op = await loadOperation(deps.store.db, null, operationId);
  if (op?.status !== 'reserved') return;
  const payload = JSON.parse(op.payload_json) as OperationPayload;
  deps.log.warn(
    { operationId, kind: op.kind, paymentId: op.payment_id },
    'recovering an unfinished operation',
  );
  if (op.kind === 'void') return recoverVoid(deps, op, payload as VoidPayload);
  const charge = payload as ChargePayload;
  const release = () =>
    deps.store.tx((trx) => moveOperation(trx, op.merchant_id, op.id, 'reserved', 'released', deps.clock()));
  if (charge.method === 'cash') return void (await release());
  const sale = await deps.network.lookupSale({
    requestId: op.payment_id,
    merchantId: op.merchant_id,
    method: charge.method,
  });
  // An unanswered attempt is being reversed: the outbox asks again after its back-off.
  if (sale.state === 'pending') throw new NetworkUnavailableError('the network has not settled the sale yet');
  if (sale.state !== 'approved') return void (await release());
  await queueChargeCompensation(
    deps.store,
    {
      operationId: op.id,
      paymentId: op.payment_id,
      merchantId: op.merchant_id,
      terminalId: charge.terminalId,
      method: charge.method,
      reference: sale.reference,
      amountMinor: charge.amountMinor,
      currency: charge.currency,
    },
    'recovered after the request did not finish',
    deps.clock(),
  );
}

interface ChargePayload {
  amountMinor: number;
  currency: string;
  method: PaymentMethod;
  terminalId: string | null;
}

interface VoidPayload {
  request: VoidRequest | null;
  actor: string;
}

type OperationPayload = ChargePayload | VoidPayload;

async function recoverVoid(
  deps: { store: Store; network: NetworkPort; clock: () => Date },
  op: OperationTable,
  payload: VoidPayload,
): Promise<void> {
  const approved = payload.request ? (await deps.network.voidSale(payload.request)).approved : false;
  await deps.store.tx(async (trx) => {
    if (!approved) {
      await moveOperation(trx, op.merchant_id, op.id, 'reserved', 'released', deps.clock());
      return;
    }
    await applyVoid(
      deps,
      trx,
      { merchantId: op.merchant_id, actor: payload.actor },
      op.payment_id,
      op.id,
      [],
    );
  });
}
