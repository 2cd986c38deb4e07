/**
 * The API's JSON as the web apps see it: types only, read from the server's own schemas
 * (src/api/schemas/responses.ts for answers, src/api/schemas.ts for request bodies), so a field
 * the API adds or renames reaches the web through the compiler instead of a hand-kept copy.
 * Every server import here is `import type`: no server code reaches the bundle.
 */
import type { Static } from 'typebox';
import type * as V from '../../api/schemas/responses.js';
import type { Approvals, Reason as ReasonSchema } from '../../api/schemas.js';
import type { OutcomeLanguage } from '../../domain/outcomes.js';

export type Lang = OutcomeLanguage;
export type Localized = Static<typeof V.Localized>;
export type Outcome = Static<typeof V.OutcomeView>;

export type Payment = Static<typeof V.PaymentView>;
export type LineItem = Payment['items'][number];
export type PaymentMethod = Payment['method'];
export type PaymentStatus = Payment['status'];

export type Refund = Static<typeof V.RefundView>;
export type RefundStatus = Refund['status'];
export type RefundMethod = Refund['method'];
export type RefundEvent = Static<typeof V.RefundEventList>['data'][number];

/** A page of a cursor list (`?cursor=` … `nextCursor`), newest first. */
export type Page<T> = Omit<Static<typeof V.PaymentPage>, 'data'> & { data: T[] };

export type Order = Static<typeof V.OrderView>;
/** One thing that happened to an order (its `timeline`, oldest first). */
export type TimelineEntry = Order['timeline'][number];
export type Adjustment = Static<typeof V.AdjustmentView>;
export type Bucket = Static<typeof V.Bucket>;
export type Settlement = Static<typeof V.SettlementView>;
export type Policy = Static<typeof V.PolicyView>;
export type Session = Static<typeof V.SessionView>;
export type Caller = Static<typeof V.CallerView>;
export type Health = Static<typeof V.HealthView>;
export type OperatorInfo = Static<typeof V.OperatorView>;

export type Reason = Static<typeof ReasonSchema>;
export type ReasonCode = Reason['code'];
export type Approval = Static<typeof Approvals>[number];

/**
 * A list the bundle needs at run time of a union the API defines (reason codes for a picker):
 * compiles only when it names every value of the union, and no other.
 */
export const everyValueOf =
  <T extends string>() =>
  <const L extends readonly T[]>(
    list: L,
    // A value left out makes this a required argument, and the error names the missing value.
    ..._complete: [Exclude<T, L[number]>] extends [never] ? [] : [missing: Exclude<T, L[number]>]
  ): L =>
    list;

export type RefundReport = Static<typeof V.RefundReportView>;
export type ReportDay = RefundReport['days'][number];
export type ReportBucket = RefundReport['byReason'][number];
export type WorkReport = Static<typeof V.WorkReportView>;
export type AuditEntry = Static<typeof V.AuditPage>['data'][number];
export type AuditVerify = Static<typeof V.AuditVerifyView>;

export type ApiKeyInfo = Static<typeof V.ApiKeyInfo>;
/** A new API key: `key` is the secret, shown once. */
export type ApiKeyCreated = Static<typeof V.ApiKeyView>;
export type ReconciliationSummary = Static<typeof V.ReconciliationSummary>;
export type Reconciliation = Static<typeof V.ReconciliationView>;
export type Mismatch = Reconciliation['mismatches'][number];

/** A return QR (扫码退货) as the merchant sees it; `ReturnCreated` adds the link and its QR. */
export type ReturnInfo = Static<typeof V.ReturnView>;
export type ReturnStatus = ReturnInfo['status'];
export type ReturnLineInfo = ReturnInfo['items'][number];
export type ReturnCreated = Static<typeof V.ReturnCreated>;
/** A refund's status link for its consumer and its QR (base64 PNG). */
export type TrackingLink = Static<typeof V.TrackingLink>;
/** What the consumer's return page shows (GET /v1/consumer/returns/:token). */
export type ConsumerReturn = Static<typeof V.ConsumerReturnView>;
export type ReturnSubmitted = Static<typeof V.ReturnSubmitted>;
/** A refund as its status link shows it (GET /v1/track/:token). */
export type Tracking = Static<typeof V.TrackingView>;
export type TrackingStage = Tracking['stage'];
