import { type Static, Type } from 'typebox';
import type { ErrorCode } from '../../domain/errors.js';
import { problemTable } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * RFC 9457 problem+json, as `errors.ts` writes it. Open: a problem may carry facts of its own
 * (`attemptsLeft`, `lockedUntil`, `retryAfterSeconds`, `refundable`, …), and the serializer must
 * keep them.
 */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'https://refund-desk.dev/problems/<code>' }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    code: Type.String({ description: 'stable error code (see the response description for this status)' }),
    detail: Type.String({ description: 'what went wrong and what to do, in plain words' }),
    instance: Type.Optional(Type.String({ description: 'the request path' })),
    requestId: Type.Optional(Type.String({ description: 'also in the x-request-id header' })),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), message: Type.String() }), {
        description: 'validation_failed: which input failed and why',
      }),
    ),
  },
  { additionalProperties: true },
);
export type Problem = Static<typeof Problem>;

/** The one code the error handler answers that is not a domain error: an unexpected failure. */
export type ProblemCode = ErrorCode | 'internal_error';

const statusOf = (code: ProblemCode): number => (code === 'internal_error' ? 500 : problemTable[code].status);

export interface ProblemResponse {
  description: string;
  content: { [PROBLEM_CONTENT_TYPE]: { schema: typeof Problem } };
}

/**
 * The problem+json answers of a route, one per HTTP status, from the codes it can raise: the
 * status comes from `problemTable`, so a code's status is written in one place only.
 * Every route can also fail unexpectedly (500 internal_error).
 */
export function problems(...codes: ProblemCode[]): Record<number, ProblemResponse> {
  const byStatus = new Map<number, Set<ProblemCode>>();
  // Every route may be rate limited (429) or fail unexpectedly (500).
  for (const code of [...codes, 'rate_limited' as const, 'internal_error' as const]) {
    const status = statusOf(code);
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code));
  }
  return Object.fromEntries(
    [...byStatus].map(([status, set]) => [
      status,
      {
        description: `Problem (${PROBLEM_CONTENT_TYPE}), code: ${[...set].join(' | ')}`,
        content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } },
      },
    ]),
  );
}

/**
 * Fastify's own refusals of a request body, answered by the error handler as validation_failed
 * with their HTTP status: 413 body too large, 415 content type not JSON.
 */
export function bodyRefusals(): Record<number, ProblemResponse> {
  const refusal = (what: string): ProblemResponse => ({
    description: `Problem (${PROBLEM_CONTENT_TYPE}), code: validation_failed (${what})`,
    content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } },
  });
  return { 413: refusal('body too large'), 415: refusal('content type not accepted') };
}

/** Codes every call with a bearer token may answer. */
export const AUTHED: ProblemCode[] = ['unauthenticated'];

/**
 * Codes of every call made through `mutate` (http.ts): a malformed or reused Idempotency-Key,
 * or one whose first request is still running.
 */
export const MUTATION: ProblemCode[] = [
  'validation_failed',
  'idempotency_key_reused',
  'idempotency_key_in_use',
];
/** … and of those that refuse to run without a key. */
export const KEYED_MUTATION: ProblemCode[] = [...MUTATION, 'idempotency_key_required'];

/** Supervisor approvals (`verifyApprovals`): wrong password, locked, not a supervisor, same one twice. */
export const APPROVALS: ProblemCode[] = [
  'validation_failed',
  'supervisor_password_invalid',
  'supervisor_locked',
  'approver_not_authorised',
  'same_approver',
];

/** What creating a refund may refuse (`createRefund`): also an adjustment that lowers an amount. */
export const REFUND_CREATION: ProblemCode[] = [
  'validation_failed',
  'forbidden',
  'not_found',
  'conflicting_references',
  'operation_in_progress',
  'refunds_disabled',
  'reason_required',
  'reason_not_allowed',
  'method_not_allowed',
  'payment_not_completed',
  'refund_window_expired',
  'refund_exceeds_refundable',
  'refund_exceeds_limit',
  'daily_limit_exceeded',
  'fee_exceeds_amount',
  'insufficient_merchant_funds',
  'bank_details_mismatch',
];

/**
 * A route's answers, as given to `schema.response`: Fastify's type provider then checks each
 * handler's return value against them at compile time (the views' columns are typed unions).
 */
export function answers<T extends Record<number, unknown>>(responses: T): T {
  return responses;
}

/**
 * Answers of routes whose success body is not JSON (a voucher as text, HTML or ESC/POS bytes, an
 * empty 204): documented the same way, but not typed against the handler's return value.
 */
export function rawAnswers(responses: Record<number, unknown>): Record<number, unknown> {
  return responses;
}
