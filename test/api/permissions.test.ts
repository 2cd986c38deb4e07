/**
 * The permission matrix (issue 9, "Reliability, proven"): every method + path the app registers
 * under /v1 (read from its router, not listed here) × {anonymous, cashier, supervisor, admin, API
 * key} × {the caller's own merchant, another merchant's resource}.
 *
 * The expected answers come from one table, `matrix` below: each route's allowed principals (or
 * why it is public) and what "another merchant's resource" means for it. A route the app registers
 * that the table lacks fails the suite ("new route not in the permission matrix"), and so does an
 * entry for a route the app no longer has.
 *
 * The conventions checked, as the code establishes them (domain/auth.ts `permissionTable`, one
 * `requirePermission` per call, every query scoped by the caller's merchant):
 * - no or a bad token on a protected route: 401 `unauthenticated`;
 * - a principal without the permission: 403 `forbidden`, for its own and another merchant's ids;
 * - another merchant's resource, to a principal with the permission: 404 `not_found` — the very
 *   answer a made-up id gets, so nothing tells that the resource exists; lists show none of it;
 * - no answer to merchant A's callers carries merchant B's identifiers, and nothing of B changes.
 *
 * The second merchant is created here through the store (the demo seeds one), with its own
 * terminal, operators, payments, refund, reconciliation and API key, made through the API as B.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTLEMENT_FILE_HEADER } from '../../src/domain/reconcile.js';
import { QR_NOTIFY_PATH } from '../../src/network/qr-wallet/notify-route.js';
import type { Ctx } from '../../src/service/context.js';
import { headRoutes, routeKey, v1Routes } from '../fuzz/routes.js';
import { snapshotStore, storeTables } from '../fuzz/snapshot.js';
import { recordFigures } from '../support/figures.js';
import { type SecondMerchant, seedSecondMerchant } from '../support/second-merchant.js';
import { storeTargets } from '../support/stores.js';
import { DEMO, startTestSystem, supervisor, type TestSystem } from '../support/system.js';

// ---- the table --------------------------------------------------------------------------------

const roles = ['anonymous', 'cashier', 'supervisor', 'admin', 'apiKey'] as const;
type Role = (typeof roles)[number];
type Principal = Exclude<Role, 'anonymous'>;

/** A merchant's resources the requests point at (the caller's own, the other merchant's, or made up). */
interface Resources {
  merchantId: string;
  terminalId: string;
  /** A sale to read, refund and look up by order. */
  paymentId: string;
  orderNo: string;
  /** A sale to void and adjust (its order number and amount). */
  voidPaymentId: string;
  adjustOrderNo: string;
  adjustFromAmount: number;
  refundId: string;
  /** An evidence photo of that refund. */
  evidenceId: string;
  /** An open return QR (扫码退货) of a sale with line items. */
  returnId: string;
  reconciliationId: string;
  /** A closed batch (of a till the matrix does not settle). */
  settlementId: string;
  /** An API key to revoke (never the one the API-key caller uses). */
  spareApiKeyId: string;
  /** An operator to unlock. */
  operatorNo: string;
  /** An operator to rename and give a new password (none whose session the matrix uses). */
  spareOperatorNo: string;
  /** An order number for a new sale: merchant B's own for the other-merchant case (order numbers are per merchant). */
  newOrderNo: (role: Role) => string;
}

interface Req {
  path: string;
  body?: unknown;
}

type Other =
  /** Points at one resource: another merchant's answers as a made-up id does, 404 when permitted. */
  | { kind: 'resource' }
  /** A list or search: another merchant's rows never appear (the search names one of theirs). */
  | { kind: 'list' }
  /** Creates under the caller's merchant with another merchant's order number: that is no conflict. */
  | { kind: 'succeeds'; status: number }
  /** The route names nothing of a merchant's (with the reason); only the leak checks apply. */
  | { kind: 'none'; why: string };

interface Rule {
  /** Principals allowed; `public` routes need no token at all (with the reason why). */
  allow: readonly Principal[] | { public: string; own: number; other?: number };
  request: (r: Resources, role: Role) => Req;
  other: Other;
  /** Answers the code gives a principal on purpose, other than allowed/forbidden. */
  answers?: Partial<Record<Principal, { status: number; code: string }>>;
  /** Signs the caller out: each principal gets a session of its own for it. */
  ownSession?: true;
}

const STAFF = ['cashier', 'supervisor', 'admin'] as const;
const STAFF_AND_KEY = [...STAFF, 'apiKey'] as const;
const SUPERVISORS = ['supervisor', 'admin'] as const;
const ADMIN = ['admin'] as const;
const AUTHENTICATED = STAFF_AND_KEY;

const day = () => new Date().toISOString().slice(0, 10);
const approvals = [supervisor];
/** An evidence photo: a PNG's signature and a few bytes (the route checks the type by them). */
const PHOTO = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(24, 1),
]);
const reason = { code: 'quality_issue' as const };

