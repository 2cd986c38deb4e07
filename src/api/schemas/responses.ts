import { type TSchema, Type } from 'typebox';
import { type Principal, roles, sessionSurfaces } from '../../domain/auth.js';
import { evidenceTypes } from '../../domain/evidence.js';
import { outcomeLanguages } from '../../domain/outcomes.js';
import { type PaymentStatus, paymentMethods } from '../../domain/payment.js';
import { reasonCodes, refundMethods } from '../../domain/policy.js';
import { adviceCodes, mismatchKinds, networkKinds, networkStatuses } from '../../domain/reconcile.js';
import { refundStatuses } from '../../domain/refund-state.js';
import { trackingStages } from '../../domain/returns.js';
import { goodsConditions } from '../../domain/review.js';
import { holdRules } from '../../domain/risk.js';
import {
  MAX_TIMELINE_ENTRIES,
  networkMessageTypes,
  timelineKinds,
  timelineTitles,
} from '../../domain/timeline.js';

/**
 * Response schemas: what every answer of REST API v1 looks like (PRODUCT.md §9). They document the
 * answers in /openapi.json and drive Fastify's serializer, which writes ONLY the properties named
 * here: a field a view gains must be added here too (test/api/openapi.test.ts checks the views'
 * keys against these schemas at compile time). The web terminal reads its types from here.
 *
 * Enumerations are `enum` (not `anyOf` of literals): the serializer writes them without a
 * per-value validation, and an unexpected value is written as it is rather than answered as a 500.
 */
const oneOf = <const T extends readonly string[]>(values: T, description?: string) =>
  Type.Enum([...values] as T[number][], { type: 'string', ...(description ? { description } : {}) });
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

// The domain has these as types only; `satisfies` keeps the lists to them.
const paymentStatuses = [
  'captured',
  'voided',
  'refunded',
  'partially_refunded',
] as const satisfies readonly PaymentStatus[];
const principals = [...roles, 'merchant_system'] as const satisfies readonly Principal[];

const Minor = Type.Integer({ description: 'minor units (fen)' });
const Count = Type.Integer({ minimum: 0 });
const Time = Type.String({ format: 'date-time', description: 'ISO-8601 UTC' });

export const Localized = Type.Object(
  Object.fromEntries(outcomeLanguages.map((l) => [l, Type.String()])) as Record<
    (typeof outcomeLanguages)[number],
    ReturnType<typeof Type.String>
  >,
);

/** A network response code (or the pseudo-code `delayed`) in plain words, with what to do. */
export const OutcomeView = Type.Object(
  {
    code: Type.String(),
    kind: oneOf(['success', 'failure', 'delay'] as const),
    message: Localized,
    fix: Localized,
  },
  { description: 'A response code in plain words, with what to do' },
);

export const LineItemView = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  qty: Count,
  unitAmount: Minor,
  refundedQty: Count,
  heldQty: Type.Integer({
    minimum: 0,
    description: "units held by open return QRs (扫码退货): not refunded, not refundable while they're open",
  }),
});

export const PaymentView = Type.Object(
  {
    id: Type.String(),
    orderNo: Type.String(),
    kind: oneOf(['sale', 'charge'] as const, 'sale, or a charge that raised the order amount'),
    parentPaymentId: nullable(Type.String({ description: 'for a charge: the sale it belongs to' })),
    amount: Minor,
    currency: Type.String({ description: 'ISO 4217' }),
    method: oneOf(paymentMethods),
    status: oneOf(paymentStatuses),
    refundedAmount: Minor,
    inFlightAmount: Type.Integer({ description: 'refunds requested, under review, approved or processing' }),
    heldAmount: Type.Integer({
      description: 'held by open return QRs (扫码退货) until they are submitted, withdrawn or expire',
    }),
    refundableAmount: Type.Integer({
      description: 'what can still be refunded now: amount − refunded − in flight − held',
    }),
    fee: Type.Integer({ description: 'acquirer fee (MDR) on the sale, minor units' }),
    settled: Type.Boolean(),
    terminalId: nullable(Type.String()),
    network: Type.Object({ reference: nullable(Type.String({ description: 'RRN' })) }),
    card: Type.Optional(Type.Object({ last4: Type.String(), bin: nullable(Type.String()) })),
    items: Type.Array(LineItemView),
    capturedAt: Time,
    voidedAt: nullable(Time),
    createdAt: Time,
    updatedAt: Time,
  },
  { description: "A payment (sale, or a charge raising an order's amount)" },
);

