import {
  KEY_PURPOSES,
  type KeyPurpose,
  type LoadedSecrets,
  readRingFile,
  retireFromRingFile,
  rotateRingFile,
} from '../key-ring.js';
import {
  currentKey,
  currentSealedShape,
  phoneSearchHash,
  phoneSearchShape,
  reseal,
  type Secrets,
  sealedShapes,
  tokenShapes,
  unseal,
  type ValueShape,
} from '../security.js';
import { appendAudit } from '../store/audit.js';
import type { Store, Tx } from '../store/db.js';
import { countPhoneHashesUnder, type RehashReport, rehashAll } from '../store/phone-search.js';
import { countLinksUnder } from '../store/returns.js';
import {
  columnName,
  countNonNull,
  countShape,
  type KeyedColumn,
  nextMerchant,
  resealBatch,
  SEALED_COLUMNS,
  TOKEN_COLUMNS,
} from '../store/sealed.js';

/**
 * Key rotation without downtime (`refund-desk keys …`):
 *   rotate   a fresh key becomes current in DATA_DIR/secrets.json; running processes re-read the
 *            file (KEY_RELOAD_INTERVAL_MS) and seal / tokenise new values with it, no restart
 *   reseal   values still under an old data key are sealed again under the current one, in batches
 *            (the worker does this in the background too: worker/reseal.ts); then every phone-search
 *            hash not under the current key is made again (this command only: store/phone-search.ts)
 *   status   rows per key id, per column
 *   retire   an old key leaves the ring once no row uses it, and every process has had the time to
 *            reload the ring that replaced it as current
 * Card tokens are never re-keyed (security.ts cardToken says why): a token key is retired only when
 * no payment row carries a token made under it, no refund's status link and no open return's link
 * is made under it (links.ts: derived, so the key is the only way to check them).
 */
export interface KeyDeps {
  store: Store;
  secrets: LoadedSecrets;
  clock: () => Date;
}

export type KeyRotationErrorCode =
  | 'keys_from_env'
  | 'key_not_found'
  | 'key_is_current'
  | 'key_replaced_too_recently'
  | 'key_in_use';

export class KeyRotationError extends Error {
  constructor(
    readonly code: KeyRotationErrorCode,
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'KeyRotationError';
  }
}

const COLUMNS: Record<KeyPurpose, readonly KeyedColumn[]> = { data: SEALED_COLUMNS, token: TOKEN_COLUMNS };
const SHAPES: Record<KeyPurpose, (id: string) => ValueShape[]> = { data: sealedShapes, token: tokenShapes };