/** Every /v1 route: who may call it (the permission it needs, in domain/auth.ts terms) and its requests. */
const matrix: Record<string, Rule> = {
  'GET /v1/health': {
    allow: { public: 'probes and the terminal check it before sign-in; it says ok/up/down only', own: 200 },
    request: () => ({ path: '/v1/health' }),
    other: { kind: 'none', why: 'no merchant data' },
  },
  'POST /v1/sessions': {
    allow: { public: 'signing in is how a token is got', own: 201, other: 401 },
    // Another merchant's terminal with our operator's password: no session there.
    request: (r) => ({
      path: '/v1/sessions',
      body: { terminalId: r.terminalId, operatorNo: '01', password: '1111' },
    }),
    other: {
      kind: 'none',
      why: "checked as a public route: our operator cannot sign in at another merchant's terminal",
    },
  },
  'DELETE /v1/sessions/current': {
    allow: STAFF,
    request: () => ({ path: '/v1/sessions/current' }),
    other: { kind: 'none', why: "the caller's own session" },
    answers: { apiKey: { status: 400, code: 'validation_failed' } },
    ownSession: true,
  },
  'GET /v1/sessions/current': {
    allow: AUTHENTICATED,
    request: () => ({ path: '/v1/sessions/current' }),
    other: { kind: 'none', why: "the caller's own session" },
  },
  'POST /v1/api-keys': {
    allow: ADMIN, // operator.manage
    request: () => ({ path: '/v1/api-keys', body: { name: 'matrix' } }),
    other: { kind: 'none', why: "creates a key of the caller's merchant" },
  },
  'GET /v1/api-keys': {
    allow: ADMIN, // operator.manage
    request: () => ({ path: '/v1/api-keys' }),
    other: { kind: 'list' },
  },
  'DELETE /v1/api-keys/:id': {
    allow: ADMIN, // operator.manage
    request: (r) => ({ path: `/v1/api-keys/${r.spareApiKeyId}` }),
    other: { kind: 'resource' },
  },
  'POST /v1/payments': {
    allow: STAFF_AND_KEY, // payment.create
    request: (r, role) => ({
      path: '/v1/payments',
      body: { orderNo: r.newOrderNo(role), amount: 1_000, currency: 'CNY', method: 'cash' },
    }),
    other: { kind: 'succeeds', status: 201 },
  },
  'GET /v1/payments': {
    allow: STAFF_AND_KEY, // payment.read
    request: (r) => ({ path: `/v1/payments?orderNo=${r.orderNo}` }),
    other: { kind: 'list' },
  },
  'GET /v1/payments/:id': {
    allow: STAFF_AND_KEY, // payment.read
    request: (r) => ({ path: `/v1/payments/${r.paymentId}` }),
    other: { kind: 'resource' },
  },
  'POST /v1/payments/:id/void': {
    allow: STAFF, // payment.void (with a supervisor's approval in the body)
    request: (r) => ({ path: `/v1/payments/${r.voidPaymentId}/void`, body: { approvals } }),
    other: { kind: 'resource' },
  },
  'POST /v1/refunds': {
    allow: STAFF_AND_KEY, // refund.create
    request: (r) => ({ path: '/v1/refunds', body: { paymentId: r.paymentId, amount: 100, reason } }),
    other: { kind: 'resource' },
  },
  'GET /v1/refunds': {
    allow: STAFF_AND_KEY, // refund.read
    request: (r) => ({ path: `/v1/refunds?paymentId=${r.paymentId}` }),
    other: { kind: 'list' },
  },
  'GET /v1/refunds/:id': {
    allow: STAFF_AND_KEY, // refund.read
    request: (r) => ({ path: `/v1/refunds/${r.refundId}` }),
    other: { kind: 'resource' },
  },
  'POST /v1/refunds/:id/evidence': {
    allow: SUPERVISORS, // refund.review
    request: (r) => ({ path: `/v1/refunds/${r.refundId}/evidence`, body: PHOTO }),
    other: { kind: 'resource' },
  },
  'GET /v1/refunds/:id/evidence': {
    allow: SUPERVISORS, // refund.review
    request: (r) => ({ path: `/v1/refunds/${r.refundId}/evidence` }),
    other: { kind: 'resource' },
  },
  'GET /v1/refunds/:id/evidence/:evidenceId': {
    allow: SUPERVISORS, // refund.review
    request: (r) => ({ path: `/v1/refunds/${r.refundId}/evidence/${r.evidenceId}` }),
    other: { kind: 'resource' },
  },
  'GET /v1/refunds/:id/events': {
    allow: STAFF_AND_KEY, // refund.read
    request: (r) => ({ path: `/v1/refunds/${r.refundId}/events` }),
    other: { kind: 'resource' },
  },
  'POST /v1/refunds/:id/approve': {
    // refund.read: whoever may see the refund carries the approvals to it; the approvers themselves
    // are checked (supervisor passwords, roles: approver_not_authorised), as at the counter.
    allow: STAFF_AND_KEY,
    request: (r) => ({ path: `/v1/refunds/${r.refundId}/approve`, body: { approvals } }),
    other: { kind: 'resource' },
  },
  'POST /v1/refunds/:id/accept': {
    allow: SUPERVISORS, // refund.review
    request: (r) => ({ path: `/v1/refunds/${r.refundId}/accept`, body: {} }),
    other: { kind: 'resource' },
  },
  'POST /v1/refunds/:id/reject': {
    allow: SUPERVISORS, // refund.review
    request: (r) => ({ path: `/v1/refunds/${r.refundId}/reject`, body: { note: 'matrix' } }),
    other: { kind: 'resource' },
  },
  'POST /v1/refunds/:id/cancel': {
    allow: STAFF_AND_KEY, // refund.create
    request: (r) => ({ path: `/v1/refunds/${r.refundId}/cancel`, body: {} }),
    other: { kind: 'resource' },
  },
  'GET /v1/refunds/:id/receipt': {
    allow: STAFF_AND_KEY, // refund.read
    request: (r) => ({ path: `/v1/refunds/${r.refundId}/receipt` }),
    other: { kind: 'resource' },
  },
  'POST /v1/refunds/:id/receipt/send': {
    allow: STAFF_AND_KEY, // refund.read
    request: (r) => ({
      path: `/v1/refunds/${r.refundId}/receipt/send`,
      body: { email: 'buyer@example.com' },
    }),
    other: { kind: 'resource' },
  },
  'GET /v1/refunds/:id/receipt/sends': {
    allow: STAFF_AND_KEY, // refund.read
    request: (r) => ({ path: `/v1/refunds/${r.refundId}/receipt/sends` }),
    other: { kind: 'resource' },
  },
  'GET /v1/orders/:orderNo': {
    allow: STAFF_AND_KEY, // payment.read
    request: (r) => ({ path: `/v1/orders/${r.orderNo}` }),
    other: { kind: 'resource' },
  },
  'POST /v1/orders/:orderNo/adjustments': {
    allow: STAFF, // order.adjust
    request: (r) => ({
      path: `/v1/orders/${r.adjustOrderNo}/adjustments`,
      body: { originalAmount: r.adjustFromAmount, newAmount: r.adjustFromAmount - 100, reason, approvals },
    }),
    other: { kind: 'resource' },
  },
  'POST /v1/settlements': {
    allow: STAFF, // settlement.create
    request: (r) => ({ path: '/v1/settlements', body: { terminalId: r.terminalId } }),
    other: { kind: 'resource' },
  },
  'GET /v1/settlements': {
    allow: SUPERVISORS, // reconciliation.run
    request: (r) => ({ path: `/v1/settlements?terminalId=${r.terminalId}` }),
    other: { kind: 'list' },
  },
  'GET /v1/settlements/:id': {
    allow: SUPERVISORS, // reconciliation.run
    request: (r) => ({ path: `/v1/settlements/${r.settlementId}` }),
    other: { kind: 'resource' },
  },
  'GET /v1/policy': {
    allow: STAFF_AND_KEY, // policy.read
    request: () => ({ path: '/v1/policy' }),
    other: { kind: 'none', why: "the caller's merchant's policy" },
  },
  'PUT /v1/policy': {
    allow: ADMIN, // policy.write
    request: () => ({ path: '/v1/policy', body: { refundsEnabled: true } }),
    other: {
      kind: 'none',
      why: "the caller's merchant's policy (the other merchant's is checked unchanged)",
    },
  },
  'GET /v1/audit/verify': {
    allow: SUPERVISORS, // audit.read
    request: () => ({ path: '/v1/audit/verify' }),
    other: { kind: 'none', why: "the caller's merchant's chain" },
  },
  'GET /v1/audit': {
    allow: SUPERVISORS, // audit.read
    request: (r) => ({ path: `/v1/audit?entityId=${r.refundId}&limit=200` }),
    other: { kind: 'list' },
  },
  'GET /v1/reports/refunds': {
    allow: SUPERVISORS, // report.read
    request: () => ({ path: '/v1/reports/refunds' }),
    other: { kind: 'none', why: "the caller's merchant's figures" },
  },
  'GET /v1/reports/work': {
    allow: SUPERVISORS, // report.read
    request: () => ({ path: '/v1/reports/work' }),
    other: { kind: 'none', why: "the caller's merchant's work" },
  },
  'GET /v1/exports/payments.csv': {
    allow: SUPERVISORS, // report.read
    request: (r) => ({ path: `/v1/exports/payments.csv?orderNo=${r.orderNo}` }),
    other: { kind: 'list' },
  },
  'GET /v1/exports/refunds.csv': {
    allow: SUPERVISORS, // report.read
    request: (r) => ({ path: `/v1/exports/refunds.csv?paymentId=${r.paymentId}` }),
    other: { kind: 'list' },
  },
  'GET /v1/exports/audit.csv': {
    allow: SUPERVISORS, // audit.read
    request: (r) => ({ path: `/v1/exports/audit.csv?entityId=${r.refundId}` }),
    other: { kind: 'list' },
  },
  'GET /v1/exports/settlements.csv': {
    allow: SUPERVISORS, // reconciliation.run, as GET /v1/settlements
    request: (r) => ({ path: `/v1/exports/settlements.csv?terminalId=${r.terminalId}` }),
    other: { kind: 'list' },
  },
  'GET /v1/exports/reconciliations/:id/mismatches.csv': {
    allow: SUPERVISORS, // reconciliation.run, as GET /v1/reconciliations/:id
    request: (r) => ({ path: `/v1/exports/reconciliations/${r.reconciliationId}/mismatches.csv` }),
    other: { kind: 'resource' },
  },
  'GET /v1/exports/operators.csv': {
    allow: ADMIN, // operator.manage, as GET /v1/operators
    request: () => ({ path: '/v1/exports/operators.csv' }),
    other: { kind: 'list' },
  },
  'POST /v1/reconciliations': {
    allow: SUPERVISORS, // reconciliation.run
    request: () => ({
      path: '/v1/reconciliations',
      body: { day: day(), csv: `${SETTLEMENT_FILE_HEADER}\n` },
    }),
    other: { kind: 'none', why: "reconciles the caller's merchant's ledger" },
  },
  'GET /v1/reconciliations': {
    allow: SUPERVISORS, // reconciliation.run
    request: () => ({ path: `/v1/reconciliations?day=${day()}` }),
    other: { kind: 'list' },
  },
  'GET /v1/reconciliations/:id': {
    allow: SUPERVISORS, // reconciliation.run
    request: (r) => ({ path: `/v1/reconciliations/${r.reconciliationId}` }),
    other: { kind: 'resource' },
  },
  'GET /v1/response-codes': {
    allow: AUTHENTICATED,
    request: () => ({ path: '/v1/response-codes' }),
    other: { kind: 'none', why: 'reference data, the same for every merchant' },
  },
  'GET /v1/response-codes/:code': {
    allow: AUTHENTICATED,
    request: () => ({ path: '/v1/response-codes/05' }),
    other: { kind: 'none', why: 'reference data, the same for every merchant' },
  },
  'GET /v1/outbox/dead': {
    allow: SUPERVISORS, // audit.read
    request: () => ({ path: '/v1/outbox/dead' }),
    other: { kind: 'list' },
  },
  'GET /v1/operators': {
    allow: ADMIN, // operator.manage
    request: () => ({ path: '/v1/operators' }),
    other: { kind: 'list' },
  },
  'POST /v1/operators/:operatorNo/unlock': {
    allow: ADMIN, // operator.manage
    request: (r) => ({ path: `/v1/operators/${r.operatorNo}/unlock`, body: {} }),
    other: { kind: 'resource' },
  },
  'POST /v1/operators': {
    allow: ADMIN, // operator.manage
    request: () => ({
      path: '/v1/operators',
      body: { operatorNo: '70', name: 'Matrix cashier', role: 'cashier', password: '7070' },
    }),
    other: { kind: 'none', why: "adds an operator to the caller's own merchant" },
  },
  'PATCH /v1/operators/:operatorNo': {
    allow: ADMIN, // operator.manage
    request: (r) => ({ path: `/v1/operators/${r.spareOperatorNo}`, body: { name: 'Matrix renamed' } }),
    other: { kind: 'resource' },
  },
  'POST /v1/operators/:operatorNo/password': {
    allow: ADMIN, // operator.manage
    // The spare supervisor's own password again: it ends only the spare's sessions.
    request: (r) => ({ path: `/v1/operators/${r.spareOperatorNo}/password`, body: { password: '222222' } }),
    other: { kind: 'resource' },
  },
  'POST /v1/returns': {
    allow: STAFF_AND_KEY, // return.create
    // The sale has no lines: our own callers get 400, never 403/404; another merchant's order is 404.
    request: (r) => ({ path: '/v1/returns', body: { orderNo: r.orderNo, items: [{ sku: 'S1', qty: 1 }] } }),
    other: { kind: 'resource' },
  },
  'GET /v1/returns': {
    allow: STAFF_AND_KEY, // refund.read
    request: () => ({ path: '/v1/returns' }),
    other: { kind: 'list' },
  },
  'GET /v1/returns/:id': {
    allow: STAFF_AND_KEY, // refund.read
    request: (r) => ({ path: `/v1/returns/${r.returnId}` }),
    other: { kind: 'resource' },
  },
  'POST /v1/returns/:id/cancel': {
    allow: STAFF_AND_KEY, // return.create
    request: (r) => ({ path: `/v1/returns/${r.returnId}/cancel` }),
    other: { kind: 'resource' },
  },
  'POST /v1/returns/:id/inspection': {
    allow: SUPERVISORS, // refund.review
    request: (r) => ({ path: `/v1/returns/${r.returnId}/inspection`, body: { result: 'accepted' } }),
    other: { kind: 'resource' },
  },
  'GET /v1/refunds/:id/tracking': {
    allow: STAFF_AND_KEY, // refund.read
    request: (r) => ({ path: `/v1/refunds/${r.refundId}/tracking` }),
    other: { kind: 'resource' },
  },
  'GET /v1/consumer/returns/:token': {
    allow: {
      public: 'the return link (signed, expiring, one use) is the key; a made-up one is 404',
      own: 404,
    },
    request: () => ({ path: '/v1/consumer/returns/garbage' }),
    other: { kind: 'none', why: 'the link names its merchant; a link is checked by its signature alone' },
  },
  'POST /v1/consumer/returns/:token/submit': {
    allow: {
      public: 'the return link is the key (test/api/returns.test.ts); a made-up one is 404',
      own: 404,
    },
    request: () => ({
      path: '/v1/consumer/returns/garbage/submit',
      body: { reason, contact: { phone: '13800138000' } },
    }),
    other: { kind: 'none', why: 'the link names its merchant; a link is checked by its signature alone' },
  },
  'GET /v1/track/:token': {
    allow: {
      public: "the status link (192-bit capability) is the key; it shows one refund's masked data",
      own: 404,
    },
    request: () => ({ path: `/v1/track/${'A'.repeat(32)}` }),
    other: { kind: 'none', why: 'a status link finds one refund by its hash, whoever asks' },
  },
  'GET /v1/track/:token/voucher': {
    allow: { public: 'the status link is the key, as for the status page', own: 404 },
    request: () => ({ path: `/v1/track/${'A'.repeat(32)}/voucher` }),
    other: { kind: 'none', why: 'a status link finds one refund by its hash, whoever asks' },
  },
  [`POST ${QR_NOTIFY_PATH}`]: {
    allow: {
      public:
        "the QR wallet calls it; the wallet's RSA2 signature is its authentication (test/fuzz/wallet-notify.fuzz.test.ts)",
      own: 400,
    },
    request: () => ({ path: QR_NOTIFY_PATH, body: { notifyType: 'refund' } }),
    other: { kind: 'none', why: 'no merchant resource: an unsigned notification is refused for everyone' },
  },
};

