import fc from 'fast-check';

/**
 * How many cases a fuzz property runs. CI keeps each file's default (bounded so a file takes well
 * under a minute per store); FUZZ_RUNS sets every property's count outside CI, e.g.
 * `FUZZ_RUNS=5000 npx vitest run test/fuzz`. FUZZ_SEED replays a run with fast-check's seed.
 */
export function fuzzRuns(defaultRuns: number): number {
  const n = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : defaultRuns;
}

export function fuzzSeed(): { seed: number } | Record<string, never> {
  const seed = Number(process.env.FUZZ_SEED);
  return process.env.FUZZ_SEED !== undefined && Number.isInteger(seed) ? { seed } : {};
}

/** Cases run per property, printed as one line when a file ends. */
export class CaseCounter {
  private readonly counts = new Map<string, number>();

  /** Wraps a property's predicate so every case it sees is counted under `name`. */
  count<A extends unknown[], R>(name: string, predicate: (...args: A) => R): (...args: A) => R {
    this.counts.set(name, this.counts.get(name) ?? 0);
    // A case dropped by `fc.pre` did not run: it is not counted.
    const tally = (err?: unknown) => {
      if (err === undefined || !fc.PreconditionFailure.isFailure(err))
        this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    };
    return (...args: A) => {
      let result: R;
      try {
        result = predicate(...args);
      } catch (err) {
        tally(err);
        throw err;
      }
      if (!(result instanceof Promise)) {
        tally();
        return result;
      }
      return result.then(
        (v) => {
          tally();
          return v;
        },
        (err: unknown) => {
          tally(err);
          throw err;
        },
      ) as R;
    };
  }

  get total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  summary(what: string): string {
    const parts = [...this.counts].map(([name, n]) => `${name} ${n}`);
    return `${what}: ${this.total} cases (${parts.join('; ')})`;
  }
}
