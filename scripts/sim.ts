/**
 * `npm run sim -- --seed N --steps M [--store sqlite|postgres] [--lanes K] [--trace]`: the
 * deterministic simulation of test/sim for long runs outside CI. Prints the seed, the trace of a
 * failing run and every violation; exits 1 when anything disagrees.
 */
import { parseArgs } from 'node:util';
import { runSimulation } from '../test/sim/run.js';
import { storeTargets } from '../test/support/stores.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      steps: { type: 'string', default: '1000' },
      store: { type: 'string', default: 'sqlite' },
      lanes: { type: 'string', default: '3' },
      trace: { type: 'boolean', default: false },
      'no-restarts': { type: 'boolean', default: false },
    },
  });
  const seed = Number(values.seed ?? Date.now() % 2 ** 31);
  const steps = Number(values.steps);
  const target = storeTargets.find((t) => t.name === values.store);
  if (!target) throw new Error(`store ${values.store} is not available (sqlite, or postgres when reachable)`);
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(steps) || steps < 1)
    throw new Error('--seed and --steps take integers');
  process.stdout.write(`sim: seed ${seed}, ${steps} steps on ${target.name}\n`);
  const result = await runSimulation({
    seed,
    steps,
    storeUrl: await target.freshUrl(),
    lanes: Number(values.lanes),
    restarts: !values['no-restarts'],
    ...(values.trace ? { log: (line: string) => process.stdout.write(`${line}\n`) } : {}),
  });
  const ops = Object.entries(result.stats)
    .filter(([k]) => k.startsWith('op '))
    .map(([k, v]) => `${k.slice(3)} ${v}`)
    .join(', ');
  const answers = Object.entries(result.stats)
    .filter(([k]) => k.startsWith('http '))
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.slice(5)} ×${v}`)
    .join(', ');
  process.stdout.write(`ops: ${ops}\nanswers: ${answers}\n${result.elapsedMs} ms\n`);
  if (result.violations.length === 0) {
    process.stdout.write(`sim: seed ${seed}: no disagreements\n`);
    return 0;
  }
  if (!values.trace) process.stdout.write(`trace:\n${result.trace.join('\n')}\n`);
  process.stdout.write(`\nsim: seed ${seed} on ${target.name}: ${result.violations.length} violations\n`);
  for (const v of result.violations) process.stdout.write(`  ${v}\n`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);