// ---- merchant B -------------------------------------------------------------------------------

const B: SecondMerchant = {
  merchantId: '898100000000002',
  name: 'Other Merchant B (matrix)',
  terminalId: 'T0000002',
  operators: [
    { no: '51', role: 'cashier' as const, name: 'B-cashier-51', password: '5151' },
    { no: '50', role: 'supervisor' as const, name: 'B-supervisor-50', password: '505050' },
    { no: '59', role: 'admin' as const, name: 'B-admin-59', password: '59595959' },
  ],
};

/**
 * A closed batch of a merchant's till, written as recordSettlement writes one: the matrix's own
 * POST /v1/settlements closes the terminals it names, so the batches it reads are of other tills.
 */
async function seedSettlement(ctx: Ctx, merchantId: string, terminalId: string): Promise<string> {
  const id = `stl_${ulid()}`;
  const zero = { count: 0, amountMinor: 0 };
  const totals = { sales: zero, voids: zero, refunds: zero };
  await ctx.store.db
    .insertInto('settlements')
    .values({
      id,
      merchant_id: merchantId,
      terminal_id: terminalId,
      batch_no: 1,
      totals_json: JSON.stringify({ ...totals, cash: zero, local: totals }),
      network_totals_json: JSON.stringify(totals),
      balanced: 1,
      created_by: 'op:matrix',
      created_at: ctx.clock().toISOString(),
    })
    .execute();
  return id;
}

