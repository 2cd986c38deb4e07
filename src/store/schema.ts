import type { Generated } from 'kysely';
import type { Role, SessionSurface } from '../domain/auth.js';
import type { EvidenceType } from '../domain/evidence.js';
import type { PaymentMethod } from '../domain/payment.js';
import type { ReasonCode, RefundMethod } from '../domain/policy.js';
import type { RefundStatus } from '../domain/refund-state.js';
import type { HoldRule } from '../domain/risk.js';
import type { LinkAttemptKind, LinkAttemptState } from '../network/journal.js';

/**
 * Table types, one interface per table. Both dialects store timestamps as ISO-8601 UTC text
 * (sortable, identical in SQLite and PostgreSQL), booleans as 0/1 and money as 64-bit integers.
 */
export interface MerchantTable {
  id: string;
  name: string;
  currency: string;
  available_funds_minor: number;
  policy_json: string;
  created_at: string;
}

export interface TerminalTable {
  id: string;
  merchant_id: string;
  name: string;
  batch_no: number;
  stan: Generated<number>;
  created_at: string;
}

export interface OperatorTable {
  id: string;
  merchant_id: string;
  operator_no: string;
  role: Role;
  name: string;
  password_hash: string;
  /** Sign-in lock. */
  failed_attempts: number;
  locked_until: string | null;
  /** Refund-password (approval) lock, apart from the sign-in lock. */
  approval_failed_attempts: number;
  approval_locked_until: string | null;
  created_at: string;
  /** Disabled by an admin (migration 0017): no sign-in, no approvals. Null: enabled. */
  disabled_at: string | null;
}

export interface SessionTable {
  token_hash: string;
  operator_id: string;
  merchant_id: string;
  /** '' for an office session: the column is NOT NULL since 0001 (see migration 0017). */
  terminal_id: string;
  expires_at: string;
  created_at: string;
  surface: Generated<SessionSurface>;
}

export interface ApiKeyTable {
  id: string;
  merchant_id: string;
  name: string;
  key_hash: string;
  created_at: string;
  revoked_at: string | null;
  /** Unset: the key does not expire. */
  expires_at: string | null;
  /** Updated at most once a minute. */
  last_used_at: string | null;
}

export interface PaymentTable {
  id: string;
  merchant_id: string;
  terminal_id: string | null;
  order_no: string;
  kind: 'sale' | 'charge';
  parent_payment_id: string | null;
  amount_minor: number;
  currency: string;
  method: PaymentMethod;
  fee_minor: number;
  card_bin: string | null;
  card_last4: string | null;
  card_token: string | null;
  voided: number;
  voided_at: string | null;
  settled: number;
  settlement_id: string | null;
  refunded_minor: number;
  in_flight_minor: number;
  network_reference: string | null;
  captured_at: string;
  created_at: string;
  updated_at: string;
}

export interface PaymentItemTable {
  payment_id: string;
  merchant_id: string;
  line_no: number;
  sku: string;
  name: string;
  qty: number;
  unit_amount_minor: number;
  refunded_qty: number;
}

export interface RefundTable {
  id: string;
  merchant_id: string;
  payment_id: string;
  order_no: string;
  terminal_id: string | null;
  amount_minor: number;
  fee_minor: number;
  net_amount_minor: number;
  merchant_fee_returned_minor: number;
  currency: string;
  reason_code: ReasonCode;
  reason_note: string | null;
  method: RefundMethod;
  status: RefundStatus;
  items_json: string;
  approvals_json: string;
  consumer_enc: string | null;
  consumer_masked_json: string | null;
  /**
   * Keyed hash of the consumer's phone for search (migration 0019, security.ts phoneSearchHash);
   * null without a phone. Optional in this type: rows written without it get null.
   */
  consumer_phone_hash?: string | null;
  delayed: number;
  expected_arrival: string;
  network_reference: string | null;
  response_code: string | null;
  created_by: string;
  settlement_id: string | null;
  created_day: string;
  created_at: string;
  updated_at: string;
  /** When the worker handed the refund to the network: from then on it cannot be canceled locally. */
  handed_off_at: string | null;
  /**
   * The risk rule that held the refund for review, and what it saw (migration 0018). Null (or left
   * out of an insert): not held.
   */
  hold_rule?: HoldRule | null;
  hold_detail?: string | null;
  /** The QR return the refund came from (migration 0021); null for any other refund. */
  return_id?: string | null;
  /** The consumer asked for status messages in this language (their contact is sealed above). */
  notify_lang?: 'zh-CN' | 'zh-TW' | 'en' | null;
  /** SHA-256 (hex) of the status link's capability, and the token key it was derived under. */
  tracking_hash?: string | null;
  tracking_key?: string | null;
}

