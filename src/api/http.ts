import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';
import { sha256Hex } from '../security.js';
import { authenticate } from '../service/auth.js';
import type { Caller, Ctx } from '../service/context.js';
import type { Tx } from '../store/db.js';
import type { Batchable, BatchOutcome, Outcome } from '../store/group-commit.js';
import {
  type Claim,
  checkKeyInTx,
  claimKey,
  completeKey,
  existingKeys,
  findStoredResponse,
  type IdempotencyScope,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  ReplayedAnswer,
  recordKeyInTx,
  recordKeysInTx,
  releaseKey,
} from '../store/idempotency.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

export function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (!h?.startsWith('Bearer ')) return null;
  const token = h.slice(7).trim();
  return token.length > 0 && token.length <= 200 ? token : null;
}

export async function requireCaller(ctx: Ctx, req: FastifyRequest): Promise<Caller> {
  if (req.caller) return req.caller;
  const token = bearer(req);
  if (!token)
    throw new DomainError('unauthenticated', 'send Authorization: Bearer <session token or API key>');
  req.caller = await authenticate(ctx, token);
  return req.caller;
}

export function idempotencyKey(req: FastifyRequest): string | null {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return null;
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (!key || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key)) {
    throw new DomainError(
      'validation_failed',
      `Idempotency-Key must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`,
    );
  }
  return key;
}

/** An id derived from the idempotency key, so steps taken before the store transaction (network calls) dedupe too. */
export function keyedId(prefix: string, caller: Caller, key: string | null, fresh: () => string): string {
  return key ? `${prefix}${sha256Hex(`${caller.merchantId}:${key}`).slice(0, 26)}` : fresh();
}

/** A same-key request still running is waited for this long, then answered with its result. */
const CLAIM_WAIT_MS = 20_000;
const CLAIM_POLL_MS = 25;

/**
 * Claim the key; while another request with it is running, wait for that one to finish and replay
 * its answer (a client retrying impatiently gets the one result, not an error).
 */
async function claimWhenFree(ctx: Ctx, scope: IdempotencyScope) {
  const deadline = Date.now() + CLAIM_WAIT_MS;
  for (;;) {
    try {
      return await claimKey(ctx.store, scope, ctx.clock());
    } catch (err) {
      const busy = err instanceof DomainError && err.code === 'idempotency_key_in_use';
      if (!busy || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, CLAIM_POLL_MS));
    }
  }
}

/**
 * How requests of one kind are decided together: `item` is what one request brings (everything
 * `many` needs of it: the call's own caller and input, not the first request's), `many` decides
 * a list of them in one transaction, one outcome each. Build it with `batchOf`.
 */
export interface BatchSpec<P> {
  kind: string;
  item: (prepared: P) => unknown;
  many: (trx: Tx, items: unknown[]) => Promise<Outcome[]>;
}

export function batchOf<P, B>(spec: {
  kind: string;
  item: (prepared: P) => B;
  many: (trx: Tx, items: B[]) => Promise<Outcome[]>;
}): BatchSpec<P> {
  return spec as BatchSpec<P>;
}