export const RefundView = Type.Object(
  {
    id: Type.String(),
    paymentId: Type.String(),
    orderNo: Type.String(),
    amount: Minor,
    fee: Type.Integer({ description: 'handling fee charged to the consumer, minor units' }),
    netAmount: Type.Integer({ description: 'what reaches the consumer: amount − fee' }),
    merchantFeeReturned: Type.Integer({ description: 'acquirer fee returned to the merchant, minor units' }),
    currency: Type.String(),
    reason: Type.Object({ code: oneOf(reasonCodes), note: nullable(Type.String()) }),
    method: oneOf(refundMethods),
    status: oneOf(refundStatuses),
    items: Type.Array(Type.Object({ sku: Type.String(), qty: Count, amountMinor: Minor })),
    approvals: Type.Array(Type.Object({ operatorNo: Type.String(), at: Time })),
    consumer: nullable(
      Type.Object(
        {
          name: Type.Optional(Type.String()),
          phone: Type.Optional(Type.String()),
          email: Type.Optional(Type.String()),
          bankAccount: Type.Optional(Type.String()),
        },
        { description: 'masked contact details', additionalProperties: Type.String() },
      ),
    ),
    delayed: Type.Boolean({ description: 'past its processing SLA without an answer (退款延迟)' }),
    expectedArrival: Type.String({ description: 'YYYY-MM-DD the money should reach the consumer' }),
    network: Type.Object({
      reference: nullable(Type.String()),
      responseCode: nullable(Type.String()),
      outcome: nullable(OutcomeView),
    }),
    terminalId: nullable(Type.String()),
    createdBy: Type.String(),
    createdAt: Time,
    updatedAt: Time,
    hold: nullable(
      Type.Object(
        { rule: oneOf(holdRules), detail: Type.String() },
        {
          description:
            'the risk rule of the policy that held the refund for review (created requested, counter approvals kept), or null',
        },
      ),
    ),
    returnId: nullable(
      Type.String({ description: 'the QR return (扫码退货) the refund came from, or null' }),
    ),
    nextStep: Type.Optional(
      Type.Object(
        {
          code: oneOf(['approval_required', 'second_approval_required', 'review_required'] as const),
          approvalsRequired: Count,
          approvalsGiven: Count,
          detail: Type.String(),
        },
        { description: 'present while the refund waits for approvals: who must do what' },
      ),
    ),
  },
  { description: 'A refund' },
);

const page = <T extends TSchema>(item: T, description: string) =>
  Type.Object(
    {
      data: Type.Array(item),
      hasMore: Type.Boolean(),
      nextCursor: nullable(Type.String({ description: 'pass as ?cursor= for the next page' })),
    },
    { description: `${description}, newest first, one page` },
  );
const list = <T extends TSchema>(item: T, description: string) =>
  Type.Object({ data: Type.Array(item) }, { description });

export const PaymentPage = page(PaymentView, 'Payments');
export const RefundPage = page(RefundView, 'Refunds');

/** The reviewer's checklist kept with an approval (domain/review.ts). */
export const ReviewChecklistView = Type.Object(
  {
    voucherMatches: Type.Boolean(),
    amountMatches: Type.Boolean(),
    goodsCondition: oneOf(goodsConditions),
    note: Type.Optional(Type.String()),
  },
  { description: 'the review checklist of the approval that made this move' },
);

export const RefundEventList = list(
  Type.Object({
    from: nullable(oneOf(refundStatuses)),
    to: oneOf(refundStatuses),
    actor: Type.String(),
    note: nullable(Type.String()),
    at: Time,
    checklist: nullable(ReviewChecklistView),
  }),
  "A refund's status changes, oldest first",
);

