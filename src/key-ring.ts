import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import {
  KEY_ID_PATTERN,
  type KeyRing,
  KeyRingError,
  LEGACY_KEY_ID,
  makeKeyRing,
  type RingKey,
  type Secrets,
} from './security.js';

/**
 * Where the key rings live: `DATA_DIR/secrets.json` (mode 600), or the environment.
 *
 * The file (version 2):
 *   { "version": 2,
 *     "data":  { "keys": [{ "id": "k1", "key": "<base64, 32 bytes>", "createdAt": "<ISO>" }, …],
 *                "retired": [{ "id": "k0", "retiredAt": "<ISO>" }] },
 *     "token": { … } }
 * Keys are oldest first; the last is current. Retired ids are kept (without their key) so an id is
 * never given to a second key. A version 1 file `{dataKey, tokenKey}` reads as one-key rings `k1`,
 * and is rewritten as version 2 at the first rotation. Only the `keys` commands write the file:
 * under a lock file, to a temporary file renamed over it, so a reader sees the old or the new
 * ring, never half of one. Servers re-read it when it changes (FileSecrets.watch).
 *
 * The environment: DATA_KEYS / TOKEN_KEYS as `id:base64,id:base64,…`, oldest first, the LAST one
 * current (rotation appends); or DATA_KEY / TOKEN_KEY (one base64 key each), a one-key ring `k1`.
 * Values written before key rings are under `k1`, so a ring that still holds them must call that key `k1`.
 */
export type KeyPurpose = 'data' | 'token';
export const KEY_PURPOSES: readonly KeyPurpose[] = ['data', 'token'];

export interface RingFileKey {
  id: string;
  key: string;
  createdAt: string;
}

export interface RingFilePurpose {
  keys: RingFileKey[];
  retired: { id: string; retiredAt: string }[];
}

export interface RingFile {
  version: 2;
  data: RingFilePurpose;
  token: RingFilePurpose;
}

export const SECRETS_FILE = 'secrets.json';
const KEY_BYTES = 32;
/** A lock file older than this is left by a `keys` command that died: taken over. */
const LOCK_STALE_MS = 60_000;
const LOCK_WAIT_MS = 5_000;

export function secretsFilePath(dataDir: string): string {
  return join(dataDir, SECRETS_FILE);
}

function decodeKey(what: string, value: unknown): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  if (b.length !== KEY_BYTES)
    throw new KeyRingError('invalid_key_ring', `${what} must be ${KEY_BYTES} bytes, base64`);
  return b;
}

function freshKey(id: string, now: Date): RingFileKey {
  return { id, key: randomBytes(KEY_BYTES).toString('base64'), createdAt: now.toISOString() };
}

function parsePurpose(what: string, raw: unknown): RingFilePurpose {
  const p = raw as Partial<RingFilePurpose> | undefined;
  if (!p || !Array.isArray(p.keys)) throw new KeyRingError('invalid_key_ring', `${what}: no keys`);
  const keys = p.keys.map((k, i) => {
    if (typeof k?.id !== 'string' || typeof k.createdAt !== 'string')
      throw new KeyRingError('invalid_key_ring', `${what}: key ${i} needs an id and createdAt`);
    decodeKey(`${what} key ${k.id}`, k.key);
    return { id: k.id, key: k.key, createdAt: k.createdAt };
  });
  const retired = (Array.isArray(p.retired) ? p.retired : []).map((r) => ({
    id: String(r.id),
    retiredAt: String(r.retiredAt),
  }));
  return { keys, retired };
}

/** Parse the file's text: version 2, or version 1 (`{dataKey, tokenKey}`) as one-key rings `k1`. */
export function parseRingFile(text: string, legacyCreatedAt: Date): RingFile {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not the parser's message: it quotes the text around the fault, which may be key material.
    throw new KeyRingError('invalid_key_ring', `${SECRETS_FILE} is not valid JSON`);
  }
  if (raw.version === 2) {
    const file: RingFile = {
      version: 2,
      data: parsePurpose('data', raw.data),
      token: parsePurpose('token', raw.token),
    };
    ringsOf(file);
    return file;
  }
  const at = legacyCreatedAt.toISOString();
  return {
    version: 2,
    data: {
      keys: [{ id: LEGACY_KEY_ID, key: decodeKey('dataKey', raw.dataKey).toString('base64'), createdAt: at }],
      retired: [],
    },
    token: {
      keys: [
        { id: LEGACY_KEY_ID, key: decodeKey('tokenKey', raw.tokenKey).toString('base64'), createdAt: at },
      ],
      retired: [],
    },
  };
}