async function countUnder(db: Tx, purpose: KeyPurpose, id: string): Promise<Record<string, number>> {
  const rows: Record<string, number> = {};
  for (const c of COLUMNS[purpose]) {
    let n = 0;
    for (const shape of SHAPES[purpose](id)) n += await countShape(db, c, shape);
    rows[columnName(c)] = n;
  }
  return rows;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

export interface RingStatus {
  current: string;
  keys: {
    id: string;
    current: boolean;
    createdAt: string | null;
    rows: Record<string, number>;
    total: number;
  }[];
  retired: { id: string; retiredAt: string }[];
  /** Rows under no live key: a retired or unknown key id, or not a key-ring value at all. */
  other: Record<string, number>;
}

export interface KeyStatus {
  source: 'file' | 'env';
  data: RingStatus;
  token: RingStatus;
}

/** Rows per key id, per column, for both rings (counted one query after another: while writes go on, `other` is approximate). */
export async function keyStatus(deps: Pick<KeyDeps, 'store' | 'secrets'>): Promise<KeyStatus> {
  const { store, secrets } = deps;
  secrets.refresh?.();
  const file = secrets.file ? readRingFile(secrets.file) : null;
  const ring = async (purpose: KeyPurpose): Promise<RingStatus> => {
    const live = secrets[purpose].keys;
    const current = currentKey(secrets[purpose]).id;
    const keys: RingStatus['keys'] = [];
    for (const k of live) {
      const rows = await countUnder(store.db, purpose, k.id);
      const createdAt = file?.[purpose].keys.find((f) => f.id === k.id)?.createdAt ?? null;
      keys.push({ id: k.id, current: k.id === current, createdAt, rows, total: sum(rows) });
    }
    const other: Record<string, number> = {};
    for (const c of COLUMNS[purpose]) {
      const known = keys.reduce((n, k) => n + (k.rows[columnName(c)] ?? 0), 0);
      other[columnName(c)] = (await countNonNull(store.db, c)) - known;
    }
    return { current, keys, retired: file?.[purpose].retired ?? [], other };
  };
  return { source: secrets.file ? 'file' : 'env', data: await ring('data'), token: await ring('token') };
}

function ringFile(secrets: LoadedSecrets): string {
  if (!secrets.file)
    throw new KeyRotationError(
      'keys_from_env',
      'the key rings come from the environment (DATA_KEYS / TOKEN_KEYS): append the new key there (last = current) and restart the processes one by one; `keys reseal` and `keys status` work as usual',
    );
  return secrets.file;
}

async function audit(store: Store, action: string, data: Record<string, unknown>, at: Date): Promise<void> {
  await store.tx((trx) =>
    appendAudit(trx, {
      merchantId: null,
      actor: 'cli',
      action,
      entity: 'key_ring',
      entityId: 'secrets',
      data,
      at,
    }),
  );
}

/** A fresh current key in each ring named; returns the new key ids (never key material). */
export async function rotateKeys(
  deps: KeyDeps,
  purposes: readonly KeyPurpose[],
): Promise<Partial<Record<KeyPurpose, string>>> {
  const now = deps.clock();
  const added = await rotateRingFile(ringFile(deps.secrets), purposes, now);
  deps.secrets.refresh?.();
  await audit(deps.store, 'keys.rotated', { added }, now);
  return added;
}

/**
 * Take key `id` out of a ring. Refused for the current key, for a key replaced as current less
 * than `graceMs` ago (a process that has not reloaded yet may still be writing under it: give it
 * two reload intervals), and while any row still uses the key; the row count is taken under the
 * ring file's lock, after the grace, so no process can be adding to it any more.
 */
export async function retireKey(
  deps: KeyDeps,
  purpose: KeyPurpose,
  id: string,
  graceMs: number,
): Promise<void> {
  const now = deps.clock();
  await retireFromRingFile(ringFile(deps.secrets), purpose, id, now, async (ring) => {
    const at = ring.keys.findIndex((k) => k.id === id);
    if (at < 0) throw new KeyRotationError('key_not_found', `no ${purpose} key ${id} in the ring`);
    const successor = ring.keys[at + 1];
    if (!successor)
      throw new KeyRotationError('key_is_current', `${purpose} key ${id} is current: rotate first`);
    const readyAt = Date.parse(successor.createdAt) + graceMs;
    if (now.getTime() < readyAt)
      throw new KeyRotationError(
        'key_replaced_too_recently',
        `${purpose} key ${id} was replaced at ${successor.createdAt}: processes may still be writing under it until ${new Date(readyAt).toISOString()}`,
      );
    const rows = await countUnder(deps.store.db, purpose, id);
    // Phone-search hashes are made under the data keys too (security.ts phoneSearchHash).
    if (purpose === 'data')
      Object.assign(rows, await countPhoneHashesUnder(deps.store.db, phoneSearchShape(id)));
    // Status and return links are made under the token keys too (links.ts).
    if (purpose === 'token') Object.assign(rows, await countLinksUnder(deps.store.db, id, now));
    if (sum(rows) > 0)
      throw new KeyRotationError(
        'key_in_use',
        purpose === 'data'
          ? `${sum(rows)} rows are still sealed or phone-hashed under data key ${id}: run \`refund-desk keys reseal\` first`
          : `${sum(rows)} card tokens, status links or open return links are made under token key ${id}: it stays until none is`,
        { rows },
      );
  });
  deps.secrets.refresh?.();
  await audit(deps.store, 'keys.retired', { purpose, id }, now);
}

export interface ResealStep {
  resealed: number;
  failed: { column: string; id: string; code: string }[];
  /** This step finished a pass over every sealed column. */
  passDone: boolean;
  /** …and the whole pass re-sealed nothing: every row is under the current key (or cannot be). */
  clean: boolean;
}

export const RESEAL_BATCH_ROWS = 100;

/**
 * Walks the sealed columns merchant by merchant, each in id order, one batch per step, re-sealing
 * what is not under the current data key; a pass that re-sealed anything is followed by another
 * (rows written meanwhile by a process that had not reloaded the ring yet). Idempotent: several
 * re-sealers may run at once, each row is re-sealed by one of them (store/sealed.ts).
 */
export class Resealer {
  private column = 0;
  /** The merchant whose rows the walk is in; null: the column's first merchant is next. */
  private merchantId: string | null = null;
  private cursor = '';
  private resealedInPass = 0;

  constructor(
    private readonly store: Store,
    private readonly secrets: Secrets,
    private readonly batchRows = RESEAL_BATCH_ROWS,
  ) {}

  async step(): Promise<ResealStep> {
    const c = SEALED_COLUMNS[this.column] as KeyedColumn;
    const merchantId = this.merchantId ?? (await nextMerchant(this.store.db, ''));
    const batch =
      merchantId === null
        ? { resealed: 0, failed: [], cursor: null }
        : await resealBatch(this.store, c, {
            merchantId,
            cursor: this.cursor,
            current: currentSealedShape(this.secrets),
            limit: this.batchRows,
            reseal: (value) => reseal(this.secrets, value),
          });
    this.resealedInPass += batch.resealed;
    const failed = batch.failed.map((f) => ({ column: columnName(c), ...f }));
    const more = { resealed: batch.resealed, failed, passDone: false, clean: false };
    if (batch.cursor !== null) {
      this.merchantId = merchantId;
      this.cursor = batch.cursor;
      return more;
    }
    this.cursor = '';
    this.merchantId = merchantId === null ? null : await nextMerchant(this.store.db, merchantId);
    if (this.merchantId !== null) return more;
    this.column = (this.column + 1) % SEALED_COLUMNS.length;
    if (this.column !== 0) return more;
    const clean = this.resealedInPass === 0;
    this.resealedInPass = 0;
    return { resealed: batch.resealed, failed, passDone: true, clean };
  }
}

export interface ResealReport {
  keyId: string;
  resealed: number;
  /** Rows that could not be re-sealed (retired or unknown key, tampered value), by column and id. */
  failed: { column: string; id: string; code: string }[];
  /** Phone-search hashes made again under the current key, or for the first time (store/phone-search.ts). */
  phoneSearch: RehashReport;
}

/** Re-seal until a whole pass finds nothing more to do (`keys reseal`); bounded by `maxSteps`. */
export async function resealAll(
  deps: { store: Store; secrets: Secrets },
  opts: { batchRows?: number; maxSteps?: number } = {},
): Promise<ResealReport> {
  deps.secrets.refresh?.();
  const resealer = new Resealer(deps.store, deps.secrets, opts.batchRows);
  const failed = new Map<string, ResealReport['failed'][number]>();
  let resealed = 0;
  const maxSteps = opts.maxSteps ?? 1_000_000;
  for (let i = 0; i < maxSteps; i++) {
    const step = await resealer.step();
    resealed += step.resealed;
    for (const f of step.failed) failed.set(`${f.column}:${f.id}`, f);
    if (step.clean) break;
  }
  const phoneSearch = await rehashAll(deps.store, {
    current: phoneSearchShape(currentKey(deps.secrets.data).id),
    limit: opts.batchRows ?? RESEAL_BATCH_ROWS,
    unseal: (value) => unseal(deps.secrets, value),
    hash: (phone) => phoneSearchHash(deps.secrets, phone),
  });
  return { keyId: currentKey(deps.secrets.data).id, resealed, failed: [...failed.values()], phoneSearch };
}

/** `keys reseal` as an audited action. */
export async function resealCommand(deps: KeyDeps): Promise<ResealReport> {
  const report = await resealAll(deps);
  await audit(
    deps.store,
    'keys.resealed',
    {
      keyId: report.keyId,
      resealed: report.resealed,
      failed: report.failed.length,
      phoneSearchRehashed: report.phoneSearch.rehashed,
    },
    deps.clock(),
  );
  return report;
}

export function parsePurposes(flags: readonly string[]): KeyPurpose[] {
  if (flags.includes('--all') || flags.length === 0) return [...KEY_PURPOSES];
  return KEY_PURPOSES.filter((p) => flags.includes(`--${p}`));
}
