import { DomainError } from '../domain/errors.js';
import type { PaymentState } from '../domain/payment.js';
import type { ReturnLine } from '../domain/returns.js';
import type { Tx } from './db.js';
import { forUpdate } from './dialect.js';
import type { ReturnTable } from './schema.js';

export type ReturnRow = ReturnTable;

/**
 * What the open, unexpired return QRs of these payments hold: per payment the amount and the units
 * per sku. Read under the payments' locks (every return and refund of a payment locks it first), so
 * the count cannot change until the transaction ends.
 */
/** What a sale's open return QRs hold: their amount, and units per sku. */
export interface ReturnHold {
  amountMinor: number;
  qty: Map<string, number>;
}

export async function openReturnHolds(
  trx: Tx,
  merchantId: string,
  paymentIds: readonly string[],
  now: Date,
): Promise<Map<string, ReturnHold>> {
  const holds = new Map<string, ReturnHold>();
  if (paymentIds.length === 0) return holds;
  const rows = await trx
    .selectFrom('returns')
    .select(['payment_id', 'amount_minor', 'items_json'])
    .where('merchant_id', '=', merchantId)
    .where('payment_id', 'in', [...paymentIds])
    .where('status', '=', 'open')
    .where('expires_at', '>', now.toISOString())
    .execute();
  for (const r of rows) {
    const hold = holds.get(r.payment_id) ?? { amountMinor: 0, qty: new Map<string, number>() };
    hold.amountMinor += Number(r.amount_minor);
    for (const line of JSON.parse(r.items_json) as ReturnLine[])
      hold.qty.set(line.sku, (hold.qty.get(line.sku) ?? 0) + line.qty);
    holds.set(r.payment_id, hold);
  }
  return holds;
}

/**
 * A payment as a new refund or return must see it: the open returns' lines counted as refunded
 * units and their amount as in flight (the state is the caller's own copy, changed in place).
 *
 * A hold never takes more than is left. Expiry is read from each process's clock: a return one
 * process already saw expire (clocks a little apart) may have had its units refunded since, and
 * another process may still count it open. It then holds only what remains, so the ledger's
 * invariant stands and whatever comes next is refused by the rules (nothing left), not by a crash.
 */
export function holdReturns(state: PaymentState, hold: ReturnHold | undefined): PaymentState {
  if (!hold) return state;
  const left = Math.max(0, state.amountMinor - state.refundedMinor - state.inFlightMinor);
  state.inFlightMinor += Math.min(hold.amountMinor, left);
  for (const line of state.items) {
    const free = Math.max(0, line.qty - line.refundedQty);
    line.refundedQty += Math.min(hold.qty.get(line.sku) ?? 0, free);
  }
  return state;
}

export async function insertReturn(trx: Tx, row: ReturnRow): Promise<void> {
  await trx.insertInto('returns').values(row).execute();
}

export async function loadReturnRow(
  trx: Tx,
  merchantId: string,
  id: string,
  lock: boolean,
): Promise<ReturnRow> {
  const q = trx.selectFrom('returns').selectAll().where('merchant_id', '=', merchantId).where('id', '=', id);
  const row = await (lock ? forUpdate(trx, q) : q).executeTakeFirst();
  if (!row) throw new DomainError('not_found', `return ${id} not found`);
  return row;
}

export async function updateReturn(
  trx: Tx,
  row: Pick<ReturnRow, 'merchant_id' | 'id'>,
  set: Partial<Omit<ReturnRow, 'id' | 'merchant_id'>>,
): Promise<void> {
  await trx
    .updateTable('returns')
    .set(set)
    .where('merchant_id', '=', row.merchant_id)
    .where('id', '=', row.id)
    .execute();
}

/**
 * A refund that came from a return waits for the inspection of its goods: accepting or approving it
 * before that is refused (`return_inspection_required`).
 */
export async function requireInspection(
  trx: Tx,
  merchantId: string,
  refund: { id: string; return_id?: string | null; status: string },
) {
  if (!refund.return_id || refund.status !== 'requested') return;
  const row = await loadReturnRow(trx, merchantId, refund.return_id, false);
  if (row.inspection !== 'accepted')
    throw new DomainError(
      'return_inspection_required',
      `refund ${refund.id} is a QR return: inspect the goods first (POST /v1/returns/${row.id}/inspection)`,
      { returnId: row.id },
    );
}

/**
 * The consumer links still made under token key `keyId` (links.ts): every refund's status link
 * (derived, never stored, so it needs its key for as long as the refund is kept: printed vouchers
 * and sent messages carry it) and the link of each return still open and unexpired.
 */
export async function countLinksUnder(trx: Tx, keyId: string, now: Date): Promise<Record<string, number>> {
  const refunds = await trx
    .selectFrom('refunds')
    .select(trx.fn.countAll().as('n'))
    .where('tracking_key', '=', keyId)
    .executeTakeFirstOrThrow();
  const returns = await trx
    .selectFrom('returns')
    .select(trx.fn.countAll().as('n'))
    .where('token_key', '=', keyId)
    .where('status', '=', 'open')
    .where('expires_at', '>', now.toISOString())
    .executeTakeFirstOrThrow();
  return { 'refunds.tracking_key': Number(refunds.n), 'returns.token_key': Number(returns.n) };
}