// ---- the suite --------------------------------------------------------------------------------

interface Answer {
  status: number;
  code: string | null;
  body: string;
}

describe.each(storeTargets)('permission matrix on $name', (target) => {
  let sys: TestSystem;
  const tokens = new Map<Principal, string>();
  let own: Resources;
  let other: Resources;
  let ghost: Resources;
  /** Identifiers of merchant B that must never reach merchant A's callers. */
  let secretsOfB: string[] = [];
  let tables: string[];
  let rowsOfBBefore: string[] = [];
  /** B's API key: it must still work once A's callers are done. */
  let otherKeySecret = '';
  const counts = { cells: 0, notApplicable: 0, head: 0 };

  const inject = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const res = await sys.app.inject({
      method: method as 'GET',
      url: path,
      headers: {
        ...headers,
        ...(method === 'GET' || method === 'HEAD' ? {} : { 'idempotency-key': `pm-${randomUUID()}` }),
        // A Buffer is an evidence photo, sent as the image it is; anything else as JSON.
        ...(body === undefined
          ? {}
          : { 'content-type': Buffer.isBuffer(body) ? 'image/png' : 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
    });
    let code: string | null = null;
    try {
      code = (JSON.parse(res.body) as { code?: string }).code ?? null;
    } catch {
      // Not JSON: a voucher, the wallet's text answer, an empty HEAD.
    }
    return { status: res.statusCode, code, body: res.body };
  };

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  async function as(merchant: 'A' | 'B', operatorNo: string, password: string) {
    const terminalId = merchant === 'A' ? DEMO.terminalId : B.terminalId;
    const r = await inject('POST', '/v1/sessions', {}, { terminalId, operatorNo, password });
    expect(r.status, r.body).toBe(201);
    return (JSON.parse(r.body) as { token: string }).token;
  }

  /** Makes one resource through the API as the given token; returns its answer's field. */
  async function make(
    token: string,
    method: string,
    path: string,
    body: unknown,
    field = 'id',
  ): Promise<string> {
    const r = await inject(method, path, bearer(token), body);
    expect(r.status, `${method} ${path}: ${r.body}`).toBeLessThan(300);
    return String((JSON.parse(r.body) as Record<string, unknown>)[field]);
  }

  async function rowsOfB(): Promise<string[]> {
    const snap = await snapshotStore(sys.ctx.store, tables);
    const ids = [B.merchantId, other.paymentId, other.voidPaymentId, other.refundId];
    return Object.entries(snap).flatMap(([table, rows]) =>
      rows.filter((row) => ids.some((id) => row.includes(id))).map((row) => `${table} ${row}`),
    );
  }

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), {
      network: 'sim',
      worker: false,
      dataDir: mkdtempSync(join(tmpdir(), 'refund-desk-permissions-')),
    });
    tables = await storeTables(sys.ctx.store);
    await seedSecondMerchant(sys.ctx, B);

    // Merchant A: the demo's operators, an API key, and resources to act on.
    tokens.set('cashier', await as('A', '01', '1111'));
    tokens.set('supervisor', await as('A', '00', '123456'));
    const adminA = await as('A', '99', '12345678');
    tokens.set('admin', adminA);
    tokens.set('apiKey', await make(adminA, 'POST', '/v1/api-keys', { name: 'matrix caller' }, 'key'));
    const spareA = await make(adminA, 'POST', '/v1/api-keys', { name: 'matrix spare' });
    const cashierA = tokens.get('cashier') ?? '';
    const sale = (token: string, orderNo: string, amount: number) =>
      make(token, 'POST', '/v1/payments', { orderNo, amount, currency: 'CNY', method: 'cash' });
    const paymentA = await sale(cashierA, 'A-READ-1', 50_000);
    const voidA = await sale(cashierA, 'A-ADJUST-1', 20_000);
    const refundA = await make(cashierA, 'POST', '/v1/refunds', { paymentId: paymentA, amount: 100, reason });
    const lines = [{ sku: 'S1', name: 'line', qty: 3, unitAmount: 1_000 }];
    await make(cashierA, 'POST', '/v1/payments', {
      orderNo: 'A-RET-1',
      amount: 3_000,
      currency: 'CNY',
      method: 'cash',
      items: lines,
    });
    const returnA = await make(cashierA, 'POST', '/v1/returns', {
      orderNo: 'A-RET-1',
      items: [{ sku: 'S1', qty: 1 }],
    });
    const reconA = await make(tokens.get('supervisor') ?? '', 'POST', '/v1/reconciliations', {
      day: day(),
      csv: `${SETTLEMENT_FILE_HEADER}\n`,
    });

    // Merchant B: the same, made by B's own operators.
    const cashierB = await as('B', '51', '5151');
    const supervisorB = await as('B', '50', '505050');
    const adminB = await as('B', '59', '59595959');
    const paymentB = await sale(cashierB, 'B-READ-1', 40_000);
    const voidB = await sale(cashierB, 'B-ADJUST-1', 30_000);
    for (const role of roles) await sale(cashierB, `SHARED-${role}`, 700);
    const refundB = await make(cashierB, 'POST', '/v1/refunds', { paymentId: paymentB, amount: 200, reason });
    await make(cashierB, 'POST', '/v1/payments', {
      orderNo: 'B-RET-1',
      amount: 3_000,
      currency: 'CNY',
      method: 'cash',
      items: lines,
    });
    const returnB = await make(cashierB, 'POST', '/v1/returns', {
      orderNo: 'B-RET-1',
      items: [{ sku: 'S1', qty: 1 }],
    });
    const evidenceA = await make(
      tokens.get('supervisor') ?? '',
      'POST',
      `/v1/refunds/${refundA}/evidence`,
      PHOTO,
    );
    const evidenceB = await make(supervisorB, 'POST', `/v1/refunds/${refundB}/evidence`, PHOTO);
    const reconB = await make(supervisorB, 'POST', '/v1/reconciliations', {
      day: day(),
      csv: `${SETTLEMENT_FILE_HEADER}\n`,
    });
    const settlementA = await seedSettlement(sys.ctx, DEMO.merchantId, 'T0000009');
    const settlementB = await seedSettlement(sys.ctx, B.merchantId, B.terminalId);
    const keyB = await inject('POST', '/v1/api-keys', bearer(adminB), { name: 'B system' });
    const { id: keyBId, key: keyBSecret } = JSON.parse(keyB.body) as { id: string; key: string };
    await inject('GET', '/v1/payments', { authorization: `Bearer ${keyBSecret}` });

    own = {
      merchantId: DEMO.merchantId,
      terminalId: DEMO.terminalId,
      paymentId: paymentA,
      orderNo: 'A-READ-1',
      voidPaymentId: voidA,
      adjustOrderNo: 'A-ADJUST-1',
      adjustFromAmount: 20_000,
      refundId: refundA,
      evidenceId: evidenceA,
      returnId: returnA,
      reconciliationId: reconA,
      settlementId: settlementA,
      spareApiKeyId: spareA,
      operatorNo: '01',
      spareOperatorNo: '02',
      newOrderNo: (role) => `A-NEW-${role}`,
    };
    other = {
      merchantId: B.merchantId,
      terminalId: B.terminalId,
      paymentId: paymentB,
      orderNo: 'B-READ-1',
      voidPaymentId: voidB,
      adjustOrderNo: 'B-ADJUST-1',
      adjustFromAmount: 30_000,
      refundId: refundB,
      evidenceId: evidenceB,
      returnId: returnB,
      reconciliationId: reconB,
      settlementId: settlementB,
      spareApiKeyId: keyBId,
      operatorNo: '51',
      spareOperatorNo: '50',
      newOrderNo: (role) => `SHARED-${role}`,
    };
    ghost = {
      ...other,
      merchantId: '898100000000999',
      terminalId: 'T9999999',
      paymentId: 'pay_00000000000000000000GHOST',
      orderNo: 'GHOST-ORDER',
      voidPaymentId: 'pay_00000000000000000000GHOST',
      adjustOrderNo: 'GHOST-ORDER',
      refundId: 'ref_00000000000000000000GHOST',
      evidenceId: 'ev_00000000000000000000GHOST',
      returnId: 'rt_00000000000000000000GHOST',
      reconciliationId: 'rec_00000000000000000000GHOST',
      settlementId: 'stl_00000000000000000000GHOST',
      spareApiKeyId: 'key_00000000000000000000GHOST',
      operatorNo: '77',
      spareOperatorNo: '78',
    };
    secretsOfB = [
      B.merchantId,
      B.name,
      B.terminalId,
      paymentB,
      voidB,
      'B-READ-1',
      'B-ADJUST-1',
      refundB,
      evidenceB,
      returnB,
      'B-RET-1',
      reconB,
      settlementB,
      keyBId,
      ...B.operators.map((o) => o.name),
    ];
    rowsOfBBefore = await rowsOfB();
    otherKeySecret = keyBSecret;
  });

  afterAll(async () => {
    console.log(
      `permission matrix on ${target.name}: ${Object.keys(matrix).length} routes × ${roles.length} callers × 2 merchants; ` +
        `${counts.cells} cells sent, ${counts.notApplicable} without another merchant's resource (each says why), ` +
        `${counts.head} HEAD cells`,
    );
    recordFigures('permission matrix', {
      store: target.name,
      routes: Object.keys(matrix).length,
      callers: roles.length,
      merchants: 2,
      cellsSent: counts.cells,
      notApplicable: counts.notApplicable,
      headCells: counts.head,
    });
    await sys?.close();
  });

  it('has an entry for every /v1 route the app registers, and none for a route it lacks', async () => {
    const live = (await v1Routes(sys.app)).map(routeKey);
    const missing = live.filter((k) => !(k in matrix));
    expect(missing, 'new route not in the permission matrix').toEqual([]);
    const stale = Object.keys(matrix).filter((k) => !live.includes(k));
    expect(stale, 'matrix entry for a route the app no longer registers').toEqual([]);
  });

  it('lists as public exactly the routes the OpenAPI document marks `security: []`', async () => {
    const documented = (await v1Routes(sys.app))
      .filter((r) => r.public)
      .map(routeKey)
      .sort();
    const listed = Object.entries(matrix)
      .filter(([, rule]) => 'public' in rule.allow)
      .map(([k]) => k)
      .sort();
    expect(listed).toEqual(documented);
  });

  async function tokenFor(role: Role, rule: Rule): Promise<Record<string, string>> {
    if (role === 'anonymous') return {};
    if (rule.ownSession && role !== 'apiKey') {
      const op = { cashier: ['01', '1111'], supervisor: ['00', '123456'], admin: ['99', '12345678'] }[role];
      return bearer(await as('A', op[0] ?? '', op[1] ?? ''));
    }
    return bearer(tokens.get(role) ?? '');
  }

  function expectNoLeak(where: string, answer: Answer) {
    for (const secret of secretsOfB)
      expect(answer.body.includes(secret), `${where} shows ${secret}`).toBe(false);
  }

  function expectAllowed(where: string, a: Answer) {
    expect(a.status, `${where}: ${a.body}`).toBeLessThan(500);
    expect(['unauthenticated', 'forbidden', 'not_found'], `${where}: ${a.body}`).not.toContain(a.code);
  }

  const routeEntries = Object.entries(matrix);

  it.each(routeEntries)('%s', async (key, rule) => {
    const [method = 'GET', pattern = ''] = key.split(' ');
    const heads = new Set(headRoutes(sys.app).map((r) => r.path));
    for (const role of roles) {
      for (const variant of ['own', 'other'] as const) {
        const where = `${key} as ${role} (${variant} merchant)`;
        if (variant === 'other' && rule.other.kind === 'none' && !('public' in rule.allow)) {
          counts.notApplicable++;
          continue;
        }
        if (variant === 'other' && 'public' in rule.allow && rule.allow.other === undefined) {
          counts.notApplicable++;
          continue;
        }
        const req = rule.request(variant === 'own' ? own : other, role);
        // The request is the route's: its path fits the pattern.
        expect(req.path.split('?')[0], where).toMatch(
          new RegExp(`^${pattern.replace(/:[A-Za-z]+/g, '[^/]+')}$`),
        );
        const headers = await tokenFor(role, rule);
        const answer = await inject(method, req.path, headers, req.body);
        counts.cells++;
        expect(answer.status, `${where}: ${answer.body}`).toBeLessThan(500);
        if (answer.status < 300 || variant === 'own') expectNoLeak(where, answer);

        if (method === 'GET' && heads.has(pattern)) {
          const head = await inject('HEAD', req.path, headers);
          counts.head++;
          expect(head.status, `HEAD ${where}`).toBe(answer.status);
        }

        if ('public' in rule.allow) {
          expect(answer.status, `${where}: ${answer.body}`).toBe(
            variant === 'own' ? rule.allow.own : rule.allow.other,
          );
          continue;
        }
        if (role === 'anonymous') {
          expect({ status: answer.status, code: answer.code }, where).toEqual({
            status: 401,
            code: 'unauthenticated',
          });
          continue;
        }
        const special = rule.answers?.[role];
        if (special) {
          expect({ status: answer.status, code: answer.code }, where).toEqual(special);
          continue;
        }
        const allowed = (rule.allow as readonly Role[]).includes(role);
        if (!allowed) {
          expect({ status: answer.status, code: answer.code }, `${where}: ${answer.body}`).toEqual({
            status: 403,
            code: 'forbidden',
          });
          continue;
        }
        if (variant === 'own') {
          expectAllowed(where, answer);
          continue;
        }
        switch (rule.other.kind) {
          case 'resource': {
            expect({ status: answer.status, code: answer.code }, `${where}: ${answer.body}`).toEqual({
              status: 404,
              code: 'not_found',
            });
            // A made-up id gets the same answer: nothing tells that B's resource exists.
            const made = rule.request(ghost, role);
            const madeUp = await inject(method, made.path, headers, made.body);
            expect({ status: madeUp.status, code: madeUp.code }, `${where}, made-up id`).toEqual({
              status: answer.status,
              code: answer.code,
            });
            break;
          }
          case 'list':
            expect(answer.status, `${where}: ${answer.body}`).toBe(200);
            expectNoLeak(where, answer);
            break;
          case 'succeeds':
            expect(answer.status, `${where}: ${answer.body}`).toBe(rule.other.status);
            break;
        }
      }
    }
  });

  it('left everything of the other merchant as it was, and its API key still works', async () => {
    expect(await rowsOfB()).toEqual(rowsOfBBefore);
    const listed = await inject('GET', '/v1/payments', bearer(otherKeySecret));
    expect(listed.status).toBe(200);
    expect(listed.body).toContain(other.paymentId);
    const refund = await inject('GET', `/v1/refunds/${other.refundId}`, bearer(otherKeySecret));
    expect(JSON.parse(refund.body)).toMatchObject({ id: other.refundId, status: 'requested' });
  });
});