/** A return QR the merchant showed (扫码退货, migration 0021). */
export interface ReturnTable {
  id: string;
  merchant_id: string;
  payment_id: string;
  order_no: string;
  terminal_id: string | null;
  /** `[{sku, name, qty, unitAmount, amount}]`: the lines as they were priced on the sale. */
  items_json: string;
  amount_minor: number;
  currency: string;
  status: 'open' | 'submitted' | 'canceled';
  expires_at: string;
  /** The token key the link was signed under. */
  token_key: string;
  refund_id: string | null;
  lang: 'zh-CN' | 'zh-TW' | 'en' | null;
  inspection: 'accepted' | 'rejected' | null;
  inspection_note: string | null;
  inspected_by: string | null;
  inspected_at: string | null;
  created_by: string;
  created_at: string;
  submitted_at: string | null;
  updated_at: string;
}

export interface RefundEventTable {
  id: Generated<number>;
  refund_id: string;
  merchant_id: string;
  from_status: RefundStatus | null;
  to_status: RefundStatus;
  actor: string;
  note: string | null;
  at: string;
  /** The review checklist (domain/review.ts) of the approval that made this move, JSON (migration 0018). */
  checklist_json?: string | null;
}

/** An evidence photo of a refund in review (migration 0018): the bytes themselves, bounded in size. */
export interface RefundEvidenceTable {
  id: string;
  merchant_id: string;
  refund_id: string;
  content_type: EvidenceType;
  size_bytes: number;
  sha256: string;
  data: Buffer;
  uploaded_by: string;
  created_at: string;
}

export interface AdjustmentTable {
  id: string;
  merchant_id: string;
  order_no: string;
  revision: number;
  original_amount_minor: number;
  new_amount_minor: number;
  difference_minor: number;
  refund_id: string | null;
  charge_payment_id: string | null;
  reason_code: ReasonCode;
  reason_note: string | null;
  created_by: string;
  created_at: string;
}

export interface IdempotencyTable {
  merchant_id: string;
  key: string;
  request_hash: string;
  status_code: number;
  response_json: string | null;
  created_at: string;
  /** Whose claim a running request (status 0) holds: only that request may record the answer. */
  claim_token: string | null;
}

export interface AuditTable {
  /** The chain the entry is linked into: its merchant's id, or SYSTEM_CHAIN when it has none. */
  chain_id: string;
  /** Position in its chain; entries of the closed pre-0013 chain keep their global number (≤ the anchor's). */
  seq: number;
  merchant_id: string | null;
  actor: string;
  action: string;
  entity: string;
  entity_id: string;
  data_json: string;
  at: string;
  prev_hash: string;
  hash: string;
}

/** One row per chain: its last entry, locked by every append to that chain only. */
export interface AuditHeadTable {
  chain_id: string;
  last_seq: number;
  last_hash: string;
}

/**
 * The one row where every chain starts (migration 0013): the head of the closed global chain that
 * came before (seq 0 and the zero hash on a store created since), and the first entry the
 * migration found broken in it, if any.
 */
export interface AuditAnchorTable {
  id: number;
  last_seq: number;
  last_hash: string;
  broken_seq: number | null;
}

