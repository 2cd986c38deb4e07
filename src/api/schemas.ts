import { type TLiteral, type TUnion, Type } from 'typebox';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, roles } from '../domain/auth.js';
import { paymentMethods } from '../domain/payment.js';
import {
  type RiskRules,
  reasonCodes,
  refundMethods,
  riskRuleRanges,
  suggestedRiskRules,
} from '../domain/policy.js';
import { refundStatuses } from '../domain/refund-state.js';
import { goodsConditions } from '../domain/review.js';

/** Request schemas: they drive validation and the OpenAPI document. Every string and list is bounded. */
// Typed per value, so a body's `reason.code` is the union of the codes rather than `never`.
type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };
const lit = <const T extends readonly string[]>(values: T): TUnion<Literals<T>> =>
  Type.Union(values.map((v) => Type.Literal(v))) as TUnion<Literals<T>>;

export const MinorAmount = Type.Integer({
  minimum: 1,
  maximum: 100_000_000_000_00,
  description: 'minor units (fen)',
});
export const NonNegAmount = Type.Integer({ minimum: 0, maximum: 100_000_000_000_00 });
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217' });
export const OrderNo = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const OperatorNo = Type.String({ minLength: 1, maxLength: 16, pattern: '^[0-9A-Za-z]+$' });
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const IsoTime = Type.String({ maxLength: 40, format: 'date-time' });
export const Cursor = Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' });
export const Limit = Type.String({ pattern: '^([1-9]|[1-9][0-9]|100)$', description: '1–100, default 20' });

export const Approvals = Type.Array(
  Type.Object(
    { operatorNo: OperatorNo, password: Type.String({ minLength: 1, maxLength: 64 }) },
    { additionalProperties: false },
  ),
  { maxItems: 2 },
);

export const Reason = Type.Object(
  { code: lit(reasonCodes), note: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);

const SignInPassword = Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH });

/**
 * Sign-in names exactly one of a terminal (a session at that till) or a merchant (a back-office
 * session: supervisors and admins only); both or neither is refused as validation_failed.
 */
export const SessionBody = Type.Union(
  [
    Type.Object(
      {
        terminalId: Type.String({ minLength: 1, maxLength: 16 }),
        operatorNo: OperatorNo,
        password: SignInPassword,
      },
      { additionalProperties: false, title: 'At a terminal' },
    ),
    Type.Object(
      {
        merchantId: Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9A-Za-z]+$' }),
        operatorNo: OperatorNo,
        password: SignInPassword,
      },
      { additionalProperties: false, title: 'In the back office' },
    ),
  ],
  { description: 'exactly one of terminalId (terminal) or merchantId (back office)' },
);

const OperatorRole = lit(roles);
const OperatorName = Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' });
const passwordRule = `at least ${Object.entries(MIN_PASSWORD_LENGTH)
  .map(([role, min]) => `${min} characters for a ${role}`)
  .join(', ')}`;
/** Its length per role is checked by the service (password_too_weak, domain/auth.ts). */
const newPassword = (description = passwordRule) =>
  Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH, description });
const NewPassword = newPassword();

export const OperatorCreateBody = Type.Object(
  { operatorNo: OperatorNo, name: OperatorName, role: OperatorRole, password: NewPassword },
  { additionalProperties: false },
);

