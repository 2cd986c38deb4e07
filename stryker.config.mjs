// Mutation testing (issue 9): `npm run mutate`, outside CI and outside `npm test`.
//
//   MUTATE_AREA=domain npm run mutate    the money rules, against their unit tests
//   MUTATE_AREA=store npm run mutate     the store, against the store and card-link suites (both dialects)
//   MUTATE_AREA=iso8583 npm run mutate   the ISO 8583 codec, framing and MAC, against their tests
//   npm run mutate                       all three at once (static mutants skipped, see below)
//
// Reports: reports/mutation/<area>.html and .json; docs/mutation-report.md has the findings.

/**
 * Each area: what is mutated, and the tests that run against it (vitest.stryker.config.ts reads
 * them from here). `ignoreStatic`: mutants in module-level initialisers (tables, constants) can't
 * be traced to single tests, so each one runs every test of the area; that is affordable where the
 * tests are fast unit tests, and skipped where they start whole systems.
 */
export const areas = {
  domain: {
    mutate: ['src/domain/**/*.ts'],
    tests: ['test/domain/**/*.test.ts', 'test/reconciliation/reconcile.test.ts'],
    ignoreStatic: false,
  },
  store: {
    mutate: ['src/store/**/*.ts', '!src/store/migrations/**'],
    tests: ['test/store/**/*.test.ts', 'test/reconciliation/ledger.test.ts', 'test/network/card-link/**/*.test.ts'],
    ignoreStatic: true,
  },
  iso8583: {
    mutate: ['src/network/iso8583/**/*.ts'],
    tests: ['test/network/iso8583/**/*.test.ts'],
    ignoreStatic: false,
  },
};

const name = process.env.MUTATE_AREA ?? 'all';
const chosen = name === 'all' ? Object.values(areas) : [areas[name]];
if (chosen.some((a) => a === undefined)) {
  throw new Error(`MUTATE_AREA must be one of ${Object.keys(areas).join(', ')} (or unset for all)`);
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  plugins: ['@stryker-mutator/vitest-runner'],
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts' },
  mutate: chosen.flatMap((a) => a.mutate),
  ignoreStatic: chosen.some((a) => a.ignoreStatic),
  coverageAnalysis: 'perTest',
  // The machine is shared: two test processes at most.
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  // A re-run tests only the mutants whose code or tests changed since the last run of the area.
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${name}.json`,
  // Stryker rewrites the sandbox's tsconfig through TypeScript's JS API, which TypeScript 7 (native)
  // no longer has. Our tsconfig points at nothing outside the project, so there is nothing to
  // rewrite: name a file that does not exist and the rewrite is skipped.
  tsconfigFile: 'tsconfig.stryker-no-rewrite.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  // Not needed by the tests, and large: left out of the sandbox copy.
  ignorePatterns: ['dist', 'data/*.db*', 'data/tmp', 'coverage', 'docs/screenshots', 'reports'],
};
