import { createHash, randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import { canonicalJson } from './audit.js';
import type { Store, Tx } from './db.js';

export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

export interface IdempotencyScope {
  merchantId: string;
  key: string;
  /** Method, path and canonical body: what makes "the same request". */
  fingerprint: { method: string; path: string; body: unknown };
}

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

function requestHash(f: IdempotencyScope['fingerprint']): string {
  return createHash('sha256')
    .update(`${f.method} ${f.path}\n${canonicalJson(f.body ?? null)}`)
    .digest('hex');
}

function replay(
  row: { request_hash: string; status_code: number; response_json: string | null },
  hash: string,
) {
  if (row.request_hash !== hash) {
    throw new DomainError(
      'idempotency_key_reused',
      'this Idempotency-Key was already used with a different request',
    );
  }
  return {
    statusCode: row.status_code,
    body: JSON.parse(row.response_json ?? 'null') as unknown,
    replayed: true as const,
  };
}

/** A completed earlier response for this key, checked before any expensive work (password hashing). */
export async function findStoredResponse(
  store: Store,
  scope: IdempotencyScope,
): Promise<(StoredResponse & { replayed: true }) | null> {
  const row = await store.db
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'status_code', 'response_json'])
    .where('merchant_id', '=', scope.merchantId)
    .where('key', '=', scope.key)
    .executeTakeFirst();
  return row && row.status_code !== 0 ? replay(row, requestHash(scope.fingerprint)) : null;
}

/**
 * A key claimed this long ago is taken over (its process died: a request runs seconds, bounded by
 * the network timeout). A slow claimant that is still alive then fails to record its answer — its
 * transaction rolls back and its workflow compensates — so a takeover never does the work twice.
 */
export const CLAIM_STALE_MS = 15_000;

export interface Claim {
  claimed: true;
  token: string;
}

/**
 * Claim a key before any step of the request runs (network calls included), in a transaction of
 * its own: the first request inserts the row with status 0 ("in progress"); a concurrent request
 * with the same key is refused with 409 `idempotency_key_in_use` (Stripe does the same), a
 * finished one is replayed. Without the claim, two same-key requests would both run a workflow's
 * network steps.
 */
export async function claimKey(
  store: Store,
  scope: IdempotencyScope,
  now: Date,
): Promise<Claim | (StoredResponse & { replayed: true })> {
  const hash = requestHash(scope.fingerprint);
  const token = randomUUID();
  return store.tx(async (trx) => {
    const inserted = await trx
      .insertInto('idempotency_keys')
      .values({
        merchant_id: scope.merchantId,
        key: scope.key,
        request_hash: hash,
        status_code: 0,
        response_json: null,
        created_at: now.toISOString(),
        claim_token: token,
      })
      .onConflict((oc) => oc.columns(['merchant_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted) return { claimed: true as const, token };
    const row = await trx
      .selectFrom('idempotency_keys')
      .select(['request_hash', 'status_code', 'response_json', 'created_at'])
      .where('merchant_id', '=', scope.merchantId)
      .where('key', '=', scope.key)
      .executeTakeFirstOrThrow();
    if (row.status_code !== 0) return replay(row, hash);
    if (row.request_hash !== hash) replay(row, hash);
    if (now.getTime() - Date.parse(row.created_at) < CLAIM_STALE_MS) {
      throw new DomainError(
        'idempotency_key_in_use',
        'a request with this Idempotency-Key is still being processed; retry in a moment',
      );
    }
    await trx
      .updateTable('idempotency_keys')
      .set({ created_at: now.toISOString(), claim_token: token })
      .where('merchant_id', '=', scope.merchantId)
      .where('key', '=', scope.key)
      .execute();
    return { claimed: true as const, token };
  });
}

/** Record the answer of a claimed key, inside the transaction that does the request's last write. */
export async function completeKey(
  trx: Tx,
  scope: IdempotencyScope,
  claim: Claim,
  response: StoredResponse,
): Promise<void> {
  const r = await trx
    .updateTable('idempotency_keys')
    .set({
      status_code: response.statusCode,
      response_json: JSON.stringify(response.body),
      claim_token: null,
    })
    .where('merchant_id', '=', scope.merchantId)
    .where('key', '=', scope.key)
    .where('status_code', '=', 0)
    .where('claim_token', '=', claim.token)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) {
    throw new DomainError(
      'idempotency_key_in_use',
      'another request took this Idempotency-Key over; its answer is the one that counts — retry to read it',
    );
  }
}

/**
 * Give a claimed key back after the request failed: a retry with the same key runs again. Safe
 * because every network step of a workflow is deduplicated by an id derived from the key, and a
 * network effect that could not be recorded is compensated before the request answers.
 */
export async function releaseKey(store: Store, scope: IdempotencyScope, claim: Claim): Promise<void> {
  await store.db
    .deleteFrom('idempotency_keys')
    .where('merchant_id', '=', scope.merchantId)
    .where('key', '=', scope.key)
    .where('status_code', '=', 0)
    .where('claim_token', '=', claim.token)
    .execute();
}

/**
 * The answer given earlier under this key, thrown from inside the transaction of a request that
 * turns out to repeat it: its savepoint rolls back and the HTTP layer replays the answer.
 */
export class ReplayedAnswer extends Error {
  constructor(readonly answer: StoredResponse & { replayed: true }) {
    super('replayed');
  }
}

/**
 * One-transaction keys, for requests whose steps before the transaction have no effect a duplicate
 * would repeat (password checks, no network): the key is answered inside the request's own
 * transaction — one commit instead of a claim's commit plus the work's. `recordKeyInTx` comes last
 * in the transaction; this check is for a request whose work was refused: a key with an answer
 * throws `ReplayedAnswer`, one still claimed by a request of the two-step kind is refused as in use.
 */
export async function checkKeyInTx(trx: Tx, scope: IdempotencyScope): Promise<void> {
  const row = await trx
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'status_code', 'response_json'])
    .where('merchant_id', '=', scope.merchantId)
    .where('key', '=', scope.key)
    .executeTakeFirst();
  if (!row) return;
  const hash = requestHash(scope.fingerprint);
  if (row.status_code === 0) {
    if (row.request_hash !== hash) replay(row, hash);
    throw new DomainError(
      'idempotency_key_in_use',
      'a request with this Idempotency-Key is still being processed; retry in a moment',
    );
  }
  throw new ReplayedAnswer(replay(row, hash));
}