/** The steps of a mutating call: see `mutate`. */
export interface MutationSteps<P> {
  status: number;
  /** Refuse the call without an Idempotency-Key (every call that can move money). */
  requireKey?: boolean;
  /**
   * `prepare` has no effect a duplicate request would repeat outside this store (password checks
   * at most, no network): the key is then checked and answered inside `work`'s own transaction —
   * one durable commit per request instead of two. Calls whose `prepare` reaches the network
   * claim the key in a transaction of its own first, so no duplicate reaches the network.
   * Default: true without a `prepare`, false with one.
   */
  local?: boolean;
  /**
   * With `local`: requests of the same `kind` (one merchant's) that arrive together are decided in
   * one call (see group-commit.ts, `Batchable`), with the same outcome each would have alone.
   */
  batch?: BatchSpec<P>;
  /**
   * The part of the body that makes "the same request" for the Idempotency-Key, when not all of
   * it: a body that sets a password leaves the password out, so the key's row holds no (fast,
   * unsalted) hash of it. Default: the whole validated body.
   */
  fingerprintBody?: Record<string, unknown>;
  /**
   * Callers who are not the merchant but act in its name (a consumer with a return link) keep
   * their keys apart from the merchant's: `<namespace>:<key>`. Nobody holding one link can probe
   * or occupy a key of the merchant's own systems, or of another link.
   */
  keyNamespace?: string;
  /** Password checks, reservations and network calls: never inside a store transaction. */
  prepare?: () => Promise<P>;
  /** The local write, in one transaction together with the key's answer. */
  work: (trx: Tx, prepared: P) => Promise<unknown>;
  /**
   * `prepare` succeeded (the network may have acted) but `work` failed: undo or settle what the
   * network did. Never skipped: an error after the network acted must not leave it unrecorded.
   */
  compensate?: (prepared: P, err: unknown) => Promise<void>;
}

/**
 * The body as "the same request" for the Idempotency-Key: every `password` (supervisor approvals,
 * new operators' passwords) left out, at any depth, so the key's row never holds a fast, unsalted
 * hash of a body from which a short refund password could be guessed offline.
 */
export function withoutPasswords(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPasswords);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'password') out[k] = withoutPasswords(v);
  return out;
}

/**
 * Every mutating call goes through here: claim the Idempotency-Key first (a finished request is
 * replayed, a running one refused with 409), then `prepare`, then `work` in one transaction with
 * the key's answer; if `work` fails after `prepare`, `compensate` runs before the error is answered.
 */
export async function mutate<P>(
  ctx: Ctx,
  req: FastifyRequest,
  reply: FastifyReply,
  caller: Caller,
  opts: MutationSteps<P>,
) {
  const given = idempotencyKey(req);
  const key = given && opts.keyNamespace ? `${opts.keyNamespace}:${given}` : given;
  if (!key && opts.requireKey) {
    throw new DomainError(
      'idempotency_key_required',
      'send an Idempotency-Key header (a fresh random value per operation, the same value on retries)',
    );
  }
  // A route without a body schema reads no body: whatever was sent is not part of "the same
  // request", and is never hashed (it is unvalidated, so of any size and depth).
  const body = req.routeOptions.schema?.body
    ? withoutPasswords(opts.fingerprintBody ?? req.body ?? null)
    : null;
  const scope: IdempotencyScope | null = key
    ? {
        merchantId: caller.merchantId,
        key,
        fingerprint: { method: req.method, path: req.url.split('?')[0] ?? req.url, body },
      }
    : null;
  // Without a `prepare` there is nothing before the transaction to keep a duplicate from.
  if (opts.local ?? !opts.prepare) return mutateInOneTransaction(ctx, reply, caller, opts, scope);
  let claim: Claim | null = null;
  if (scope) {
    const claimed = await claimWhenFree(ctx, scope);
    if ('replayed' in claimed)
      return reply.code(claimed.statusCode).header('idempotent-replayed', 'true').send(claimed.body);
    claim = claimed;
  }
  const release = async () => {
    if (scope && claim) await releaseKey(ctx.store, scope, claim);
  };
  let prepared: P;
  try {
    prepared = (opts.prepare ? await opts.prepare() : undefined) as P;
  } catch (err) {
    await release();
    throw err;
  }
  try {
    const body = await ctx.store.group(caller.merchantId, async (trx) => {
      const answer = await opts.work(trx, prepared);
      if (scope && claim) await completeKey(trx, scope, claim, { statusCode: opts.status, body: answer });
      return answer;
    });
    return reply.code(opts.status).send(body);
  } catch (err) {
    if (opts.compensate) await opts.compensate(prepared, err);
    await release();
    throw err;
  }
}

