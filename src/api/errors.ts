import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode } from '../domain/errors.js';

/** One table from stable code to HTTP status and title: the only place HTTP meets domain errors. */
export const problemTable: Record<ErrorCode, { status: number; title: string }> = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  unauthenticated: { status: 401, title: 'Sign in first' },
  session_password_invalid: { status: 401, title: 'Operator number or password is wrong' },
  forbidden: { status: 403, title: 'Not allowed for this role' },
  not_found: { status: 404, title: 'Not found' },
  refunds_disabled: { status: 403, title: 'Refunds are switched off' },
  refund_exceeds_refundable: { status: 409, title: 'More than the refundable remainder' },
  refund_window_expired: { status: 422, title: 'The refund window has passed' },
  payment_not_completed: { status: 409, title: 'The original payment is not completed' },
  reason_required: { status: 422, title: 'A reason is required' },
  reason_not_allowed: { status: 422, title: 'This reason is not in use' },
  method_not_allowed: { status: 422, title: 'This refund method is not allowed' },
  refund_exceeds_limit: { status: 422, title: 'Over the per-refund limit' },
  daily_limit_exceeded: { status: 422, title: "Over today's refund limit" },
  supervisor_password_invalid: { status: 403, title: 'Supervisor password is wrong' },
  supervisor_locked: { status: 423, title: 'Supervisor is locked' },
  operator_locked: { status: 423, title: 'Operator is locked' },
  office_not_allowed: { status: 403, title: 'Cashiers sign in at a terminal' },
  password_too_weak: { status: 422, title: 'The password is too short for this role' },
  password_required: { status: 422, title: 'The new role needs a new password' },
  operator_exists: { status: 409, title: 'An operator with this number exists' },
  last_admin: { status: 409, title: "The merchant's last enabled admin" },
  self_change_not_allowed: { status: 409, title: 'Admins cannot disable or demote themselves' },
  same_approver: { status: 422, title: 'The second approval needs a different supervisor' },
  approver_not_authorised: { status: 403, title: 'This operator cannot approve refunds' },
  void_not_allowed: { status: 409, title: 'This payment can no longer be voided' },
  adjustment_amount_mismatch: { status: 409, title: 'The original amount does not match the order' },
  idempotency_key_reused: { status: 422, title: 'Idempotency-Key reused with another request' },
  idempotency_key_required: { status: 400, title: 'Idempotency-Key is required' },
  insufficient_merchant_funds: { status: 409, title: 'Not enough merchant funds' },
  network_unavailable: { status: 503, title: 'The payment network is unavailable' },
  invalid_state_transition: { status: 409, title: 'Not possible in the current state' },
  currency_mismatch: { status: 422, title: 'Currency does not match' },
  duplicate_order: { status: 409, title: 'This order already has a payment' },
  idempotency_key_in_use: { status: 409, title: 'A request with this Idempotency-Key is in progress' },
  operation_in_progress: { status: 409, title: 'Another operation on this order is in progress' },
  refund_at_network: { status: 409, title: 'The network may already hold this refund' },
  return_link_invalid: { status: 404, title: 'This return link is not valid' },
  return_link_expired: { status: 410, title: 'This return link has expired' },
  return_link_used: { status: 409, title: 'This return link has already been used' },
  return_canceled: { status: 410, title: 'The merchant withdrew this return' },
  return_not_open: { status: 409, title: 'The return is no longer open' },
  return_inspection_required: { status: 409, title: 'Inspect the returned goods first' },
  tracking_link_invalid: { status: 404, title: 'This status link is not valid' },
  return_refused: { status: 409, title: 'The shop cannot take this return now' },
  charge_needs_card: { status: 422, title: 'The difference cannot be charged to this card' },
  fee_exceeds_amount: { status: 422, title: 'The handling fee takes the whole refund' },
  conflicting_references: { status: 400, title: 'paymentId and orderNo name different payments' },
  rate_limited: { status: 429, title: 'Too many requests' },
  review_checklist_incomplete: { status: 422, title: 'The review checklist is missing or not passed' },
  evidence_type_unsupported: { status: 415, title: 'Photos are JPEG, PNG or WebP images' },
  evidence_too_large: { status: 413, title: 'The photo is too large' },
  evidence_limit: { status: 409, title: 'The refund has as many photos as it may keep' },
  bank_details_mismatch: { status: 422, title: 'The bank details typed twice do not match' },
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  requestId?: string;
  [extra: string]: unknown;
}

export function problem(code: ErrorCode, detail: string, extra?: Record<string, unknown>): Problem {
  const { status, title } = problemTable[code];
  return { type: `https://refund-desk.dev/problems/${code}`, title, status, code, detail, ...extra };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}

/** RFC 9457 problem+json for every error; unknown errors are logged and answered as 500. */
export function errorHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) {
  const base = { instance: req.url, requestId: String(req.id) };
  if (err instanceof DomainError) {
    return sendProblem(reply, { ...problem(err.code, err.detail, err.extra), ...base });
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const errors = fe.validation.map((v) => ({
      field: `${fe.validationContext ?? 'body'}${v.instancePath.replaceAll('/', '.')}`,
      message: v.message ?? 'invalid',
    }));
    return sendProblem(reply, { ...problem('validation_failed', fe.message, { errors }), ...base });
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors: malformed JSON, body too large, wrong content type.
    return sendProblem(reply, {
      ...problem('validation_failed', fe.message),
      ...base,
      status: fe.statusCode,
    });
  }
  req.log.error({ err }, 'unhandled error');
  return reply
    .code(500)
    .type('application/problem+json')
    .send({
      type: 'https://refund-desk.dev/problems/internal_error',
      title: 'Internal error',
      status: 500,
      code: 'internal_error',
      detail: 'Something went wrong on our side; nothing was changed. Try again.',
      ...base,
    });
}
