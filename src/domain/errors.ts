/**
 * Errors are values with stable codes. The HTTP layer maps each code to a status and a
 * problem+json body; the domain never knows about HTTP.
 */
export const errorCodes = [
  'validation_failed',
  'unauthenticated',
  'forbidden',
  'not_found',
  'refunds_disabled',
  'refund_exceeds_refundable',
  'refund_window_expired',
  'payment_not_completed',
  'reason_required',
  'reason_not_allowed',
  'method_not_allowed',
  'refund_exceeds_limit',
  'daily_limit_exceeded',
  'supervisor_password_invalid',
  'supervisor_locked',
  'same_approver',
  'approver_not_authorised',
  'void_not_allowed',
  'adjustment_amount_mismatch',
  'idempotency_key_reused',
  'idempotency_key_required',
  'insufficient_merchant_funds',
  'network_unavailable',
  'invalid_state_transition',
  'currency_mismatch',
  'duplicate_order',
  'session_password_invalid',
  'operator_locked',
  'office_not_allowed',
  'password_too_weak',
  'password_required',
  'operator_exists',
  'last_admin',
  'self_change_not_allowed',
  'idempotency_key_in_use',
  'operation_in_progress',
  'refund_at_network',
  'return_link_invalid',
  'return_link_expired',
  'return_link_used',
  'return_canceled',
  'return_not_open',
  'return_inspection_required',
  'tracking_link_invalid',
  'return_refused',
  'charge_needs_card',
  'fee_exceeds_amount',
  'conflicting_references',
  'rate_limited',
  'review_checklist_incomplete',
  'evidence_type_unsupported',
  'evidence_too_large',
  'evidence_limit',
  'bank_details_mismatch',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail: string, extra?: Record<string, unknown>) {
    super(`${code}: ${detail}`);
    this.name = 'DomainError';
    this.code = code;
    this.detail = detail;
    this.extra = extra;
  }
}

/** An invariant of the ledger was broken: a bug, never a user error. Fails loudly. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}
