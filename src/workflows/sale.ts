import { requirePermission } from '../domain/auth.js';
import { DomainError } from '../domain/errors.js';
import type { PaymentMethod } from '../domain/payment.js';
import { ulid } from '../ids.js';
import { NetworkUnavailableError, type SaleRequest } from '../network/port.js';
import { cardToken } from '../security.js';
import type { Caller, Ctx } from '../service/context.js';
import { checkPaymentInput, networkDown, type PaymentInput, recordPayment } from '../service/payments.js';
import type { Tx } from '../store/db.js';
import { activeOperations, insertOperation, moveOperation } from '../store/operations.js';
import { lockMerchant } from '../store/repo.js';
import { queueChargeCompensation } from './compensation.js';

/**
 * A sale (and the charge of an amount increase), as a workflow:
 *   1. validate    everything that needs no lock: card check digit, items, amounts
 *   2. reserve     under the merchant lock: currency, the order number (no payment, no other sale
 *                  in progress), then an operation row holding the order number
 *   3. network     authorise, deduplicated by the payment id  ↺ declined / unreachable: release
 *                  (an unanswered card request is reversed by the link, a QR one by the outbox)
 *   4. apply       write the payment, its items, funds, audit ↺ failed: void it at the network
 * The payment id comes from the Idempotency-Key, so a retried request never charges twice.
 */
export interface Authorised {
  operationId: string;
  paymentId: string;
  reference: string | null;
  cardToken: string | undefined;
}

export function saleWorkflow(ctx: Ctx, caller: Caller, input: PaymentInput, paymentId: string) {
  return {
    status: 201,
    requireKey: true,
    prepare: async (): Promise<Authorised> => {
      requirePermission(caller.principal, 'payment.create');
      checkPaymentInput(input);
      const operationId = await reserveSale(ctx, caller, input, paymentId);
      return authorise(ctx, caller, { ...input, kind: 'sale' }, paymentId, operationId, null);
    },
    work: async (trx: Tx, auth: Authorised) => {
      const view = await recordPayment(ctx, trx, caller, input, auth);
      await finishOperation(ctx, trx, caller, auth);
      return view;
    },
    compensate: (auth: Authorised, err: unknown) =>
      compensateCharge(ctx, caller, { ...input, kind: 'sale' }, auth, err),
  };
}

async function reserveSale(ctx: Ctx, caller: Caller, input: PaymentInput, paymentId: string) {
  return ctx.store.tx(async (trx) => {
    const merchant = await lockMerchant(trx, caller.merchantId);
    if (merchant.currency !== input.currency) {
      throw new DomainError(
        'currency_mismatch',
        `this merchant takes ${merchant.currency}, not ${input.currency}`,
      );
    }
    const existing = await trx
      .selectFrom('payments')
      .select('id')
      .where('merchant_id', '=', caller.merchantId)
      .where('order_no', '=', input.orderNo)
      .where('kind', '=', 'sale')
      .executeTakeFirst();
    if (existing) {
      throw new DomainError('duplicate_order', `order ${input.orderNo} already has a payment`, {
        paymentId: existing.id,
      });
    }
    const [running] = await activeOperations(trx, caller.merchantId, {
      orderNo: input.orderNo,
      kinds: ['sale'],
    });
    // The same payment id is this very request, retried after its claim went stale: go on with it.
    if (running?.payment_id === paymentId) return running.id;
    if (running) {
      throw new DomainError(
        'duplicate_order',
        `order ${input.orderNo} has a payment being authorised right now`,
        {
          paymentId: running.payment_id,
        },
      );
    }
    return reserveOperation(ctx, trx, caller, 'sale', input.orderNo, paymentId, {
      amountMinor: input.amount,
      currency: input.currency,
      method: input.method,
      terminalId: caller.terminalId,
    });
  });
}

