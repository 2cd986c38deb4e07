import { responseCodes } from '../network/port.js';

/**
 * Seed 004's review of a refund by the acquirer and scheme: the reasons a refund is refused.
 * Pure, shared by every acquirer implementation (in-process, the bundled simulator).
 */
export interface RefundReviewFacts {
  /** The original sale as the network knows it; null when it has no such sale. */
  sale: { completed: boolean; amountMinor: number } | null;
  /** Refunds of this sale the network already applied. */
  refundedMinor: number;
  amountMinor: number;
  reason: { code: string; note: string | null };
  merchantBalanceMinor: number;
}

export const MIN_OTHER_NOTE_LENGTH = 4;

export function reviewRefund(f: RefundReviewFacts): string {
  // 原交易未完成: no completed original to refund.
  if (!f.sale?.completed) return responseCodes.originalNotFound;
  // 退款金额超限: more than is left of the original.
  if (f.amountMinor <= 0 || f.refundedMinor + f.amountMinor > f.sale.amountMinor)
    return responseCodes.invalidAmount;
  // 退款原因不符规定: "other" must say what happened in a few words.
  if (f.reason.code === 'other' && (f.reason.note ?? '').trim().length < MIN_OTHER_NOTE_LENGTH) {
    return responseCodes.notPermitted;
  }
  // 商户资金不足: the merchant's settlement account cannot pay it.
  if (f.merchantBalanceMinor < f.amountMinor) return responseCodes.insufficientFunds;
  return responseCodes.approved;
}
