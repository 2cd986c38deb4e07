import { requirePermission } from '../domain/auth.js';
import { DomainError } from '../domain/errors.js';
import type { PaymentMethod } from '../domain/payment.js';
import { checkReason, decideAdjustment, type VerifiedApproval } from '../domain/refund.js';
import type { Caller, Ctx } from '../service/context.js';
import { type AdjustmentInput, orderAmount, recordAdjustment } from '../service/orders.js';
import type { Tx } from '../store/db.js';
import { refuseWhileActive } from '../store/operations.js';
import { lockMerchant, policyOf } from '../store/repo.js';
import { type Authorised, authorise, compensateCharge, finishOperation, reserveOperation } from './sale.js';

/**
 * 调整金额 (amount adjustment), as a workflow:
 *   1. verify      supervisor approvals
 *   2. reserve     under the merchant lock: the order stands at `originalAmount`, no other
 *                  adjustment, void or sale of the order is in progress; an increase reserves
 *                  an operation row, so parallel increases are refused before any network call
 *   3. network     an increase authorises the difference as a linked charge ↺ release
 *   4. apply       a decrease becomes a refund (the refund workflow takes it from there); an
 *                  increase records the charge and the revision ↺ failed: void the charge
 * A card cannot be charged again without the card: card orders are refused an increase up front.
 */
interface AdjustmentPrepared {
  approvals: VerifiedApproval[];
  charge: (Authorised & { method: PaymentMethod; currency: string }) | null;
}

export function adjustmentWorkflow(
  ctx: Ctx,
  caller: Caller,
  orderNo: string,
  input: AdjustmentInput,
  verify: () => Promise<VerifiedApproval[]>,
  chargeId: string,
) {
  const spec = (c: NonNullable<AdjustmentPrepared['charge']>) => ({
    kind: 'charge' as const,
    orderNo,
    amount: input.newAmount - input.originalAmount,
    currency: c.currency,
    method: c.method,
  });
  return {
    status: 201,
    requireKey: true,
    prepare: async (): Promise<AdjustmentPrepared> => {
      requirePermission(caller.principal, 'order.adjust');
      const approvals = await verify();
      const reserved = await reserveAdjustment(ctx, caller, orderNo, input, chargeId);
      if (!reserved) return { approvals, charge: null };
      const auth = await authorise(
        ctx,
        caller,
        {
          kind: 'charge',
          orderNo,
          amount: reserved.amountMinor,
          currency: reserved.currency,
          method: reserved.method,
        },
        chargeId,
        reserved.operationId,
        reserved.cardToken,
      );
      return { approvals, charge: { ...auth, method: reserved.method, currency: reserved.currency } };
    },
    work: async (trx: Tx, p: AdjustmentPrepared) => {
      const view = await recordAdjustment(ctx, trx, caller, orderNo, input, p.charge, p.approvals);
      if (p.charge) await finishOperation(ctx, trx, caller, p.charge);
      return view;
    },
    compensate: async (p: AdjustmentPrepared, err: unknown) => {
      if (p.charge) await compensateCharge(ctx, caller, spec(p.charge), p.charge, err);
    },
  };
}

/** Step 2. Returns the charge to authorise for an increase, null for a decrease. */
async function reserveAdjustment(
  ctx: Ctx,
  caller: Caller,
  orderNo: string,
  input: AdjustmentInput,
  chargeId: string,
) {
  return ctx.store.tx(async (trx) => {
    const merchant = await lockMerchant(trx, caller.merchantId);
    checkReason(policyOf(merchant), input.reason);
    const { sale, current } = await orderAmount(trx, caller.merchantId, orderNo);
    await refuseWhileActive(
      trx,
      caller.merchantId,
      { orderNo, kinds: ['adjustment', 'void', 'sale'] },
      'the order cannot be adjusted now',
    );
    const decision = decideAdjustment(current, input.originalAmount, input.newAmount);
    if (decision.kind === 'refund') return null;
    if (sale.voided === 1) throw new DomainError('payment_not_completed', 'the order was voided');
    const method = sale.method;
    if (method === 'card') {
      throw new DomainError(
        'charge_needs_card',
        'a card order cannot be charged more without the card, which is never kept: take the difference as a new sale (the customer taps or inserts the card again) with its own order number',
      );
    }
    const operationId = await reserveOperation(ctx, trx, caller, 'adjustment', orderNo, chargeId, {
      amountMinor: decision.differenceMinor,
      currency: sale.currency,
      method,
      terminalId: caller.terminalId,
    });
    return {
      operationId,
      amountMinor: decision.differenceMinor,
      currency: sale.currency,
      method,
      cardToken: sale.card_token,
    };
  });
}
