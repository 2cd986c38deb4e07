import type { RunnerTestCase } from 'vitest';
import type { Reporter, Vitest } from 'vitest/node';

/** The name of the failed test that stands for a test file that could not be loaded. */
export const LOAD_FAILURE_TEST = '(the test file failed to load)';

/**
 * Reporter of vitest.stryker.config.ts only. StrykerJS's vitest runner (9.6.1, still 10.x:
 * stryker-js#6150) scores a mutant by the tests it collected, and a test file whose import throws
 * collects none: a mutant that stops a module from loading (say, a calendar test file parses the
 * shipped calendar at import, and the mutant breaks the parser) reads "survived, 0 tests run".
 * So after each run, every test file that failed with no test in it gets one failed test carrying
 * its load error, which the runner then counts.
 */
export class LoadFailuresAsFailedTests implements Reporter {
  private vitest: Vitest | null = null;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(): void {
    for (const file of this.vitest?.state.getFiles() ?? []) {
      if (file.result?.state !== 'fail' || file.tasks.length > 0) continue;
      // The one cast: a test's context is something only vitest builds, and nothing reads it here.
      const failed = {
        type: 'test',
        id: `${file.id}_load`,
        name: LOAD_FAILURE_TEST,
        fullName: `${file.name} > ${LOAD_FAILURE_TEST}`,
        mode: 'run',
        file,
        suite: file,
        meta: {},
        annotations: [],
        artifacts: [],
        timeout: 0,
        result: { state: 'fail', errors: file.result.errors ?? [] },
      } as unknown as RunnerTestCase;
      file.tasks.push(failed);
    }
  }
}
