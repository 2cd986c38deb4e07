import { requirePermission } from '../domain/auth.js';
import { DomainError } from '../domain/errors.js';
import { decideVoid, type VerifiedApproval } from '../domain/refund.js';
import { ulid } from '../ids.js';
import { NetworkUnavailableError } from '../network/port.js';
import type { Caller, Ctx } from '../service/context.js';
import { networkDown, recordVoid } from '../service/payments.js';
import type { Tx } from '../store/db.js';
import {
  insertOperation,
  loadOperation,
  moveOperation,
  refuseWhileActive,
  scheduleRecovery,
} from '../store/operations.js';
import { loadPaymentRow, lockMerchant, paymentState } from '../store/repo.js';
import { openReturnHolds } from '../store/returns.js';

/**
 * 撤销 (void), as a workflow:
 *   1. verify      supervisor approvals (argon2: outside any transaction)
 *   2. reserve     under the merchant and payment locks: the void rules, then an operation row
 *                  that makes every refund or adjustment of this payment wait (refused 409)
 *   3. network     cancel the sale at the network            ↺ declined / unreachable: release
 *   4. apply       mark the payment voided                   ↺ failed: finish it from the outbox
 * A void the network has made cannot be undone, and step 2 kept everything that could conflict
 * with it out, so a failed step 4 is finished forward (recovery), never reversed.
 */
export interface VoidPrepared {
  operationId: string;
  approvals: VerifiedApproval[];
}

export const voidRequestId = (paymentId: string) => `void_${paymentId}`;

/** `verify` checks the supervisors' refund passwords (the route passes `verifyApprovals`). */
export function voidWorkflow(
  ctx: Ctx,
  caller: Caller,
  paymentId: string,
  verify: () => Promise<VerifiedApproval[]>,
) {
  return {
    status: 200,
    requireKey: true,
    prepare: async (): Promise<VoidPrepared> => {
      requirePermission(caller.principal, 'payment.void');
      const approvals = await verify();
      const { operationId, request } = await reserveVoid(ctx, caller, paymentId);
      if (!request) return { operationId, approvals };
      let result: { approved: boolean; responseCode: string };
      try {
        result = await ctx.network.voidSale(request);
      } catch (err) {
        if (!(err instanceof NetworkUnavailableError)) {
          await releaseOperation(ctx, caller, operationId);
          throw err;
        }
        if (err.outcome === 'not_applied') {
          await releaseOperation(ctx, caller, operationId);
          networkDown(err);
        }
        // The network may have voided it (a wallet's cancel is final): keep the payment held and
        // let the outbox ask again at once with the same request and record what it says.
        const now = ctx.clock();
        await ctx.store.tx((trx) => scheduleRecovery(trx, operationId, now, now));
        throw new DomainError(
          'network_unavailable',
          `the network did not answer the void (${err.message}); it is being asked again and the payment will show voided or captured within a minute — do not void it again`,
          { outcome: 'pending' },
        );
      }
      if (!result.approved) {
        await releaseOperation(ctx, caller, operationId);
        throw new DomainError(
          'void_not_allowed',
          `the network refused the void (response code ${result.responseCode})`,
          { responseCode: result.responseCode },
        );
      }
      return { operationId, approvals };
    },
    work: (trx: Tx, p: VoidPrepared) =>
      applyVoid(
        ctx,
        trx,
        caller,
        paymentId,
        p.operationId,
        p.approvals.map((a) => a.operatorNo),
      ),
    compensate: async (p: VoidPrepared, err: unknown) => {
      ctx.log.error(
        { err, paymentId },
        'void made at the network but not recorded: finishing it from the outbox',
      );
      const now = ctx.clock();
      await ctx.store.tx((trx) => scheduleRecovery(trx, p.operationId, now, now));
    },
  };
}

async function reserveVoid(ctx: Ctx, caller: Caller, paymentId: string) {
  return ctx.store.tx(async (trx) => {
    await lockMerchant(trx, caller.merchantId);
    const row = await loadPaymentRow(trx, caller.merchantId, { paymentId }, true);
    const now = ctx.clock();
    decideVoid(await paymentState(trx, row), now);
    // An open return QR of the sale would be left pointing at a voided sale (the consumer's
    // submission could only fail): it is withdrawn, or used, first.
    if ((await openReturnHolds(trx, caller.merchantId, [row.id], now)).has(row.id))
      throw new DomainError(
        'void_not_allowed',
        'a return QR of this sale is still open: withdraw it (or let the consumer submit it) first',
      );
    await refuseWhileActive(
      trx,
      caller.merchantId,
      { orderNo: row.order_no, kinds: ['void', 'adjustment', 'sale', 'charge'] },
      'the payment cannot be voided now',
    );
    const operationId = `op_${ulid()}`;
    const request = row.network_reference
      ? {
          requestId: voidRequestId(row.id),
          merchantId: row.merchant_id,
          terminalId: row.terminal_id,
          method: row.method,
          originalReference: row.network_reference,
          amountMinor: Number(row.amount_minor),
          currency: row.currency,
        }
      : null;
    await insertOperation(trx, {
      id: operationId,
      merchantId: caller.merchantId,
      kind: 'void',
      orderNo: row.order_no,
      paymentId: row.id,
      payload: { request, actor: caller.actor },
      at: now,
    });
    return { operationId, request };
  });
}

async function releaseOperation(ctx: Ctx, caller: Caller, operationId: string): Promise<void> {
  await ctx.store.tx((trx) =>
    moveOperation(trx, caller.merchantId, operationId, 'reserved', 'released', ctx.clock()),
  );
}

/** Step 4: record the void the network made. The reservation kept the payment as it was checked. */
export async function applyVoid(
  ctx: Pick<Ctx, 'store' | 'clock'>,
  trx: Tx,
  caller: Pick<Caller, 'merchantId' | 'actor'>,
  paymentId: string,
  operationId: string,
  approvedBy: string[],
) {
  const op = await loadOperation(trx, caller.merchantId, operationId);
  if (op?.status !== 'reserved') {
    throw new DomainError('invalid_state_transition', `the void is already ${op?.status ?? 'gone'}`);
  }
  const view = await recordVoid(ctx, trx, caller, paymentId, approvedBy);
  await moveOperation(trx, caller.merchantId, operationId, 'reserved', 'applied', ctx.clock());
  return view;
}