export function ringsOf(file: RingFile): { data: KeyRing; token: KeyRing } {
  const ring = (p: RingFilePurpose, what: string) =>
    makeKeyRing(
      p.keys.map((k): RingKey => ({ id: k.id, key: decodeKey(`${what} key ${k.id}`, k.key) })),
      what,
    );
  return { data: ring(file.data, 'data keys'), token: ring(file.token, 'token keys') };
}

export function readRingFile(path: string): RingFile {
  return parseRingFile(readFileSync(path, 'utf8'), statSync(path).mtime);
}

/** Write `text` to `path` durably: a temporary file (mode 600), fsync, then `place(tmp)`. */
function writeViaTemp(path: string, text: string, place: (tmp: string) => void): void {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    place(tmp);
  } finally {
    if (existsSync(tmp)) unlinkSync(tmp);
  }
  // The rename itself is made durable by syncing the directory.
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Replace the file atomically (temporary file renamed over it); keeps mode 600. */
export function writeRingFile(path: string, file: RingFile): void {
  ringsOf(file);
  writeViaTemp(path, `${JSON.stringify(file, null, 2)}\n`, (tmp) => renameSync(tmp, path));
}

/** Create the file with fresh `k1` keys unless it exists (a hard link never replaces a file). */
export function createRingFileIfMissing(path: string, now: Date): void {
  mkdirSync(dirname(path), { recursive: true });
  if (existsSync(path)) return;
  const file: RingFile = {
    version: 2,
    data: { keys: [freshKey(LEGACY_KEY_ID, now)], retired: [] },
    token: { keys: [freshKey(LEGACY_KEY_ID, now)], retired: [] },
  };
  writeViaTemp(path, `${JSON.stringify(file, null, 2)}\n`, (tmp) => {
    try {
      linkSync(tmp, path);
    } catch (err) {
      // Another process created it first: theirs stands.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  });
}

async function withRingFileLock<T>(path: string, fn: () => T | Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const started = Date.now();
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) {
        unlinkSync(lock);
        continue;
      }
      if (Date.now() - started > LOCK_WAIT_MS)
        throw new KeyRingError('invalid_key_ring', `another keys command holds ${lock}; try again`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    unlinkSync(lock);
  }
}

/** `k<n+1>` past every id the ring ever had, live or retired: an id names one key only, ever. */
export function nextKeyId(p: RingFilePurpose): string {
  let max = 0;
  for (const id of [...p.keys.map((k) => k.id), ...p.retired.map((r) => r.id)]) {
    const m = /^k([0-9]+)$/.exec(id);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return `k${max + 1}`;
}

/** Add a fresh current key to each ring named; returns the new ids. */
export function rotateRingFile(
  path: string,
  purposes: readonly KeyPurpose[],
  now: Date,
): Promise<Partial<Record<KeyPurpose, string>>> {
  return withRingFileLock(path, () => {
    const file = readRingFile(path);
    const added: Partial<Record<KeyPurpose, string>> = {};
    for (const purpose of purposes) {
      const id = nextKeyId(file[purpose]);
      file[purpose].keys.push(freshKey(id, now));
      added[purpose] = id;
    }
    writeRingFile(path, file);
    return added;
  });
}

/**
 * Remove a key from a ring after `check` (run under the file lock, on the ring as it is then)
 * accepts; the id stays listed as retired.
 */
export function retireFromRingFile(
  path: string,
  purpose: KeyPurpose,
  id: string,
  now: Date,
  check: (ring: RingFilePurpose) => Promise<void>,
): Promise<void> {
  return withRingFileLock(path, async () => {
    const file = readRingFile(path);
    const ring = file[purpose];
    await check(ring);
    ring.keys = ring.keys.filter((k) => k.id !== id);
    ring.retired.push({ id, retiredAt: now.toISOString() });
    writeRingFile(path, file);
  });
}

/** `id:base64,id:base64,…` (oldest first, last current). */
export function parseEnvRing(name: string, value: string): KeyRing {
  const keys = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry): RingKey => {
      const at = entry.indexOf(':');
      const id = at > 0 ? entry.slice(0, at) : '';
      if (!KEY_ID_PATTERN.test(id))
        throw new KeyRingError('invalid_key_ring', `${name}: each entry is id:base64 with an id like k1`);
      return { id, key: decodeKey(`${name} key ${id}`, entry.slice(at + 1)) };
    });
  return makeKeyRing(keys, name);
}

export interface KeyEnv {
  dataKey?: string | undefined;
  tokenKey?: string | undefined;
  dataKeys?: string | undefined;
  tokenKeys?: string | undefined;
}

/** The rings from the environment, or null when it names none (then the file holds them). */
export function envRings(env: KeyEnv): { data: KeyRing; token: KeyRing } | null {
  const one = (purpose: KeyPurpose, ring: string | undefined, single: string | undefined) => {
    const [ringName, singleName] =
      purpose === 'data' ? ['DATA_KEYS', 'DATA_KEY'] : ['TOKEN_KEYS', 'TOKEN_KEY'];
    if (ring && single)
      throw new KeyRingError('invalid_key_ring', `set ${ringName} or ${singleName}, not both`);
    if (ring) return parseEnvRing(ringName, ring);
    if (single) return makeKeyRing([{ id: LEGACY_KEY_ID, key: decodeKey(singleName, single) }], singleName);
    return null;
  };
  const data = one('data', env.dataKeys, env.dataKey);
  const token = one('token', env.tokenKeys, env.tokenKey);
  if (!data && !token) return null;
  if (!data || !token)
    throw new KeyRingError(
      'invalid_key_ring',
      'set both the data keys (DATA_KEYS or DATA_KEY) and the token keys (TOKEN_KEYS or TOKEN_KEY), or neither (then DATA_DIR/secrets.json holds them)',
    );
  return { data, token };
}

/** Rings given once (the environment): nothing to reload. */
export class FixedSecrets implements Secrets {
  readonly file = null;
  constructor(
    readonly data: KeyRing,
    readonly token: KeyRing,
  ) {}
  refresh(): void {}
  close(): void {}
}

/**
 * The rings of `secrets.json`, re-read when the file changes: `watch(ms)` checks it that often
 * (a stat; the file is read only when its inode, size or mtime moved), and `refresh()` checks at
 * once, for a value under a key id this process has not seen yet. A file that fails to parse
 * leaves the rings as they were (and `onError` is told, without key material).
 */
export class FileSecrets implements Secrets {
  private rings: { data: KeyRing; token: KeyRing };
  private seen: Stats;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly file: string,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.seen = statSync(file);
    this.rings = ringsOf(readRingFile(file));
  }

  get data(): KeyRing {
    return this.rings.data;
  }

  get token(): KeyRing {
    return this.rings.token;
  }

  refresh(): void {
    let now: Stats;
    try {
      now = statSync(this.file);
    } catch (err) {
      this.onError(err as Error);
      return;
    }
    const same =
      now.ino === this.seen.ino &&
      now.size === this.seen.size &&
      now.mtimeMs === this.seen.mtimeMs &&
      now.ctimeMs === this.seen.ctimeMs;
    if (same) return;
    try {
      this.rings = ringsOf(parseRingFile(readFileSync(this.file, 'utf8'), now.mtime));
      this.seen = now;
    } catch (err) {
      this.seen = now;
      this.onError(err as Error);
    }
  }

  watch(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.refresh(), intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

export type LoadedSecrets = FixedSecrets | FileSecrets;

/** The rings from the environment, else from DATA_DIR/secrets.json (created with fresh keys if missing). */
export function openSecrets(
  env: KeyEnv & { dataDir: string },
  opts: { now?: Date; onError?: (err: Error) => void } = {},
): LoadedSecrets {
  const fromEnv = envRings(env);
  if (fromEnv) return new FixedSecrets(fromEnv.data, fromEnv.token);
  const path = secretsFilePath(env.dataDir);
  createRingFileIfMissing(path, opts.now ?? new Date());
  return new FileSecrets(path, opts.onError);
}