export const OperatorPatchBody = Type.Object(
  {
    name: Type.Optional(OperatorName),
    role: Type.Optional(OperatorRole),
    disabled: Type.Optional(
      Type.Boolean({ description: 'true: no sign-in or approvals, and the sessions end at once' }),
    ),
    password: Type.Optional(
      newPassword(
        `${passwordRule}, by the new role; required when a cashier becomes a supervisor or admin ` +
          '(password_required). Set as by a reset: locks cleared, sessions ended',
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const OperatorPasswordBody = Type.Object({ password: NewPassword }, { additionalProperties: false });

export const PaymentBody = Type.Object(
  {
    orderNo: OrderNo,
    amount: MinorAmount,
    currency: Currency,
    method: lit(paymentMethods),
    card: Type.Optional(
      Type.Object(
        { pan: Type.String({ pattern: '^[0-9]{12,19}$' }), expiry: Type.String({ pattern: '^[0-9]{4}$' }) },
        { additionalProperties: false },
      ),
    ),
    items: Type.Optional(
      Type.Array(
        Type.Object(
          {
            sku: Type.String({ minLength: 1, maxLength: 64 }),
            name: Type.String({ minLength: 1, maxLength: 100 }),
            qty: Type.Integer({ minimum: 1, maximum: 10_000 }),
            unitAmount: MinorAmount,
          },
          { additionalProperties: false },
        ),
        { maxItems: 200 },
      ),
    ),
  },
  { additionalProperties: false },
);

export const PaymentQuery = Type.Object(
  {
    orderNo: Type.Optional(OrderNo),
    last4: Type.Optional(Type.String({ pattern: '^[0-9]{4}$' })),
    amount: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
    amountMin: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'minor units, included' })),
    amountMax: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'minor units, included' })),
    phone: Type.Optional(
      Type.String({
        minLength: 5,
        maxLength: 32,
        pattern: '^\\+?[0-9][0-9 ()-]*$',
        description:
          "the consumer's phone as given on a refund or a voucher SMS; any format (+86 138 0013 8000, 138-0013-8000)",
      }),
    ),
    from: Type.Optional(IsoTime),
    to: Type.Optional(IsoTime),
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);

// A void always needs a supervisor: at least one approval, checked by the schema.
export const VoidBody = Type.Object(
  {
    approvals: Type.Array(Approvals.items, { minItems: 1, maxItems: 2 }),
  },
  { additionalProperties: false },
);

/** An account number: 8–32 digits, optionally typed in groups separated by spaces. */
const BankAccount = Type.String({ minLength: 8, maxLength: 48, pattern: '^[0-9][0-9 ]*[0-9]$' });

export const Consumer = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 64 })),
    phone: Type.Optional(Type.String({ pattern: '^\\+?[0-9]{5,20}$' })),
    email: Type.Optional(Type.String({ maxLength: 254, format: 'email' })),
    bankAccount: Type.Optional(BankAccount),
    /** Off-site bank-transfer refunds: both typed twice and compared (service/consumer.ts); never stored. */
    bankAccountConfirm: Type.Optional(BankAccount),
    nameConfirm: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const RefundBody = Type.Object(
  {
    paymentId: Type.Optional(Id),
    orderNo: Type.Optional(OrderNo),
    amount: Type.Optional(MinorAmount),
    items: Type.Optional(
      Type.Array(
        Type.Object(
          {
            sku: Type.String({ minLength: 1, maxLength: 64 }),
            qty: Type.Integer({ minimum: 1, maximum: 10_000 }),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 200 },
      ),
    ),
    reason: Reason,
    method: Type.Optional(lit(refundMethods)),
    approvals: Type.Optional(Approvals),
    consumer: Type.Optional(Consumer),
  },
  { additionalProperties: false },
);

const statusName = `(${refundStatuses.join('|')})`;
export const RefundQuery = Type.Object(
  {
    status: Type.Optional(
      Type.String({
        pattern: `^${statusName}(,${statusName}){0,${refundStatuses.length - 1}}$`,
        description: 'a status, or several separated by commas (review queue: requested,under_review)',
      }),
    ),
    order: Type.Optional(
      Type.Union([Type.Literal('newest'), Type.Literal('oldest')], {
        description: 'newest first (default) or oldest first (the review queue); by createdAt, then id',
      }),
    ),
    paymentId: Type.Optional(Id),
    orderNo: Type.Optional(OrderNo),
    from: Type.Optional(IsoTime),
    to: Type.Optional(IsoTime),
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);

/** The CSV exports take their list's filters; no cursor or limit: an export is every row that matches. */
export const PaymentExportQuery = Type.Omit(PaymentQuery, ['cursor', 'limit'], {
  additionalProperties: false,
});
export const RefundExportQuery = Type.Omit(RefundQuery, ['cursor', 'limit'], {
  additionalProperties: false,
});

/** An audit page: up to 200 entries (the other lists stop at 100); the route's default is 50. */
export const AuditLimit = Type.String({
  pattern: '^([1-9]|[1-9][0-9]|1[0-9][0-9]|200)$',
  description: '1–200, default 50',
});

/** GET /v1/audit: the merchant's own chain, newest first; each filter narrows, all must hold. */
export const AuditQuery = Type.Object(
  {
    from: Type.Optional(IsoTime),
    to: Type.Optional(IsoTime),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z_.]+$' })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9:_~-]+$' })),
    entity: Type.Optional(Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z_]+$' })),
    entityId: Type.Optional(Id),
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(AuditLimit),
  },
  { additionalProperties: false },
);
export const AuditExportQuery = Type.Omit(AuditQuery, ['cursor', 'limit'], {
  additionalProperties: false,
});

