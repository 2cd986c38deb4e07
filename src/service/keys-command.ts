import { loadConfig } from '../config.js';
import { type KeyPurpose, openSecrets } from '../key-ring.js';
import { KeyRingError } from '../security.js';
import { migrate, openStore, type Store } from '../store/db.js';
import { KeyRotationError, keyStatus, parsePurposes, resealCommand, retireKey, rotateKeys } from './keys.js';

export const KEYS_USAGE = `Usage:
  refund-desk keys status                          rows per key id, per column (JSON)
  refund-desk keys rotate [--data|--token|--all]   add a fresh current key (default --all); running
                                                   processes pick it up within KEY_RELOAD_INTERVAL_MS
  refund-desk keys reseal                          re-seal every value still under an old data key
  refund-desk keys retire <id> [--data|--token]    remove an old key (default --data) once no row uses it`;

export interface KeysCliIo {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
  clock?: () => Date;
  /** An open, migrated store to use (and leave open); default: DATABASE_URL's, opened and closed here. */
  store?: Store;
}

const FLAGS = new Set(['--data', '--token', '--all']);

interface KeysArgs {
  sub: 'status' | 'rotate' | 'reseal' | 'retire';
  purposes: KeyPurpose[];
  id: string | null;
}

function parseArgs(argv: readonly string[]): KeysArgs {
  const [sub = '', ...rest] = argv;
  if (!['status', 'rotate', 'reseal', 'retire'].includes(sub))
    throw new Error(`unknown keys command "${sub}"`);
  const flags = rest.filter((a) => a.startsWith('--'));
  const positional = rest.filter((a) => !a.startsWith('--'));
  const bad = flags.find((f) => !FLAGS.has(f));
  if (bad) throw new Error(`unknown option ${bad}`);
  if (sub === 'retire') {
    if (positional.length !== 1 || flags.includes('--all') || flags.length > 1)
      throw new Error('keys retire takes one key id and --data (default) or --token');
    return { sub, purposes: flags.includes('--token') ? ['token'] : ['data'], id: positional[0] as string };
  }
  if (positional.length > 0) throw new Error(`keys ${sub} takes no arguments`);
  if (sub !== 'rotate' && flags.length > 0) throw new Error(`keys ${sub} takes no options`);
  return { sub: sub as KeysArgs['sub'], purposes: parsePurposes(flags), id: null };
}

/**
 * `refund-desk keys …`: JSON on stdout; exit 0 done, 2 bad arguments, 3 refused (retire while rows
 * use the key, rotate of environment keys) or rows left that could not be re-sealed. Prints key ids
 * and counts, never key material.
 */
export async function keysCommand(argv: readonly string[], io: KeysCliIo): Promise<number> {
  let args: KeysArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${KEYS_USAGE}\n`);
    return 2;
  }
  const config = loadConfig(io.env);
  const clock = io.clock ?? (() => new Date());
  const secrets = openSecrets(config);
  const store = io.store ?? openStore(config.databaseUrl, { poolSize: 2 });
  const out = (v: unknown) => io.stdout(`${JSON.stringify(v, null, 2)}\n`);
  try {
    if (!io.store) await migrate(store);
    const deps = { store, secrets, clock };
    switch (args.sub) {
      case 'status':
        out(await keyStatus(deps));
        return 0;
      case 'rotate':
        out({ added: await rotateKeys(deps, args.purposes) });
        return 0;
      case 'reseal': {
        const report = await resealCommand(deps);
        out(report);
        return report.failed.length > 0 ? 3 : 0;
      }
      case 'retire': {
        const purpose = args.purposes[0] as KeyPurpose;
        // Every process re-reads the ring within one reload interval; two give a margin.
        const graceMs = 2 * (config.keyReloadIntervalMs ?? 5_000) + 1_000;
        await retireKey(deps, purpose, args.id as string, graceMs);
        out({ retired: { purpose, id: args.id } });
        return 0;
      }
      default:
        throw new Error(`unknown keys command ${args.sub satisfies never}`);
    }
  } catch (err) {
    if (err instanceof KeyRotationError || err instanceof KeyRingError) {
      io.stderr(`${err.code}: ${err.message}\n`);
      return 3;
    }
    throw err;
  } finally {
    secrets.close();
    if (!io.store) await store.close();
  }
}