export const AdjustmentView = Type.Object(
  {
    id: Type.String(),
    orderNo: Type.String(),
    revision: Count,
    originalAmount: Minor,
    newAmount: Minor,
    difference: Type.Integer({ description: 'newAmount − originalAmount: < 0 refunds, > 0 charges' }),
    refund: Type.Optional(RefundView),
    charge: Type.Optional(PaymentView),
    createdAt: Time,
  },
  { description: 'An amount adjustment with the refund or charge it made' },
);

const TimelineNetworkView = Type.Object(
  {
    messageType: oneOf(networkMessageTypes, 'the request the message belongs to'),
    direction: Type.Optional(oneOf(['out', 'in'] as const, 'out: we sent it; in: the answer')),
    mti: Type.Optional(
      Type.String({ description: 'ISO 8583 message type (0200, 0210, 0220, 0230, 0400, 0410)' }),
    ),
    stan: Type.Optional(Type.String({ description: "field 11, the terminal's trace number" })),
    terminalId: Type.Optional(Type.String()),
    responseCode: Type.Optional(Type.String({ description: 'field 39' })),
    responseText: Type.Optional(
      Type.Object(Localized.properties, {
        description: 'the response code in words (as GET /v1/response-codes/:code)',
      }),
    ),
    reference: Type.Optional(Type.String({ description: 'field 37 (RRN)' })),
  },
  { description: 'a message exchanged with the network, or its answer as the refund recorded it' },
);

export const TimelineEntryView = Type.Object(
  {
    at: Time,
    kind: oneOf(timelineKinds),
    title: oneOf(
      timelineTitles,
      'what happened, as a stable code for the page to translate (refund.approved, network.refund.declined …)',
    ),
    actor: Type.Optional(
      Type.String({ description: 'op:<operatorNo>, key:<id>, worker, network, consumer …' }),
    ),
    amount: Type.Optional(Minor),
    currency: Type.Optional(Type.String()),
    paymentId: Type.Optional(Type.String()),
    refundId: Type.Optional(Type.String()),
    adjustmentId: Type.Optional(Type.String()),
    status: Type.Optional(
      Type.String({
        description:
          'sale/charge: captured; void: voided; refund: its status when created; refund_status: the new status; ' +
          'network/reversal: the attempt state (sent, answered, unsent, reversing, reversed); notification: queued, sent, failed',
      }),
    ),
    method: Type.Optional(Type.String({ description: 'sale/charge: payment method; refund: refund method' })),
    reason: Type.Optional(Type.Object({ code: Type.String(), note: nullable(Type.String()) })),
    note: Type.Optional(Type.String({ description: 'refund_status: the note given with the change' })),
    fromStatus: Type.Optional(Type.String({ description: 'refund_status: the status it left' })),
    network: Type.Optional(TimelineNetworkView),
    notification: Type.Optional(
      Type.Object({
        channel: oneOf(['email', 'sms'] as const),
        destination: Type.String({ description: 'masked' }),
        attempts: Count,
      }),
    ),
    receipt: Type.Optional(
      Type.Object({
        printNo: Type.Integer({ description: '1: the original, later: reprints' }),
        format: Type.String(),
      }),
    ),
    adjustment: Type.Optional(
      Type.Object({ revision: Count, originalAmount: Minor, newAmount: Minor, difference: Type.Integer() }),
    ),
  },
  { description: 'One thing that happened to an order; which optional fields are present depends on `kind`' },
);

export const OrderView = Type.Object(
  {
    orderNo: Type.String(),
    currentAmount: Minor,
    currency: Type.String(),
    inFlightRefunds: Count,
    payments: Type.Array(PaymentView),
    refunds: Type.Array(RefundView),
    revisions: Type.Array(
      Type.Object({
        id: Type.String(),
        revision: Count,
        originalAmount: Minor,
        newAmount: Minor,
        difference: Type.Integer(),
        refundId: nullable(Type.String()),
        chargePaymentId: nullable(Type.String()),
        reason: Type.Object({ code: oneOf(reasonCodes), note: nullable(Type.String()) }),
        createdBy: Type.String(),
        createdAt: Time,
      }),
    ),
    timeline: Type.Array(TimelineEntryView, {
      description: `everything that happened to the order, oldest first (at most ${MAX_TIMELINE_ENTRIES})`,
    }),
    timelineTruncated: Type.Boolean({
      description: `the order has more than ${MAX_TIMELINE_ENTRIES} entries: the oldest are shown`,
    }),
  },
  { description: 'An order with its payments, refunds, revisions and timeline' },
);