/** `mutate` for `local` steps: key check, work and answer in one group-committed transaction. */
async function mutateInOneTransaction<P>(
  ctx: Ctx,
  reply: FastifyReply,
  caller: Caller,
  opts: MutationSteps<P>,
  scope: IdempotencyScope | null,
) {
  const replayed = (r: { statusCode: number; body: unknown }) =>
    reply.code(r.statusCode).header('idempotent-replayed', 'true').send(r.body);
  if (scope && opts.prepare) {
    // A retry of a finished request is answered before the password checks.
    const earlier = await findStoredResponse(ctx.store, scope);
    if (earlier) return replayed(earlier);
  }
  const prepared = (opts.prepare ? await opts.prepare() : undefined) as P;
  try {
    const batch = opts.batch ? keyedBatch(ctx, caller, opts, opts.batch, prepared, scope) : undefined;
    const body = await ctx.store.group(
      caller.merchantId,
      async (trx) => {
        let answer: unknown;
        try {
          answer = await opts.work(trx, prepared);
        } catch (err) {
          // A repeat of an answered request is refused by its own work (the money is already
          // reserved): the earlier answer is what the client must get. (A database error leaves a
          // PostgreSQL transaction unusable until its savepoint is rolled back: no check then.)
          if (scope && err instanceof DomainError) await checkKeyInTx(trx, scope);
          throw err;
        }
        // A repeat that the work accepted conflicts here: its work rolls back, the answer replays.
        if (scope) await recordKeyInTx(trx, scope, { statusCode: opts.status, body: answer }, ctx.clock());
        return answer;
      },
      batch,
    );
    return reply.code(opts.status).send(body);
  } catch (err) {
    if (err instanceof ReplayedAnswer) return replayed(err.answer);
    throw err;
  }
}

interface BatchInput {
  item: unknown;
  scope: IdempotencyScope | null;
}

/**
 * A batch of `local` requests with their keys: those whose key already has a row (a repeat, or a
 * request still running) or repeats one of the batch run alone, where their key decides; the
 * others are decided together and their answers recorded in one insert.
 */
function keyedBatch<P>(
  ctx: Ctx,
  caller: Caller,
  opts: MutationSteps<P>,
  spec: BatchSpec<P>,
  prepared: P,
  scope: IdempotencyScope | null,
): Batchable<BatchInput> {
  return {
    kind: `${spec.kind}:${caller.merchantId}`,
    input: { item: spec.item(prepared), scope },
    many: async (trx, inputs) => {
      const keys = inputs.flatMap((i) => (i.scope ? [i.scope.key] : []));
      const taken = await existingKeys(trx, caller.merchantId, keys);
      const seen = new Set<string>();
      const together = inputs.map((i) => {
        if (!i.scope) return true;
        const fresh = !taken.has(i.scope.key) && !seen.has(i.scope.key);
        seen.add(i.scope.key);
        return fresh;
      });
      const chosen = inputs.filter((_, k) => together[k]);
      const results = await spec.many(
        trx,
        chosen.map((i) => i.item),
      );
      const answers: { scope: IdempotencyScope; response: { statusCode: number; body: unknown } }[] = [];
      chosen.forEach((i, k) => {
        const r = results[k];
        if (i.scope && r?.ok)
          answers.push({ scope: i.scope, response: { statusCode: opts.status, body: r.value } });
      });
      await recordKeysInTx(trx, answers, ctx.clock());
      let next = 0;
      return inputs.map((_, k): BatchOutcome => {
        if (!together[k]) return { alone: true };
        return results[next++] ?? { alone: true };
      });
    },
  };
}

/** A list's page size: the one asked for (its schema bounds it), else the list's default. */
export function limitOf(q: { limit?: string | undefined }, fallback = 20): number {
  return q.limit ? Number(q.limit) : fallback;
}

/** The origin of links given to consumers: PUBLIC_URL, else the origin this request came to. */
export function linkOrigin(ctx: Ctx, req: FastifyRequest): string {
  if (ctx.publicUrl) return ctx.publicUrl.replace(/\/+$/, '');
  return `${req.protocol}://${req.host}`;
}
