import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';
import { sha256Hex } from '../security.js';
import { authenticate } from '../service/auth.js';
import type { Caller, Ctx } from '../service/context.js';
import type { Tx } from '../store/db.js';
import {
  findStoredResponse,
  type IdempotencyScope,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  runIdempotent,
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

/**
 * Every mutating call goes through here: replay a stored answer for a known key, otherwise run
 * `prepare` (password checks, network calls: never inside a store transaction) and then `work`
 * inside one transaction together with the key's record.
 */
export async function mutate<P>(
  ctx: Ctx,
  req: FastifyRequest,
  reply: FastifyReply,
  caller: Caller,
  opts: { status: number; prepare?: () => Promise<P>; work: (trx: Tx, prepared: P) => Promise<unknown> },
) {
  const key = idempotencyKey(req);
  const scope: IdempotencyScope | null = key
    ? {
        merchantId: caller.merchantId,
        key,
        fingerprint: { method: req.method, path: req.url.split('?')[0] ?? req.url, body: req.body ?? null },
      }
    : null;
  if (scope) {
    const stored = await findStoredResponse(ctx.store, scope);
    if (stored) return reply.code(stored.statusCode).header('idempotent-replayed', 'true').send(stored.body);
  }
  const prepared = (opts.prepare ? await opts.prepare() : undefined) as P;
  const result = await runIdempotent(ctx.store, scope, async (trx) => ({
    statusCode: opts.status,
    body: await opts.work(trx, prepared),
  }));
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(result.statusCode).send(result.body);
}

export function limitOf(q: { limit?: string | undefined }): number {
  return q.limit ? Number(q.limit) : 20;
}