export const Bucket = Type.Object({ count: Count, amount: Minor });
const Buckets = Type.Object({ sales: Bucket, voids: Bucket, refunds: Bucket });

export const SettlementView = Type.Object(
  {
    id: Type.String(),
    terminalId: Type.String(),
    batchNo: Type.Integer(),
    totals: Type.Object(
      { sales: Bucket, voids: Bucket, refunds: Bucket, cash: Bucket },
      { description: 'the whole batch as the ledger has it, cash included' },
    ),
    reconciliation: Type.Object({
      balanced: Type.Boolean(),
      local: nullable(
        Type.Object(Buckets.properties, {
          description:
            'our side as sent to the network (card and QR); null only for an unbalanced batch closed before this was kept',
        }),
      ),
      network: Buckets,
      differences: Type.Array(
        Type.Object({
          bucket: oneOf(['sales', 'voids', 'refunds'] as const),
          local: Bucket,
          network: Bucket,
        }),
      ),
    }),
    createdBy: Type.String({ description: 'who closed the batch (op:<operatorNo>)' }),
    createdAt: Time,
  },
  { description: 'A closed batch with its totals and the reconciliation with the network' },
);
export const SettlementPage = page(SettlementView, 'Closed batches');

const Days = Type.Integer({ minimum: 0 });
export const PolicyView = Type.Object(
  {
    refundsEnabled: Type.Boolean(),
    refundWindowDays: Type.Object({ card: Days, qr: Days, cash: Days }),
    maxRefundAmount: Minor,
    dailyRefundLimit: Minor,
    largeRefundThreshold: Minor,
    feeRule: Type.Object({ originalFee: oneOf(['prorata', 'kept'] as const), handlingFee: Minor }),
    methods: Type.Array(oneOf(refundMethods)),
    reasons: Type.Array(oneOf(reasonCodes)),
    arrivalBusinessDays: Type.Object({ card: Days, qr: Days, cash: Days, bank_transfer: Days }),
    lockout: Type.Object({ maxAttempts: Type.Integer(), minutes: Type.Integer() }),
    riskRules: Type.Object(
      {
        operatorRefundsPerHour: nullable(Type.Integer()),
        cardRefundsPerDay: nullable(Type.Integer()),
        shareOfDaySalesPercent: nullable(Type.Integer()),
      },
      { description: 'rules that hold a refund for review even with valid counter approvals; null: off' },
    ),
    returnLinkMinutes: Type.Integer({ description: 'how long a return QR link works' }),
    returnPolicyText: Type.String({ description: 'shown to the consumer on the return page' }),
  },
  { description: "The merchant's refund policy" },
);

export const EvidenceView = Type.Object(
  {
    id: Type.String(),
    refundId: Type.String(),
    contentType: oneOf(evidenceTypes),
    bytes: Type.Integer({ minimum: 1, description: 'size of the photo' }),
    sha256: Type.String({ description: "hex SHA-256 of the photo's bytes" }),
    uploadedBy: Type.String(),
    at: Time,
  },
  { description: 'An evidence photo of a refund in review (its bytes: GET …/evidence/{evidenceId})' },
);
export const EvidenceList = list(EvidenceView, "A refund's evidence photos, oldest first");