/**
 * Record the answer of a one-transaction key, last in its transaction. Another process may have
 * answered the same key meanwhile (PostgreSQL: the insert waits for its commit, then conflicts):
 * then this request's work is rolled back and that answer replayed.
 */
export async function recordKeyInTx(
  trx: Tx,
  scope: IdempotencyScope,
  response: StoredResponse,
  now: Date,
): Promise<void> {
  if ((await insertAnswers(trx, [{ scope, response }], now)) === 1) return;
  await checkKeyInTx(trx, scope);
  throw new DomainError(
    'idempotency_key_in_use',
    'this Idempotency-Key changed hands; retry to read its answer',
  );
}

/** Insert answered keys; one that already has a row is skipped. Returns how many were inserted. */
async function insertAnswers(
  trx: Tx,
  answers: { scope: IdempotencyScope; response: StoredResponse }[],
  now: Date,
): Promise<number> {
  const at = now.toISOString();
  const inserted = await trx
    .insertInto('idempotency_keys')
    .values(
      answers.map(({ scope, response }) => ({
        merchant_id: scope.merchantId,
        key: scope.key,
        request_hash: requestHash(scope.fingerprint),
        status_code: response.statusCode,
        response_json: JSON.stringify(response.body),
        created_at: at,
        claim_token: null,
      })),
    )
    .onConflict((oc) => oc.columns(['merchant_id', 'key']).doNothing())
    .returning('key')
    .execute();
  return inserted.length;
}

/** Which of these keys of one merchant already have a row (answered or claimed): a batch leaves those requests to run alone. */
export async function existingKeys(trx: Tx, merchantId: string, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await trx
    .selectFrom('idempotency_keys')
    .select('key')
    .where('merchant_id', '=', merchantId)
    .where('key', 'in', keys)
    .execute();
  return new Set(rows.map((r) => r.key));
}

/**
 * Record the answers of a batch's requests (one merchant) in one insert. A key that another
 * process answered meanwhile makes it throw: the batch rolls back and each request runs alone.
 */
export async function recordKeysInTx(
  trx: Tx,
  answers: { scope: IdempotencyScope; response: StoredResponse }[],
  now: Date,
): Promise<void> {
  if (answers.length === 0) return;
  if ((await insertAnswers(trx, answers, now)) !== answers.length)
    throw new Error('an Idempotency-Key of the batch was answered meanwhile');
}