/** GET /v1/settlements: closed batches, the merchant's or one terminal's, newest first. */
export const SettlementQuery = Type.Object(
  {
    terminalId: Type.Optional(Type.String({ minLength: 1, maxLength: 16, pattern: '^[0-9A-Za-z]+$' })),
    from: Type.Optional(IsoTime),
    to: Type.Optional(IsoTime),
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);
export const SettlementExportQuery = Type.Omit(SettlementQuery, ['cursor', 'limit'], {
  additionalProperties: false,
});

/** The reviewer's checklist (审核, domain/review.ts): required to approve a refund in review. */
export const ReviewChecklist = Type.Object(
  {
    voucherMatches: Type.Boolean({ description: 'the voucher matches the transaction record' }),
    amountMatches: Type.Boolean({ description: 'the amount matches' }),
    goodsCondition: lit(goodsConditions),
    note: Type.Optional(Type.String({ maxLength: 200 })),
  },
  {
    additionalProperties: false,
    description:
      'required to approve a refund held by a risk rule or accepted from the review queue; voucherMatches and amountMatches must be true',
  },
);

export const ApproveBody = Type.Object(
  { approvals: Approvals, checklist: Type.Optional(ReviewChecklist) },
  { additionalProperties: false },
);
export const NoteBody = Type.Object(
  { note: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);

export const AdjustmentBody = Type.Object(
  {
    originalAmount: NonNegAmount,
    newAmount: NonNegAmount,
    reason: Reason,
    approvals: Type.Optional(Approvals),
  },
  { additionalProperties: false },
);

export const SettlementBody = Type.Object(
  { terminalId: Type.String({ minLength: 1, maxLength: 16 }) },
  { additionalProperties: false },
);

const Days = Type.Integer({ minimum: 0, maximum: 3650 });
/** A risk rule's value: a whole number in its range (domain/policy.ts), or null for off. */
const riskRule = (rule: keyof RiskRules) =>
  Type.Union(
    [Type.Integer({ minimum: riskRuleRanges[rule].min, maximum: riskRuleRanges[rule].max }), Type.Null()],
    { description: `null: off (the default); suggested when on: ${suggestedRiskRules[rule]}` },
  );
export const PolicyBody = Type.Object(
  {
    refundsEnabled: Type.Optional(Type.Boolean()),
    refundWindowDays: Type.Optional(
      Type.Object({ card: Days, qr: Days, cash: Days }, { additionalProperties: false }),
    ),
    maxRefundAmount: Type.Optional(MinorAmount),
    dailyRefundLimit: Type.Optional(MinorAmount),
    largeRefundThreshold: Type.Optional(MinorAmount),
    feeRule: Type.Optional(
      Type.Object(
        { originalFee: lit(['prorata', 'kept'] as const), handlingFee: NonNegAmount },
        { additionalProperties: false },
      ),
    ),
    methods: Type.Optional(Type.Array(lit(refundMethods), { minItems: 1, maxItems: 3 })),
    reasons: Type.Optional(Type.Array(lit(reasonCodes), { minItems: 1, maxItems: 6 })),
    arrivalBusinessDays: Type.Optional(
      Type.Object(
        {
          card: Type.Integer({ minimum: 0, maximum: 60 }),
          qr: Type.Integer({ minimum: 0, maximum: 60 }),
          cash: Type.Integer({ minimum: 0, maximum: 60 }),
          bank_transfer: Type.Integer({ minimum: 0, maximum: 60 }),
        },
        { additionalProperties: false },
      ),
    ),
    lockout: Type.Optional(
      Type.Object(
        {
          maxAttempts: Type.Integer({ minimum: 1, maximum: 20 }),
          minutes: Type.Integer({ minimum: 1, maximum: 1440 }),
        },
        { additionalProperties: false },
      ),
    ),
    riskRules: Type.Optional(
      Type.Object(
        {
          operatorRefundsPerHour: riskRule('operatorRefundsPerHour'),
          cardRefundsPerDay: riskRule('cardRefundsPerDay'),
          shareOfDaySalesPercent: riskRule('shareOfDaySalesPercent'),
        },
        {
          additionalProperties: false,
          description:
            'all three, each a whole number or null (off): operatorRefundsPerHour, cardRefundsPerDay, shareOfDaySalesPercent',
        },
      ),
    ),
    returnLinkMinutes: Type.Optional(
      Type.Integer({
        minimum: 5,
        maximum: 1440,
        description: 'how long a return QR link works (default 30)',
      }),
    ),
    returnPolicyText: Type.Optional(
      Type.String({ maxLength: 1000, description: 'shown to the consumer on the return page' }),
    ),
  },
  { additionalProperties: false },
);

export const ApiKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);

export const IdParams = Type.Object({ id: Id });
export const OrderParams = Type.Object({ orderNo: OrderNo });

const Day = Type.String({
  pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$',
  description: 'a day of the merchant (Asia/Shanghai), YYYY-MM-DD',
});
export const ReportQuery = Type.Object(
  {
    from: Type.Optional(Day),
    to: Type.Optional(Day),
    currency: Type.Optional(Currency),
  },
  { additionalProperties: false },
);

const ReturnItems = Type.Array(
  Type.Object(
    {
      sku: Type.String({ minLength: 1, maxLength: 64 }),
      qty: Type.Integer({ minimum: 1, maximum: 10_000 }),
    },
    { additionalProperties: false },
  ),
  { minItems: 1, maxItems: 50 },
);

export const ReturnBody = Type.Object(
  { orderNo: OrderNo, items: ReturnItems },
  { additionalProperties: false, description: 'the sale and the lines the consumer brings back' },
);

export const ReturnQuery = Type.Object(
  {
    status: Type.Optional(lit(['open', 'expired', 'submitted', 'canceled'] as const)),
    orderNo: Type.Optional(OrderNo),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);

export const InspectionBody = Type.Object(
  {
    result: lit(['accepted', 'rejected'] as const),
    note: Type.Optional(
      Type.String({ maxLength: 200, description: 'required when rejected; the consumer sees it' }),
    ),
  },
  { additionalProperties: false },
);

/** A return link's token (links.ts): base64url payload, key id and MAC, dot-separated. */
export const ReturnTokenParams = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' }),
});
/** A status link's token: 32 base64url characters. */
export const TrackingTokenParams = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
});

export const ConsumerLangSchema = lit(['zh-CN', 'zh-TW', 'en'] as const);

export const ReturnSubmitBody = Type.Object(
  {
    reason: Reason,
    contact: Type.Object(
      {
        phone: Type.Optional(Type.String({ pattern: '^\\+?[0-9]{5,20}$' })),
        email: Type.Optional(Type.String({ maxLength: 254, format: 'email' })),
      },
      { additionalProperties: false, description: 'a phone or an e-mail (or both) for updates' },
    ),
    lang: Type.Optional(ConsumerLangSchema),
  },
  { additionalProperties: false },
);