const ReportBucket = Type.Object({ key: Type.String(), count: Count, amount: Minor });
const RateBp = nullable(
  Type.Integer({
    minimum: 0,
    description: 'refund amount ÷ sales amount in basis points (1/100 %), rounded down',
  }),
);
export const RefundReportView = Type.Object(
  {
    timeZone: Type.String(),
    from: Type.String(),
    to: Type.String(),
    currency: Type.String(),
    days: Type.Array(
      Type.Object({
        day: Type.String(),
        salesCount: Count,
        salesAmount: Minor,
        refundCount: Count,
        refundAmount: Minor,
        refundRateBp: RateBp,
      }),
    ),
    byReason: Type.Array(ReportBucket),
    byOperator: Type.Array(ReportBucket),
    byMethod: Type.Array(ReportBucket),
    totals: Type.Object({
      salesCount: Count,
      salesAmount: Minor,
      refundCount: Count,
      refundAmount: Minor,
      refundRateBp: RateBp,
    }),
  },
  {
    description:
      'Refunds that took or are taking money back (not rejected, canceled or failed, as they stand now) and voided-excluded sales, per merchant day',
  },
);
export const WorkReportView = Type.Object(
  {
    queue: Type.Object({
      requested: Count,
      underReview: Count,
      oldestCreatedAt: nullable(Time),
    }),
    delayed: Count,
    failedToday: Count,
    deadOutbox: Count,
  },
  { description: 'The work waiting for people' },
);

export const AuditVerifyView = Type.Object(
  {
    ok: Type.Boolean(),
    entries: Count,
    firstBrokenSeq: Type.Optional(Type.Integer({ description: 'present when ok is false' })),
  },
  { description: 'The audit hash chain, recomputed' },
);

export const AuditPage = page(
  Type.Object({
    seq: Type.Integer(),
    merchant_id: nullable(Type.String()),
    actor: Type.String(),
    action: Type.String(),
    entity: Type.String(),
    entity_id: Type.String(),
    data: Type.Object({}, { additionalProperties: true, description: "the entry's facts; open per action" }),
    at: Time,
    prev_hash: Type.String(),
    hash: Type.String(),
  }),
  'Audit entries of the merchant (its own chain)',
);

export const DeadOutboxList = list(
  Type.Object({
    id: Type.String(),
    kind: Type.String(),
    refId: Type.String(),
    attempts: Count,
    lastError: nullable(Type.String()),
    createdAt: Time,
    diedAt: Time,
  }),
  'Outbox work that exhausted its retries, newest first',
);

// Open: what an adapter can say about its link (sign-in, key version, last answer) differs by network.
export const HealthView = Type.Object(
  {
    store: oneOf(['ok', 'down'] as const),
    network: oneOf(['up', 'down'] as const),
    link: oneOf(['up', 'degraded', 'down'] as const),
    networkAdapter: Type.String(),
    outboxPending: nullable(Count),
    outboxDead: nullable(Count),
  },
  { additionalProperties: true, description: 'Store and network link status' },
);

export const SessionView = Type.Object(
  {
    token: Type.String(),
    operator: Type.Object({ no: Type.String(), role: oneOf(roles), name: Type.String() }),
    surface: oneOf(sessionSurfaces, 'terminal: at a till; office: the back office (no terminal)'),
    terminalId: nullable(Type.String()),
    merchantId: Type.String(),
    expiresAt: Time,
  },
  { description: 'A session: its bearer token and operator' },
);

export const CallerView = Type.Object(
  {
    merchantId: Type.String(),
    merchant: Type.Object({
      id: Type.String(),
      name: Type.String(),
      timeZone: Type.String({ description: 'IANA time zone of the merchant day, e.g. Asia/Shanghai' }),
    }),
    surface: oneOf(
      [...sessionSurfaces, 'api_key'] as const,
      'an operator session at a terminal or in the back office, or a merchant API key',
    ),
    terminalId: nullable(Type.String()),
    operator: nullable(Type.Object({ no: Type.String(), role: oneOf(principals), name: Type.String() })),
  },
  { description: 'Who the bearer token belongs to' },
);

export const ApiKeyView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    key: Type.String({ description: 'shown once: only its hash is stored' }),
    createdAt: Time,
    expiresAt: nullable(Time),
  },
  { description: 'A new API key' },
);

export const ApiKeyInfo = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    createdAt: Time,
    expiresAt: nullable(Time),
    lastUsedAt: nullable(Time),
    revokedAt: nullable(Time),
  },
  { description: 'An API key as listed: never the key itself' },
);

export const ApiKeyList = Type.Object(
  { data: Type.Array(ApiKeyInfo) },
  { description: "The merchant's API keys" },
);