export interface OutboxTable {
  id: string;
  kind: string;
  merchant_id: string | null;
  ref_id: string;
  payload_json: string;
  status: string;
  attempts: number;
  next_attempt_at: string;
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

/** The in-process acquirer's own books (its "other side" of the ledger). */
export interface AcqTransactionTable {
  reference: string;
  merchant_id: string;
  terminal_id: string | null;
  kind: string;
  request_id: string;
  original_reference: string | null;
  amount_minor: number;
  fee_minor: number;
  currency: string;
  status: string;
  response_code: string | null;
  due_at: string;
  batch_no: number | null;
  created_at: string;
}

export interface AcqAccountTable {
  merchant_id: string;
  balance_minor: number;
}

export interface SettlementTable {
  id: string;
  merchant_id: string;
  terminal_id: string;
  batch_no: number;
  totals_json: string;
  network_totals_json: string;
  balanced: number;
  created_by: string;
  created_at: string;
}

/** Running sum of a merchant's refunds per Shanghai day, for the daily cap in O(1). */
export interface MerchantDayTotalTable {
  merchant_id: string;
  day: string;
  amount_minor: number;
}

/** One request sent to the acquirer host over the card link, and what became of it. */
export interface LinkAttemptTable {
  id: string;
  /** The terminal's merchant (migration 0012). */
  merchant_id: string;
  kind: LinkAttemptKind;
  ref_id: string;
  terminal_id: string;
  stan: string;
  batch_no: string;
  request_json: string;
  /** sent → answered | unsent | reversing → reversed */
  state: LinkAttemptState;
  response_code: string | null;
  reference: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * A terminal's working MAC key as the acquirer sent it at sign-in (encrypted under the terminal
 * master key, hex) with its check value; `key_version` goes up by one per sign-in across all
 * processes. `signing_in_by`/`signing_in_until`: the process holding the sign-in lease.
 */
export interface LinkTerminalKeyTable {
  terminal_id: string;
  merchant_id: string;
  key_version: number;
  mac_key_under_tmk: string | null;
  mac_key_check: string | null;
  signed_in_at: string | null;
  signing_in_by: string | null;
  signing_in_until: string | null;
  updated_at: string;
}

/** One print of a refund's voucher; print_no 1 is the original, later ones are reprints. */
export interface ReceiptPrintTable {
  id: string;
  refund_id: string;
  merchant_id: string;
  print_no: number;
  format: string;
  width_mm: number;
  actor: string;
  printed_at: string;
}

/** A voucher sent to the consumer: the destination sealed (`seal`) and masked, never in clear. */
export interface ReceiptSendTable {
  id: string;
  refund_id: string;
  merchant_id: string;
  channel: 'email' | 'sms';
  destination_enc: string;
  destination_masked: string;
  /** SMS sends: keyed hash of the phone for search (migration 0019); null for e-mail. */
  destination_phone_hash?: string | null;
  status: 'queued' | 'sent' | 'failed';
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

/** One reconciliation run: the network's settlement file of a day against our ledger. */
export interface ReconciliationTable {
  id: string;
  merchant_id: string;
  /** The settlement day, YYYY-MM-DD (see settlementDayWindow in domain/reconcile.ts). */
  day: string;
  /** `upload` (CSV in the request), `network` (fetched from the settlement-file URL) or `file` (CLI). */
  source: 'upload' | 'network' | 'file';
  balanced: number;
  matched: number;
  mismatch_count: number;
  mismatches_json: string;
  /** `{count, rows:[{line, detail}]}`: every bad row counted, the first ones listed. */
  invalid_rows_json: string;
  totals_json: string;
  created_by: string;
  created_at: string;
}

/** One run of a workflow that crosses the network, reserved before the network is called. */
export interface OperationTable {
  id: string;
  merchant_id: string;
  kind: OperationKind;
  order_no: string;
  payment_id: string;
  status: OperationStatus;
  reference: string | null;
  payload_json: string;
  created_at: string;
  updated_at: string;
}

export type OperationKind = 'sale' | 'charge' | 'void' | 'adjustment';
/** reserved → applied | released; a network effect that could not be applied → compensating → compensated. */
export type OperationStatus = 'reserved' | 'applied' | 'released' | 'compensating' | 'compensated';

/** A password check in flight (see migration 0008). */
export interface AuthAttemptTable {
  id: string;
  operator_id: string;
  merchant_id: string;
  started_at: string;
  purpose: PasswordPurpose;
}

/** Which lock a password check counts against. */
export type PasswordPurpose = 'sign_in' | 'approval';

export interface Database {
  returns: ReturnTable;
  auth_attempts: AuthAttemptTable;
  operations: OperationTable;
  reconciliations: ReconciliationTable;
  link_attempts: LinkAttemptTable;
  link_terminal_keys: LinkTerminalKeyTable;
  merchant_day_totals: MerchantDayTotalTable;
  settlements: SettlementTable;
  merchants: MerchantTable;
  terminals: TerminalTable;
  operators: OperatorTable;
  sessions: SessionTable;
  api_keys: ApiKeyTable;
  payments: PaymentTable;
  payment_items: PaymentItemTable;
  refunds: RefundTable;
  refund_events: RefundEventTable;
  refund_evidence: RefundEvidenceTable;
  adjustments: AdjustmentTable;
  idempotency_keys: IdempotencyTable;
  audit_log: AuditTable;
  audit_head: AuditHeadTable;
  audit_anchor: AuditAnchorTable;
  outbox: OutboxTable;
  acq_transactions: AcqTransactionTable;
  acq_accounts: AcqAccountTable;
  receipt_prints: ReceiptPrintTable;
  receipt_sends: ReceiptSendTable;
}
