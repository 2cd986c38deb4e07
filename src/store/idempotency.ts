import { createHash } from 'node:crypto';
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
  return row ? replay(row, requestHash(scope.fingerprint)) : null;
}

/**
 * Run `work` once per key. The key row is inserted first in the same transaction as the work:
 * a concurrent request with the same key blocks on that row (PostgreSQL) or on the write lock
 * (SQLite) until the first commits, then replays its response. If the work fails, the
 * transaction — key row included — rolls back and nothing is remembered.
 */
export async function runIdempotent(
  store: Store,
  scope: IdempotencyScope | null,
  work: (trx: Tx) => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  if (!scope) {
    const result = await store.tx(work);
    return { ...result, replayed: false };
  }
  const hash = requestHash(scope.fingerprint);
  return store.tx(async (trx) => {
    const inserted = await trx
      .insertInto('idempotency_keys')
      .values({
        merchant_id: scope.merchantId,
        key: scope.key,
        request_hash: hash,
        status_code: 0,
        response_json: null,
        created_at: new Date().toISOString(),
      })
      .onConflict((oc) => oc.columns(['merchant_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!inserted) {
      const row = await trx
        .selectFrom('idempotency_keys')
        .select(['request_hash', 'status_code', 'response_json'])
        .where('merchant_id', '=', scope.merchantId)
        .where('key', '=', scope.key)
        .executeTakeFirstOrThrow();
      return replay(row, hash);
    }
    const result = await work(trx);
    await trx
      .updateTable('idempotency_keys')
      .set({ status_code: result.statusCode, response_json: JSON.stringify(result.body) })
      .where('merchant_id', '=', scope.merchantId)
      .where('key', '=', scope.key)
      .execute();
    return { ...result, replayed: false };
  });
}