export const OperatorView = Type.Object(
  {
    operatorNo: Type.String(),
    role: oneOf(roles),
    name: Type.String(),
    signInLockedUntil: nullable(Time),
    approvalLockedUntil: nullable(Time),
    disabled: Type.Boolean({ description: 'a disabled operator can neither sign in nor approve' }),
    disabledAt: nullable(Time),
  },
  {
    description:
      'An operator of the merchant, with the locks in force now (null: not locked); never a password',
  },
);

export const OperatorList = Type.Object(
  { data: Type.Array(OperatorView) },
  { description: "The merchant's operators, by number" },
);

const ReceiptChannel = oneOf(['email', 'sms'] as const);
const ReceiptSendStatus = oneOf(['queued', 'sent', 'failed'] as const);
export const ReceiptSendsQueued = list(
  Type.Object({
    id: Type.String(),
    channel: ReceiptChannel,
    destination: Type.String({ description: 'masked' }),
    status: ReceiptSendStatus,
  }),
  'The sends queued, one per channel',
);
export const ReceiptSendList = list(
  Type.Object({
    id: Type.String(),
    channel: ReceiptChannel,
    destination: Type.String({ description: 'masked' }),
    status: ReceiptSendStatus,
    attempts: Count,
    createdAt: Time,
    sentAt: nullable(Time),
  }),
  "The voucher's sends to the consumer",
);

const Tally = Bucket;
const ReconciliationSummaryFields = {
  id: Type.String(),
  day: Type.String({ description: 'settlement day YYYY-MM-DD' }),
  source: oneOf(['upload', 'network', 'file'] as const),
  balanced: Type.Boolean(),
  matched: Count,
  mismatchCount: Count,
  invalidRowCount: Count,
  totals: Type.Object({
    rows: Count,
    network: Type.Object({ sales: Tally, voids: Tally, refunds: Tally, reversed: Tally }),
    ledger: Type.Object({ sales: Tally, voids: Tally, refunds: Tally }),
  }),
  createdBy: Type.String(),
  createdAt: Time,
};
export const ReconciliationSummary = Type.Object(ReconciliationSummaryFields);
export const ReconciliationPage = page(ReconciliationSummary, 'Reconciliation runs');
export const ReconciliationView = Type.Object(
  {
    ...ReconciliationSummaryFields,
    mismatches: Type.Array(
      Type.Object({
        kind: oneOf(mismatchKinds),
        reference: Type.String(),
        detail: Type.String(),
        advice: Type.Object(
          { code: oneOf(adviceCodes), text: Localized },
          { description: 'what the merchant should do about this mismatch' },
        ),
        duplicateOfLine: Type.Optional(
          Type.Integer({ description: 'missing_in_ledger: the network booked it again; its first line' }),
        ),
        networkRow: Type.Optional(
          Type.Object({
            line: Type.Integer(),
            rrn: Type.String(),
            terminalId: Type.String(),
            stan: Type.String(),
            batchNo: Type.String(),
            kind: oneOf(networkKinds),
            amount: Minor,
            currency: Type.String(),
            originalRrn: nullable(Type.String()),
            status: oneOf(networkStatuses),
            responseCode: Type.String(),
            createdAt: Type.String(),
          }),
        ),
        ledgerRow: Type.Optional(
          Type.Object({
            kind: oneOf(networkKinds),
            reference: nullable(Type.String()),
            originalReference: nullable(Type.String()),
            amount: Minor,
            currency: Type.String(),
            status: Type.String(),
            paymentId: Type.String(),
            refundId: nullable(Type.String()),
            at: Time,
          }),
        ),
      }),
    ),
    invalidRows: Type.Array(Type.Object({ line: Type.Integer(), detail: Type.String() })),
  },
  { description: 'A reconciliation run with its mismatches and bad rows' },
);

export const OutcomeList = list(OutcomeView, 'Every response code in plain words');

const ReturnLineView = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  qty: Count,
  unitAmount: Minor,
  amount: Minor,
});

