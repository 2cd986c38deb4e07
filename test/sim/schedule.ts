/**
 * The simulation's schedule: a pure function of the seed. Every operation, its parameters and its
 * timings are drawn here, before anything runs; targets are drawn as fractions and resolved against
 * what exists when the operation starts (so a replay draws the same numbers even if a concurrent
 * answer came back in another order).
 */

/** mulberry32: small, fast and good enough to schedule a simulation reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type SaleMethod = 'card' | 'qr' | 'cash';
/** How a refund is authorised: enough supervisors for the policy, none (review queue), or just one. */
export type ApprovalPlan = 'policy' | 'none' | 'one';

/** A fraction in [0, 1) that picks one of the recent payments / refunds / orders at run time. */
type Pick = number;

export type Op =
  | { kind: 'sale'; method: SaleMethod; amount: number; items: boolean; currency: 'CNY' | 'USD' }
  | { kind: 'refund'; payment: Pick; share: number | 'full'; approvals: ApprovalPlan; byItems: boolean }
  | { kind: 'approve'; refund: Pick }
  | { kind: 'cancel'; refund: Pick }
  | { kind: 'void'; payment: Pick }
  | { kind: 'adjust'; order: Pick; delta: number }
  /** Issue 8 #1: an approved refund, canceled `gapMs` later (the worker may have handed it off). */
  | { kind: 'refund_then_cancel'; payment: Pick; share: number; gapMs: number }
  /** A refund waiting in the queue, approved and canceled at about the same time. */
  | { kind: 'approve_vs_cancel'; payment: Pick; share: number; gapMs: number; cancelFirst: boolean }
  /** Issue 8 #2: a void and a refund of the same payment. */
  | { kind: 'void_vs_refund'; payment: Pick; share: number; gapMs: number; voidFirst: boolean }
  /** Issue 8 #3: parallel sales of one order number with different keys (one maybe in USD). */
  | { kind: 'same_order_sales'; method: SaleMethod; amount: number; n: number; usdAt: number }
  /** Issue 8 #4: parallel adjustments of one order. */
  | { kind: 'parallel_adjust'; order: Pick; deltas: number[] }
  /** Parallel refunds of one payment that together exceed it. */
  | { kind: 'parallel_refunds'; payment: Pick; shares: number[] }
  /** One refund request sent several times with one Idempotency-Key, at once and then again. */
  | { kind: 'same_key_refund'; payment: Pick; share: number; n: number }
  /**
   * Issue 12: a QR return of a recent itemised sale — shown, then submitted by the consumer (twice
   * at once, with two keys, when `doubleSubmit`), withdrawn by the merchant, left to expire, or
   * withdrawn while the consumer submits; a submitted one is inspected and maybe approved.
   */
  | {
      kind: 'qr_return';
      payment: Pick;
      sku: 'A' | 'B';
      end: ReturnEnd;
      doubleSubmit: boolean;
      inspection: 'accepted' | 'rejected' | 'none';
      approve: boolean;
      gapMs: number;
    }
  | { kind: 'worker_down'; ms: number }
  | { kind: 'restart' }
  | { kind: 'faults'; delayMs: number; dropRate: number; ms: number };

/** How a QR return's life ends in the simulation (`leave`: shown and never used). */
export type ReturnEnd = 'submit' | 'withdraw' | 'expire' | 'withdraw_vs_submit' | 'leave';

export interface Step {
  n: number;
  /** Wait this long before starting the step (other steps may still be running). */
  gapMs: number;
  op: Op;
}

export interface ScheduleOptions {
  /** Steps that restart the whole system; 0 leaves them out. */
  restarts: boolean;
  /** QR-return steps between the others (default on). */
  returns?: boolean;
}

/** About one step in ten is a QR return, on top of the `steps` others. */
const RETURN_SHARE = 0.1;

/**
 * A QR-return step, drawn from a stream of its own (`seed`-derived) so that adding returns left
 * every other step of a seed as it was: the seeds CI replays still draw the schedule that found
 * their bugs.
 */
function returnOp(r: () => number): Op {
  const x = r();
  const end: ReturnEnd =
    x < 0.55
      ? 'submit'
      : x < 0.67
        ? 'withdraw'
        : x < 0.79
          ? 'expire'
          : x < 0.91
            ? 'withdraw_vs_submit'
            : 'leave';
  const i = r();
  return {
    kind: 'qr_return',
    payment: r(),
    sku: r() < 0.5 ? 'A' : 'B',
    end,
    doubleSubmit: r() < 0.3,
    inspection: i < 0.6 ? 'accepted' : i < 0.8 ? 'rejected' : 'none',
    approve: r() < 0.8,
    gapMs: Math.floor(r() * 30),
  };
}