/** Write the operation row and its recovery in the reserving transaction. */
export async function reserveOperation(
  ctx: Pick<Ctx, 'clock'>,
  trx: Tx,
  caller: Pick<Caller, 'merchantId'>,
  kind: 'sale' | 'charge' | 'adjustment',
  orderNo: string,
  paymentId: string,
  payload: Record<string, unknown>,
): Promise<string> {
  const now = ctx.clock();
  const id = `op_${ulid()}`;
  await insertOperation(trx, {
    id,
    merchantId: caller.merchantId,
    kind,
    orderNo,
    paymentId,
    payload,
    at: now,
  });
  return id;
}

export interface ChargeSpec {
  kind: 'sale' | 'charge';
  orderNo: string;
  amount: number;
  currency: string;
  method: PaymentMethod;
  card?: { pan: string; expiry: string } | undefined;
}

/** Step 3: authorise at the network; a refusal or no answer releases the reservation. */
export async function authorise(
  ctx: Ctx,
  caller: Caller,
  spec: ChargeSpec,
  paymentId: string,
  operationId: string,
  storedCardToken: string | null,
): Promise<Authorised> {
  const token = spec.card
    ? cardToken(ctx.secrets, spec.card.pan.replace(/\D/g, ''))
    : (storedCardToken ?? undefined);
  if (spec.method === 'cash') return { operationId, paymentId, reference: null, cardToken: undefined };
  const request: SaleRequest = {
    requestId: paymentId,
    merchantId: caller.merchantId,
    terminalId: caller.terminalId,
    orderNo: spec.orderNo,
    amountMinor: spec.amount,
    currency: spec.currency,
    method: spec.method,
    cardToken: token,
    pan: spec.card?.pan,
    expiry: spec.card?.expiry,
  };
  let auth: Awaited<ReturnType<Ctx['network']['authorizeSale']>>;
  try {
    auth = await ctx.network.authorizeSale(request);
  } catch (err) {
    await release(ctx, caller, operationId);
    if (err instanceof NetworkUnavailableError) networkDown(err);
    throw err;
  }
  if (!auth.approved) {
    await release(ctx, caller, operationId);
    throw new DomainError(
      'payment_not_completed',
      `the ${spec.kind} was declined (response code ${auth.responseCode})`,
      { responseCode: auth.responseCode },
    );
  }
  return { operationId, paymentId, reference: auth.reference, cardToken: token };
}

async function release(ctx: Ctx, caller: Pick<Caller, 'merchantId'>, operationId: string): Promise<void> {
  await ctx.store.tx((trx) =>
    moveOperation(trx, caller.merchantId, operationId, 'reserved', 'released', ctx.clock()),
  );
}

/** Step 4's last write: the reservation becomes the payment. Fails if recovery took it over. */
export async function finishOperation(
  ctx: Pick<Ctx, 'clock'>,
  trx: Tx,
  caller: Pick<Caller, 'merchantId'>,
  auth: Authorised,
): Promise<void> {
  const { operationId, reference } = auth;
  const at = ctx.clock();
  if (!(await moveOperation(trx, caller.merchantId, operationId, 'reserved', 'applied', at, reference))) {
    throw new DomainError('invalid_state_transition', 'the payment was already resolved by recovery');
  }
}

/** Compensation of step 4: a charge the network holds but our ledger does not is voided. */
export async function compensateCharge(
  ctx: Ctx,
  caller: Caller,
  spec: ChargeSpec,
  auth: Authorised,
  err: unknown,
): Promise<void> {
  const cause = err instanceof Error ? err.message : String(err);
  if (!auth.reference) {
    await release(ctx, caller, auth.operationId);
    return;
  }
  ctx.log.error(
    { paymentId: auth.paymentId, err: cause },
    `${spec.kind} authorised but not recorded: voiding it`,
  );
  await queueChargeCompensation(
    ctx.store,
    {
      operationId: auth.operationId,
      paymentId: auth.paymentId,
      merchantId: caller.merchantId,
      terminalId: caller.terminalId,
      method: spec.method,
      reference: auth.reference,
      amountMinor: spec.amount,
      currency: spec.currency,
    },
    cause,
    ctx.clock(),
  );
}
