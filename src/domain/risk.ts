import type { RiskRules } from './policy.js';

/**
 * The policy's risk rules (issue 11, PRODUCT.md §3 step 5): patterns of refunds that a supervisor
 * should see before any money moves. A refund that trips one is held — created `requested`, in the
 * review queue, its counter approvals kept — and says which rule fired. Pure: the counts arrive
 * as facts (service/risk.ts reads them under the merchant's lock).
 */
export const holdRules = ['operator_refunds_per_hour', 'card_refunds_per_day', 'share_of_day_sales'] as const;
export type HoldRule = (typeof holdRules)[number];

export interface Hold {
  rule: HoldRule;
  /** What the rule saw, in plain words, for the reviewer. */
  detail: string;
}

/** "The last hour" of the operator rule: refunds created after `now − 60 min` count. */
export const OPERATOR_WINDOW_MS = 60 * 60 * 1000;

export interface RiskFacts {
  amountMinor: number;
  /** The merchant's business day (Shanghai) the refund is created on. */
  day: string;
  /** Refunds the operator created in the 60 minutes before this one; null: no operator (an API key). */
  operatorRefundsLastHour: number | null;
  operatorNo: string | null;
  /**
   * Different orders with refunds on this card on `day`, this refund's order counted; null: the
   * payment has no card.
   */
  cardOrdersToday: number | null;
  cardLast4: string | null;
  /** The merchant's sales of `day` (captured, not voided); null when the share rule is off. */
  daySalesMinor: number | null;
}

/** The first rule the refund trips, in the order of `holdRules`; null: none. */
export function decideHold(rules: RiskRules, f: RiskFacts): Hold | null {
  const perHour = rules.operatorRefundsPerHour;
  if (perHour !== null && f.operatorRefundsLastHour !== null && f.operatorRefundsLastHour >= perHour) {
    return {
      rule: 'operator_refunds_per_hour',
      detail:
        `operator ${f.operatorNo ?? '?'} already created ${f.operatorRefundsLastHour} refunds in the last 60 minutes; ` +
        `the policy sends any beyond ${perHour} an hour to review`,
    };
  }
  const perDay = rules.cardRefundsPerDay;
  if (perDay !== null && f.cardOrdersToday !== null && f.cardOrdersToday > perDay) {
    return {
      rule: 'card_refunds_per_day',
      detail:
        `the card ending ${f.cardLast4 ?? '????'} has refunds on ${f.cardOrdersToday} different orders on ${f.day}; ` +
        `the policy sends refunds on more than ${perDay} orders a day of one card to review`,
    };
  }
  const percent = rules.shareOfDaySalesPercent;
  // amount / sales > percent / 100, in integers (BigInt: a day's sales times 1,000 may pass 2^53).
  if (
    percent !== null &&
    f.daySalesMinor !== null &&
    BigInt(f.amountMinor) * 100n > BigInt(percent) * BigInt(f.daySalesMinor)
  ) {
    return {
      rule: 'share_of_day_sales',
      detail:
        `the refund of ${f.amountMinor} is more than ${percent}% of the merchant's sales of ${f.day} (${f.daySalesMinor}); ` +
        `the policy sends such refunds to review`,
    };
  }
  return null;
}