/** Generate `steps` steps from `seed`. The first steps are sales so that there is something to refund. */
export function schedule(seed: number, steps: number, opts: ScheduleOptions = { restarts: true }): Step[] {
  const r = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const chance = (p: number) => r() < p;
  const method = (): SaleMethod => {
    const x = r();
    return x < 0.5 ? 'card' : x < 0.9 ? 'qr' : 'cash';
  };
  const saleAmount = () => {
    const x = r();
    if (x < 0.08) return int(500_000, 900_000); // two supervisors for a full refund (双人核对)
    if (x < 0.18) return int(100, 999);
    return int(1_000, 30_000);
  };
  const share = () => 0.05 + r() * 0.6;
  const returns = prng(seed ^ 0x5e7a11);
  const out: Step[] = [];
  for (let n = 0; n < steps; n++) {
    const gapMs = chance(0.3) ? int(0, 60) : 0;
    let op: Op;
    const x = n < 8 ? 0 : r();
    if (x < 0.2) {
      op = { kind: 'sale', method: method(), amount: saleAmount(), items: chance(0.2), currency: 'CNY' };
      if (n >= 8 && chance(0.05)) op.currency = 'USD';
    } else if (x < 0.4) {
      const full = chance(0.2);
      const a = r();
      op = {
        kind: 'refund',
        payment: r(),
        share: full ? 'full' : share(),
        approvals: a < 0.7 ? 'policy' : a < 0.9 ? 'none' : 'one',
        byItems: chance(0.15),
      };
    } else if (x < 0.46) op = { kind: 'approve', refund: r() };
    else if (x < 0.5) op = { kind: 'cancel', refund: r() };
    else if (x < 0.55) op = { kind: 'void', payment: r() };
    else if (x < 0.61) {
      const up = chance(0.5);
      op = { kind: 'adjust', order: r(), delta: up ? int(1, 2_000) : -int(1, 2_000) };
    } else if (x < 0.67)
      op = { kind: 'refund_then_cancel', payment: r(), share: share(), gapMs: int(0, 1_500) };
    else if (x < 0.71)
      op = {
        kind: 'approve_vs_cancel',
        payment: r(),
        share: share(),
        gapMs: int(0, 40),
        cancelFirst: chance(0.5),
      };
    else if (x < 0.76)
      op = {
        kind: 'void_vs_refund',
        payment: r(),
        share: share(),
        gapMs: int(0, 40),
        voidFirst: chance(0.5),
      };
    else if (x < 0.8) {
      const k = int(2, 4);
      op = {
        kind: 'same_order_sales',
        method: method(),
        amount: saleAmount(),
        n: k,
        usdAt: chance(0.3) ? int(0, k - 1) : -1,
      };
    } else if (x < 0.85) {
      const k = int(2, 5);
      const up = chance(0.6);
      op = {
        kind: 'parallel_adjust',
        order: r(),
        deltas: Array.from({ length: k }, (_, i) => (up ? 1 : -1) * (100 * (i + 1) + int(0, 99))),
      };
    } else if (x < 0.89)
      op = {
        kind: 'parallel_refunds',
        payment: r(),
        shares: Array.from({ length: int(2, 4) }, () => 0.3 + r() * 0.4),
      };
    else if (x < 0.92) op = { kind: 'same_key_refund', payment: r(), share: share(), n: int(2, 3) };
    else if (x < 0.95) op = { kind: 'worker_down', ms: int(200, 2_500) };
    else if (x < 0.965 && opts.restarts) op = { kind: 'restart' };
    else {
      const drop = chance(0.4);
      op = {
        kind: 'faults',
        delayMs: drop ? 0 : int(100, 1_800),
        dropRate: drop ? Math.round((0.1 + r() * 0.4) * 100) / 100 : 0,
        ms: int(300, 3_000),
      };
    }
    out.push({ n: out.length, gapMs, op });
    if (n >= 8 && opts.returns !== false && returns() < RETURN_SHARE)
      out.push({ n: out.length, gapMs: 0, op: returnOp(returns) });
  }
  return out;
}
