/**
 * Faults the simulator injects into its answers, set through the control API. The random source
 * is seedable so a failing run can be replayed (SIM_SEED).
 */
export interface Faults {
  /** Share of requests never answered (the connection stays up). */
  dropRate: number;
  /** Added to every answer, in ms. */
  delayMs: number;
  /** Share of requests applied but answered only after `timeoutAnswerMs` (past any client timeout). */
  timeoutRate: number;
  /** The issuer is down: financial requests are answered 91 and change nothing. */
  issuerDown: boolean;
}

export const noFaults: Faults = { dropRate: 0, delayMs: 0, timeoutRate: 0, issuerDown: false };

export type FaultDecision =
  | { kind: 'answer'; delayMs: number }
  | { kind: 'drop' }
  | { kind: 'late'; delayMs: number };

/** mulberry32: small, fast, good enough to schedule faults reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultPlan {
  faults: Faults = { ...noFaults };
  constructor(
    private readonly random: () => number,
    readonly timeoutAnswerMs = 30_000,
  ) {}

  set(patch: Partial<Faults>): Faults {
    const next = { ...this.faults, ...patch };
    const rate = (n: number) => Number.isFinite(n) && n >= 0 && n <= 1;
    if (!rate(next.dropRate) || !rate(next.timeoutRate))
      throw new Error('dropRate and timeoutRate must be within 0..1');
    if (!Number.isInteger(next.delayMs) || next.delayMs < 0 || next.delayMs > 120_000) {
      throw new Error('delayMs must be an integer within 0..120000');
    }
    this.faults = next;
    return next;
  }

  /** Decide the fate of one answer. Drops are decided before the request is applied. */
  decide(): FaultDecision {
    const r = this.random();
    if (r < this.faults.dropRate) return { kind: 'drop' };
    if (r < this.faults.dropRate + this.faults.timeoutRate)
      return { kind: 'late', delayMs: this.timeoutAnswerMs };
    return { kind: 'answer', delayMs: this.faults.delayMs };
  }
}
