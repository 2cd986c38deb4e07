import { defineConfig } from 'vitest/config';
import { areas } from './stryker.config.mjs';
import { LoadFailuresAsFailedTests } from './test/support/stryker-load-failures.ts';
import base from './vitest.config.ts';

/**
 * The tests StrykerJS runs against each mutant (`npm run mutate`): those of the area being mutated
 * (MUTATE_AREA, see stryker.config.mjs), or of all areas. Browser, simulation and whole-API
 * suites stay out: they would run for every mutant they happen to cover.
 */
const area = process.env.MUTATE_AREA as keyof typeof areas | undefined;
const include = area ? areas[area].tests : Object.values(areas).flatMap((a) => a.tests);

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include,
    // A mutant that stops a test file from loading is a kill (see the reporter).
    reporters: ['default', new LoadFailuresAsFailedTests()],
    // Each suite on PostgreSQL makes a schema of its own; drop this process's when a file is done.
    setupFiles: ['test/support/pg-schema-cleanup.ts'],
  },
});