export const ReturnView = Type.Object(
  {
    id: Type.String(),
    orderNo: Type.String(),
    paymentId: Type.String(),
    terminalId: nullable(Type.String()),
    items: Type.Array(ReturnLineView),
    amount: Minor,
    currency: Type.String(),
    status: oneOf(
      ['open', 'expired', 'submitted', 'canceled'] as const,
      'open: the QR works; expired: it was not used in time (its lines are free again); submitted: the consumer sent it (refundId); canceled: withdrawn',
    ),
    expiresAt: Time,
    refundId: nullable(Type.String()),
    inspection: nullable(
      Type.Object({
        result: oneOf(['accepted', 'rejected'] as const),
        note: nullable(Type.String()),
        by: Type.String(),
        at: Time,
      }),
    ),
    createdBy: Type.String(),
    createdAt: Time,
    submittedAt: nullable(Time),
  },
  { description: 'A return QR (扫码退货) and what became of it' },
);

export const ReturnCreated = Type.Object(
  {
    ...ReturnView.properties,
    url: Type.String({ description: "the consumer's return page; the QR encodes exactly this" }),
    qrPng: Type.String({ description: 'the QR of `url` as a PNG image, base64 (no data: prefix)' }),
  },
  { description: 'The return QR to show the consumer' },
);

export const ReturnList = Type.Object(
  { data: Type.Array(ReturnView) },
  { description: 'Return QRs, newest first' },
);

export const ConsumerReturnView = Type.Object(
  {
    merchant: Type.Object({ name: Type.String() }),
    orderNo: Type.String(),
    paidAt: Time,
    route: Type.Object({
      method: oneOf(paymentMethods),
      last4: nullable(Type.String({ description: 'the card the money goes back to' })),
    }),
    items: Type.Array(ReturnLineView),
    amount: Minor,
    fee: Type.Integer({ description: "the policy's handling fee kept from the refund (fen)" }),
    netAmount: Type.Integer({ description: 'what reaches the consumer: amount − fee (fen)' }),
    currency: Type.String(),
    policyText: Type.String({ description: "the merchant's return policy" }),
    reasons: Type.Array(oneOf(reasonCodes)),
    expiresAt: Time,
  },
  { description: 'What the consumer checks before submitting a return' },
);

export const ReturnSubmitted = Type.Object(
  {
    returnId: Type.String(),
    refundId: Type.String(),
    trackingUrl: Type.String({ description: 'the status page of the refund' }),
  },
  { description: 'The submitted return and where to follow its refund' },
);

export const TrackingView = Type.Object(
  {
    refundId: Type.String({ description: 'the refund number' }),
    merchant: Type.Object({ name: Type.String() }),
    orderNo: Type.String(),
    stage: oneOf(
      trackingStages,
      'submitted 已提交 → reviewing 商家审核 → processing 退款处理中 → refunded 已退款; or rejected 已拒绝, failed 退款失败, canceled 已取消',
    ),
    amount: Minor,
    netAmount: Minor,
    currency: Type.String(),
    route: Type.Object({
      method: oneOf(refundMethods),
      paymentMethod: oneOf(paymentMethods),
      last4: nullable(Type.String()),
    }),
    items: Type.Array(Type.Object({ sku: Type.String(), name: Type.String(), qty: Count, amount: Minor })),
    expectedArrival: nullable(
      Type.String({
        description: 'YYYY-MM-DD from the business-day calendar; null once refunded or stopped',
      }),
    ),
    networkReference: nullable(
      Type.String({ description: "the network's reference the consumer's bank can trace" }),
    ),
    note: nullable(Type.String({ description: "the merchant's reason when rejected" })),
    history: Type.Array(Type.Object({ stage: oneOf(trackingStages), at: Time })),
    createdAt: Time,
    updatedAt: Time,
    version: Type.String({ description: 'changes whenever anything shown changes (the page polls with it)' }),
  },
  { description: "A refund as its consumer's status link shows it: masked, nothing of other refunds" },
);

export const TrackingLink = Type.Object(
  {
    url: Type.String({ description: "the refund's status page for its consumer" }),
    qrPng: Type.String({ description: 'the QR of `url` as a PNG image, base64' }),
  },
  { description: "A refund's status link" },
);
