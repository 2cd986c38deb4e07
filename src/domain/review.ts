import { DomainError } from './errors.js';
import type { RefundStatus } from './refund-state.js';

/**
 * The review of a refund in the back office's queue (审核, PRODUCT.md §3 step 5): the reviewer
 * checks the voucher against the transaction record and the amount, and notes the goods'
 * condition. Their answers are kept with the approval (refund history, audit log).
 */
export const goodsConditions = ['intact', 'damaged', 'not_applicable'] as const;
export type GoodsCondition = (typeof goodsConditions)[number];

export interface ReviewChecklist {
  voucherMatches: boolean;
  amountMatches: boolean;
  goodsCondition: GoodsCondition;
  note?: string | undefined;
}

/**
 * Whether approving needs the checklist: a refund held by a risk rule (released only through
 * review), and one under review that came from the queue (created `requested`, then accepted).
 * A refund created `under_review` at the counter — one of two supervisors there — is the
 * counter's two-person check (双人核对), not the queue's review.
 */
export function reviewChecklistRequired(refund: {
  status: RefundStatus;
  held: boolean;
  createdAs: RefundStatus;
}): boolean {
  return refund.held || (refund.status === 'under_review' && refund.createdAs === 'requested');
}

/**
 * Refuse an approval whose review is missing or says the voucher or the amount do not match: such
 * a refund is rejected, not approved. A checklist given where none is required is held to the
 * same answers.
 */
export function checkReviewChecklist(required: boolean, checklist: ReviewChecklist | undefined): void {
  if (!checklist) {
    if (!required) return;
    throw new DomainError(
      'review_checklist_incomplete',
      'this refund is in review: approve it with the checklist (voucherMatches, amountMatches, goodsCondition)',
    );
  }
  const failed = [
    ...(checklist.voucherMatches ? [] : ['voucherMatches']),
    ...(checklist.amountMatches ? [] : ['amountMatches']),
  ];
  if (failed.length > 0) {
    throw new DomainError(
      'review_checklist_incomplete',
      `the review says ${failed.join(' and ')} is false: a refund whose voucher or amount does not match the transaction record is rejected, not approved`,
      { failed },
    );
  }
}

/** The checklist as stored (approvals, refund events, audit): the note trimmed, absent when empty. */
export function storedChecklist(c: ReviewChecklist): ReviewChecklist {
  const note = c.note?.trim();
  return {
    voucherMatches: c.voucherMatches,
    amountMatches: c.amountMatches,
    goodsCondition: c.goodsCondition,
    ...(note ? { note } : {}),
  };
}
