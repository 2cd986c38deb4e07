import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';

/**
 * Secrets at rest. Consumer personal data is sealed with AES-256-GCM under the data key ring; card
 * numbers become an HMAC token (under the token key ring) plus BIN and last four; passwords are
 * argon2id hashes.
 *
 * Both rings rotate without downtime: every key has an id, every sealed value and token names the
 * id it was made under, new values use the ring's current (last) key and reads pick the key by id.
 */
export interface RingKey {
  /** `k1`, `k2`…: see KEY_ID_PATTERN. */
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

export interface KeyRing {
  /** Live keys, oldest first; the last one is current (seals and tokenises new values). */
  readonly keys: readonly RingKey[];
}

export interface Secrets {
  /** AES-256-GCM keys for consumer personal data (sealed columns). */
  readonly data: KeyRing;
  /** HMAC-SHA256 keys for card tokens. */
  readonly token: KeyRing;
  /**
   * Re-read the rings' source now if it changed. Called when a value names a key this process does
   * not know yet: another process rotated a moment ago and this one has not reloaded.
   */
  refresh?(): void;
}

/** Lower-case letters and digits, a letter first: no `.` or `_`, the separators of sealed values and tokens. */
export const KEY_ID_PATTERN = /^[a-z][a-z0-9]{0,15}$/;
/** Values written before key rings (`v1.…`, and `tok_` with no key id) were made under this key. */
export const LEGACY_KEY_ID = 'k1';
const KEY_BYTES = 32;

export type KeyRingErrorCode = 'invalid_key_ring' | 'unknown_key' | 'malformed_value' | 'unseal_failed';

/** A key-ring failure, with a stable code; its message never carries key material nor plaintext. */
export class KeyRingError extends Error {
  constructor(
    readonly code: KeyRingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KeyRingError';
  }
}

/** A ring from its keys, oldest first; refuses an empty ring, bad ids, duplicate ids and short keys. */
export function makeKeyRing(keys: readonly RingKey[], what: string): KeyRing {
  if (keys.length === 0) throw new KeyRingError('invalid_key_ring', `${what}: the key ring is empty`);
  const seen = new Set<string>();
  for (const k of keys) {
    if (!KEY_ID_PATTERN.test(k.id))
      throw new KeyRingError(
        'invalid_key_ring',
        `${what}: key id "${k.id}" must match ${KEY_ID_PATTERN.source}`,
      );
    if (seen.has(k.id)) throw new KeyRingError('invalid_key_ring', `${what}: key id ${k.id} appears twice`);
    if (k.key.length !== KEY_BYTES)
      throw new KeyRingError('invalid_key_ring', `${what}: key ${k.id} must be ${KEY_BYTES} bytes`);
    seen.add(k.id);
  }
  return { keys: [...keys] };
}

export function currentKey(ring: KeyRing): RingKey {
  const k = ring.keys[ring.keys.length - 1];
  if (!k) throw new KeyRingError('invalid_key_ring', 'the key ring is empty');
  return k;
}

function keyById(secrets: Secrets, purpose: 'data' | 'token', id: string): RingKey {
  const find = () => secrets[purpose].keys.find((k) => k.id === id);
  let found = find();
  if (!found && secrets.refresh) {
    secrets.refresh();
    found = find();
  }
  if (!found)
    throw new KeyRingError(
      'unknown_key',
      `no ${purpose} key ${id} in the ring (retired, or never known here)`,
    );
  return found;
}

/**
 * Password hashing parameters, against OWASP's Password Storage Cheat Sheet: argon2id with
 * m = 19 MiB, t = 2, p = 1 is its first recommended configuration (equivalent to its m = 46 MiB,
 * t = 1 or m = 12 MiB, t = 3 alternatives). One hash takes ≈ 25–30 ms of one core here
 * (`npm run bench` reports refunds/s with two supervisor passwords).
 */
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * argon2 runs off the event loop, on libuv's thread pool (4 threads by default), which file system
 * and DNS work share. At most this many hashes run at once (default: the number of CPUs); a burst
 * of sign-ins or approvals waits here in arrival order instead of filling the pool, taking every
 * core from the refunds already being served and 19 MiB of memory per hash.
 */
export const ARGON2_CONCURRENCY = Math.max(
  1,
  Number(process.env.ARGON2_CONCURRENCY) || availableParallelism(),
);

let running = 0;
const waiting: (() => void)[] = [];

async function boundedArgon2<T>(work: () => Promise<T>): Promise<T> {
  if (running >= ARGON2_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await work();
  } finally {
    // The slot passes straight to the next waiter (running stays the same), or is freed.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** Hashes running and waiting now (health and tests). */
export function argon2Load(): { running: number; waiting: number } {
  return { running, waiting: waiting.length };
}

export function hashPassword(password: string): Promise<string> {
  return boundedArgon2(() => argon2.hash(password, ARGON2_OPTIONS));
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await boundedArgon2(() => argon2.verify(hash, password));
  } catch {
    return false;
  }
}

/**
 * `v2.<keyId>.<iv>.<body>.<tag>` under the current data key. The `v2.<keyId>` header is the
 * GCM additional data, so a value cannot be relabelled to another key id without failing.
 */
export function seal(secrets: Secrets, plaintext: string): string {
  const { id, key } = currentKey(secrets.data);
  const header = `v2.${id}`;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(header, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${header}.${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

interface SealedParts {
  keyId: string;
  /** Additional data: the `v2.<keyId>` header; none in `v1` values. */
  aad: Buffer | null;
  iv: Buffer;
  body: Buffer;
  tag: Buffer;
}

function parseSealed(sealed: string): SealedParts {
  const parts = sealed.split('.');
  const [v] = parts;
  const fields =
    v === 'v1' && parts.length === 4
      ? { keyId: LEGACY_KEY_ID, aad: null, rest: parts.slice(1) }
      : v === 'v2' && parts.length === 5 && KEY_ID_PATTERN.test(parts[1] ?? '')
        ? { keyId: parts[1] as string, aad: Buffer.from(`v2.${parts[1]}`, 'utf8'), rest: parts.slice(2) }
        : null;
  const [iv = '', body = '', tag = ''] = fields?.rest ?? [];
  const ivBytes = Buffer.from(iv, 'base64url');
  const tagBytes = Buffer.from(tag, 'base64url');
  if (!fields || ivBytes.length !== 12 || tagBytes.length !== 16)
    throw new KeyRingError('malformed_value', 'not a sealed value');
  return {
    keyId: fields.keyId,
    aad: fields.aad,
    iv: ivBytes,
    body: Buffer.from(body, 'base64url'),
    tag: tagBytes,
  };
}

/** The id of the data key a sealed value was made under (`v1` values: LEGACY_KEY_ID). */
export function sealedKeyId(sealed: string): string {
  return parseSealed(sealed).keyId;
}

export function unseal(secrets: Secrets, sealed: string): string {
  const parts = parseSealed(sealed);
  const { key } = keyById(secrets, 'data', parts.keyId);
  const decipher = createDecipheriv('aes-256-gcm', key, parts.iv);
  if (parts.aad) decipher.setAAD(parts.aad);
  decipher.setAuthTag(parts.tag);
  try {
    return Buffer.concat([decipher.update(parts.body), decipher.final()]).toString('utf8');
  } catch {
    throw new KeyRingError(
      'unseal_failed',
      `a value sealed under data key ${parts.keyId} failed authentication`,
    );
  }
}

/**
 * The value sealed again under the current data key, or null when it already is. Re-sealing
 * changes the ciphertext (a fresh IV), never the plaintext.
 */
export function reseal(secrets: Secrets, sealed: string): string | null {
  if (parseSealed(sealed).keyId === currentKey(secrets.data).id && sealed.startsWith('v2.')) return null;
  return seal(secrets, unseal(secrets, sealed));
}

/** A stored value's shape: it starts with `prefix` (and, when given, is `length` characters long). */
export interface ValueShape {
  prefix: string;
  length?: number;
}

/** The shapes of values sealed under data key `id` (store queries count and select by them). */
export function sealedShapes(id: string): ValueShape[] {
  return [{ prefix: `v2.${id}.` }, ...(id === LEGACY_KEY_ID ? [{ prefix: 'v1.' }] : [])];
}

/** The shape of values sealed under the current data key: what re-sealing leaves alone. */
export function currentSealedShape(secrets: Secrets): ValueShape {
  return { prefix: `v2.${currentKey(secrets.data).id}.` };
}

const TOKEN_BODY_CHARS = 32;

/** The shapes of card tokens made under token key `id`. */
export function tokenShapes(id: string): ValueShape[] {
  const prefix = `tok_${id}_`;
  return [
    { prefix, length: prefix.length + TOKEN_BODY_CHARS },
    ...(id === LEGACY_KEY_ID ? [{ prefix: 'tok_', length: 'tok_'.length + TOKEN_BODY_CHARS }] : []),
  ];
}

function tokenBody(key: Buffer, pan: string): string {
  return createHmac('sha256', key).update(pan).digest('base64url').slice(0, TOKEN_BODY_CHARS);
}

/**
 * `tok_<keyId>_<32 base64url chars>`: the HMAC of the card number under the current token key.
 * Tokens made before key rings are `tok_<32 chars>` (36 characters in all) under LEGACY_KEY_ID.
 *
 * Why an old token key is retired only when no row references it any more: the card number is
 * never stored, so a token cannot be recomputed under a new key the way a sealed value is
 * re-sealed. A row's token stays under the key it was made with for as long as the row keeps it,
 * and matching a presented card against such rows needs that key (cardTokenCandidates). Dropping
 * the key earlier would silently make those payments unmatchable; keeping it costs only that the
 * old key, if ever stolen, could still test guessed card numbers against old rows' tokens, which
 * is what rotating bounds: every token made from now on is out of its reach.
 */
export function cardToken(secrets: Secrets, pan: string): string {
  const { id, key } = currentKey(secrets.token);
  return `tok_${id}_${tokenBody(key, pan)}`;
}

const KEY_ID = KEY_ID_PATTERN.source.slice(1, -1);
const TOKEN_PATTERN = new RegExp(`^tok_(${KEY_ID})_[A-Za-z0-9_-]{${TOKEN_BODY_CHARS}}$`);
const LEGACY_TOKEN_PATTERN = new RegExp(`^tok_[A-Za-z0-9_-]{${TOKEN_BODY_CHARS}}$`);

/** The id of the token key a card token was made under, or null for something that is no token. */
export function cardTokenKeyId(token: string): string | null {
  if (LEGACY_TOKEN_PATTERN.test(token)) return LEGACY_KEY_ID;
  return TOKEN_PATTERN.exec(token)?.[1] ?? null;
}

/**
 * Every token this card may be stored under: one per live token key (and the pre-ring form under
 * LEGACY_KEY_ID). Whatever must find a card's rows looks them up with `card_token in (…)`.
 */
export function cardTokenCandidates(secrets: Secrets, pan: string): string[] {
  const out: string[] = [];
  for (const { id, key } of secrets.token.keys) {
    const body = tokenBody(key, pan);
    out.push(`tok_${id}_${body}`);
    if (id === LEGACY_KEY_ID) out.push(`tok_${body}`);
  }
  return out;
}

/** Whether a stored token is this card's, under whichever live key it was made. */
export function cardTokenMatches(secrets: Secrets, pan: string, token: string): boolean {
  return cardTokenCandidates(secrets, pan).some((c) => safeEqual(c, token));
}

/**
 * Phone search (blind index): sealed phones are found by a keyed hash stored beside them, never by
 * unsealing rows to compare.
 *
 * The value is `ph_<keyId>_<43 base64url chars>`: HMAC-SHA256 of the normalised number
 * (`normalisePhone`) under the SEARCH key of data key `<keyId>`. The search key is derived, not the
 * data key itself: HKDF-SHA256(data key, info PHONE_SEARCH_INFO). The derivation is one-way, so a
 * search key (or anything computed with it) tells nothing of the AES key, and no key serves two
 * algorithms. Keeping it beside the data ring, rather than in a ring of its own, means it rotates
 * with the data key and needs no new configuration (DATA_KEYS / secrets.json as they are).
 *
 * Rotation: new values are made under the current data key; a search computes one candidate per
 * live data key (`phoneSearchCandidates`), so rows under an older key are still found. Unlike a
 * card token (the card number is not kept), a phone hash can be recomputed: `refund-desk keys
 * reseal` unseals each row once and rewrites its hash under the current key (store/phone-search.ts),
 * which also fills the hashes of rows written before migration 0019; `keys retire` refuses a data
 * key while any hash is still under it. The background re-sealer of the worker moves sealed values
 * only: hashes move at `keys reseal`, which retiring asks for anyway.
 *
 * Limits: equal numbers give equal hashes, so the index shows which rows share a phone (that is
 * what makes it searchable); exact match only, no prefix or partial search; and whoever holds a
 * live data key can test guessed numbers (a mobile number has ~10^10 values), which is why the key
 * never leaves the ring. Changing `normalisePhone` needs a new info label and a full rehash.
 */
export const PHONE_SEARCH_INFO = 'refund-desk phone-search v1';
const PHONE_SEARCH_BODY_CHARS = 43;
const searchKeys = new WeakMap<Buffer, Buffer>();

function phoneSearchKey(dataKey: Buffer): Buffer {
  let k = searchKeys.get(dataKey);
  if (!k) {
    k = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), PHONE_SEARCH_INFO, KEY_BYTES));
    searchKeys.set(dataKey, k);
  }
  return k;
}

/**
 * A phone number as searched: its digits only, and a leading `86` / `0086` (China's country code)
 * dropped when what remains is an 11-digit mainland mobile number (1 then 10 digits). So
 * `+86 138 0013 8000`, `8613800138000`, `138-0013-8000` are all `13800138000`; other numbers keep
 * every digit (a Hong Kong `+852 …` stays `852…`).
 */
export function normalisePhone(phone: string): string {
  const digits = phone.replace(/[^0-9]/g, '');
  const m = /^(?:0086|86)(1[0-9]{10})$/.exec(digits);
  return m ? (m[1] as string) : digits;
}

function phoneSearchBody(dataKey: Buffer, phone: string): string {
  return createHmac('sha256', phoneSearchKey(dataKey))
    .update(normalisePhone(phone))
    .digest('base64url')
    .slice(0, PHONE_SEARCH_BODY_CHARS);
}

/** The phone's search hash under the current data key (what a new row stores). */
export function phoneSearchHash(secrets: Secrets, phone: string): string {
  const { id, key } = currentKey(secrets.data);
  return `ph_${id}_${phoneSearchBody(key, phone)}`;
}

/** Every hash this phone may be stored under: one per live data key (`… in (…)`). */
export function phoneSearchCandidates(secrets: Secrets, phone: string): string[] {
  return secrets.data.keys.map(({ id, key }) => `ph_${id}_${phoneSearchBody(key, phone)}`);
}

/** The shape of phone hashes made under data key `id` (counted before that key is retired). */
export function phoneSearchShape(id: string): ValueShape {
  const prefix = `ph_${id}_`;
  return { prefix, length: prefix.length + PHONE_SEARCH_BODY_CHARS };
}

export function sha256Hex(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function randomToken(prefix: string): string {
  return `${prefix}${randomBytes(24).toString('base64url')}`;
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Masks for screens and receipts: enough to recognise, too little to misuse. */
export const mask = {
  phone: (p: string) => (p.length >= 7 ? `${p.slice(0, 3)}****${p.slice(-4)}` : '****'),
  email: (e: string) => {
    const [user = '', domain = ''] = e.split('@');
    return `${user.slice(0, 1)}***@${domain}`;
  },
  name: (n: string) => {
    const chars = [...n];
    return chars.length <= 1 ? '*' : `${chars[0]}${'*'.repeat(Math.min(chars.length - 1, 3))}`;
  },
  bankAccount: (a: string) => `****${a.slice(-4)}`,
};

export interface ConsumerContact {
  name?: string | undefined;
  phone?: string | undefined;
  email?: string | undefined;
  bankAccount?: string | undefined;
}

export function maskConsumer(c: ConsumerContact): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.name) out.name = mask.name(c.name);
  if (c.phone) out.phone = mask.phone(c.phone);
  if (c.email) out.email = mask.email(c.email);
  if (c.bankAccount) out.bankAccount = mask.bankAccount(c.bankAccount);
  return out;
}
