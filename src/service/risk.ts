import { addDays, shanghaiDayStart } from '../domain/calendar.js';
import type { RiskRules } from '../domain/policy.js';
import { decideHold, type Hold, OPERATOR_WINDOW_MS } from '../domain/risk.js';
import type { Tx } from '../store/db.js';
import { cardOrdersRefundedOn, daySalesMinor, type PaymentRow, recentRefundTimes } from '../store/repo.js';
import type { Caller } from './context.js';

/** A refund as the risk rules see it: who makes it, on which payment, how much, when. */
export interface RiskSubject {
  caller: Caller;
  payment: PaymentRow;
  amountMinor: number;
  now: Date;
  /** Its business day (Shanghai). */
  day: string;
}

/**
 * The counts the risk rules decide on, for the refunds of one merchant decided together under its
 * lock (service/refunds.ts `createRefunds`). Each count is read once per batch — a rule that is off
 * reads nothing — and then moved by every refund the batch creates, in order, so each refund sees
 * exactly what it would see created alone after the ones before it.
 *
 * Every refund created counts, whatever became of it since (held, rejected, canceled): the rules
 * watch what people ask for, not what the network paid. The operator rule counts operators'
 * refunds only; a merchant system's API key is no person at a till.
 */
export class RiskTally {
  /** Per operator actor (`op:01`): creation times (ms) of their latest refunds, read and made here. */
  private readonly operatorTimes = new Map<string, number[]>();
  /** Per day, per card token: the orders with refunds on that card that day. */
  private readonly cardOrders = new Map<string, Map<string, Set<string>>>();
  private readonly daySales = new Map<string, number>();

  private constructor(
    private readonly merchantId: string,
    private readonly rules: RiskRules,
    /** The tokens of the cards the batch's payments were paid with. */
    private readonly cardTokens: string[],
  ) {}

  /** Read what the batch's first refund needs: the operators' latest refunds before `openedAt`. */
  static async open(
    trx: Tx,
    merchantId: string,
    rules: RiskRules,
    batch: { callers: Caller[]; payments: PaymentRow[]; openedAt: Date },
  ): Promise<RiskTally> {
    const tokens = [...new Set(batch.payments.flatMap((p) => (p.card_token ? [p.card_token] : [])))];
    const tally = new RiskTally(merchantId, rules, tokens);
    const perHour = rules.operatorRefundsPerHour;
    const actors = [...new Set(batch.callers.flatMap((c) => (c.operatorNo !== null ? [c.actor] : [])))];
    if (perHour !== null && actors.length > 0) {
      // A refund of the batch decided at `now` ≥ openedAt looks back to now − 1 h. Whether
      // `perHour` refunds fall in that hour is told by the operator's newest `perHour` after
      // openedAt − 1 h (and the batch's own): however busy the operator, no more is read.
      const since = new Date(batch.openedAt.getTime() - OPERATOR_WINDOW_MS).toISOString();
      const times = await recentRefundTimes(trx, merchantId, actors, since, perHour);
      for (const [actor, list] of times)
        tally.operatorTimes.set(
          actor,
          list.map((t) => Date.parse(t)),
        );
    }
    return tally;
  }

  /** The rule this refund trips, if any (the first in domain/risk.ts order). */
  async holdFor(trx: Tx, s: RiskSubject): Promise<Hold | null> {
    const { rules } = this;
    const operating = s.caller.operatorNo !== null;
    const from = s.now.getTime() - OPERATOR_WINDOW_MS;
    const lastHour =
      rules.operatorRefundsPerHour !== null && operating
        ? (this.operatorTimes.get(s.caller.actor) ?? []).filter((t) => t > from).length
        : null;
    const token = s.payment.card_token;
    let cardOrders: number | null = null;
    if (rules.cardRefundsPerDay !== null && token) {
      const orders = (await this.cardOrdersOn(trx, s.day)).get(token) ?? new Set<string>();
      cardOrders = orders.size + (orders.has(s.payment.order_no) ? 0 : 1);
    }
    const sales = rules.shareOfDaySalesPercent !== null ? await this.salesOn(trx, s.day) : null;
    return decideHold(rules, {
      amountMinor: s.amountMinor,
      day: s.day,
      operatorRefundsLastHour: lastHour,
      operatorNo: s.caller.operatorNo,
      cardOrdersToday: cardOrders,
      cardLast4: s.payment.card_last4,
      daySalesMinor: sales,
    });
  }

  /** A refund of the batch was created: the next ones count it. */
  async record(trx: Tx, s: Omit<RiskSubject, 'amountMinor'>): Promise<void> {
    if (this.rules.operatorRefundsPerHour !== null && s.caller.operatorNo !== null) {
      const times = this.operatorTimes.get(s.caller.actor) ?? [];
      times.push(s.now.getTime());
      this.operatorTimes.set(s.caller.actor, times);
    }
    const token = s.payment.card_token;
    if (this.rules.cardRefundsPerDay !== null && token) {
      const byCard = await this.cardOrdersOn(trx, s.day);
      byCard.set(token, (byCard.get(token) ?? new Set<string>()).add(s.payment.order_no));
    }
  }

  /** The batch's cards' refunded orders of `day`: one read per day (a batch past midnight reads two). */
  private async cardOrdersOn(trx: Tx, day: string): Promise<Map<string, Set<string>>> {
    let byCard = this.cardOrders.get(day);
    if (!byCard) {
      byCard = new Map();
      for (const r of await cardOrdersRefundedOn(trx, this.merchantId, this.cardTokens, day)) {
        byCard.set(r.cardToken, (byCard.get(r.cardToken) ?? new Set<string>()).add(r.orderNo));
      }
      this.cardOrders.set(day, byCard);
    }
    return byCard;
  }

  private async salesOn(trx: Tx, day: string): Promise<number> {
    let sales = this.daySales.get(day);
    if (sales === undefined) {
      sales = await daySalesMinor(trx, this.merchantId, {
        start: shanghaiDayStart(day).toISOString(),
        end: shanghaiDayStart(addDays(day, 1)).toISOString(),
      });
      this.daySales.set(day, sales);
    }
    return sales;
  }
}
