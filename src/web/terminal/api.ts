/**
 * The terminal's client of REST API v1 (PRODUCT.md §9): bearer session, JSON in and out,
 * problem+json errors turned into ApiError values that keep every field of the problem.
 */

export type Lang = 'zh-CN' | 'zh-TW' | 'en';
export type Localized = Record<Lang, string>;

export type PaymentMethod = 'card' | 'qr' | 'cash';
export type PaymentStatus = 'captured' | 'voided' | 'refunded' | 'partially_refunded';
export type RefundStatus =
  | 'requested'
  | 'under_review'
  | 'approved'
  | 'processing'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'canceled';
export const reasonCodes = [
  'quality_issue',
  'service_not_provided',
  'expired_goods',
  'transaction_error',
  'duplicate_payment',
  'other',
] as const;
export type ReasonCode = (typeof reasonCodes)[number];
export type Reason = { code: ReasonCode; note?: string };
export type Approval = { operatorNo: string; password: string };

export interface LineItem {
  sku: string;
  name: string;
  qty: number;
  unitAmount: number;
  refundedQty: number;
}

export interface Payment {
  id: string;
  orderNo: string;
  kind?: 'sale' | 'charge';
  amount: number;
  currency: string;
  method: PaymentMethod;
  status: PaymentStatus;
  refundedAmount: number;
  inFlightAmount?: number;
  refundableAmount: number;
  settled: boolean;
  terminalId?: string;
  card?: { last4: string };
  items?: LineItem[];
  network?: { reference: string | null };
  createdAt: string;
}

export interface Outcome {
  code?: string;
  kind: 'success' | 'failure' | 'delay';
  message: Localized;
  fix: Localized;
}

export interface Refund {
  id: string;
  paymentId: string;
  orderNo: string;
  amount: number;
  fee: number;
  netAmount: number;
  currency: string;
  reason: { code: ReasonCode; note: string | null };
  method: 'original' | 'cash' | 'bank_transfer';
  status: RefundStatus;
  items?: { sku: string; qty: number; amountMinor: number }[];
  approvals: { operatorNo: string; at: string }[];
  consumer?: Record<string, string> | null;
  delayed: boolean;
  expectedArrival: string | null;
  network: { reference: string | null; responseCode: string | null; outcome?: Outcome | null };
  createdAt: string;
  updatedAt: string;
}

export interface Policy {
  refundsEnabled: boolean;
  largeRefundThreshold: number;
  maxRefundAmount: number;
  feeRule: { originalFee: 'prorata' | 'kept'; handlingFee: number };
  methods: string[];
  reasons: ReasonCode[];
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
  nextCursor: string | null;
}

export interface Session {
  token: string;
  operator: { no: string; role: 'cashier' | 'supervisor' | 'admin'; name?: string };
  terminalId: string;
  merchantId?: string;
}

export interface Bucket {
  count: number;
  amount: number;
}

export interface Settlement {
  id: string;
  terminalId: string;
  batchNo: number;
  totals: { sales: Bucket; voids: Bucket; refunds: Bucket; cash?: Bucket };
  reconciliation: {
    balanced: boolean;
    differences: { bucket: string; local: Bucket; network: Bucket }[];
  };
  createdAt: string;
}

export interface Adjustment {
  id: string;
  orderNo: string;
  difference: number;
  refund?: Refund;
  charge?: Payment;
}

export interface Order {
  orderNo: string;
  currentAmount: number;
  payments: Payment[];
  refunds: Refund[];
  revisions: { revision: number; originalAmount: number; newAmount: number; createdAt: string }[];
}

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  code: string;
  detail?: string;
  [extra: string]: unknown;
}

/** A refused or failed request; `problem.code` is the contract's stable code, or `offline`. */
export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(`${problem.code}: ${problem.detail ?? ''}`);
    this.problem = problem;
  }
  get code(): string {
    return this.problem.code;
  }
}

/** Requests longer than this are given up as "offline": the cashier must not stare at a spinner. */
const REQUEST_TIMEOUT_MS = 20_000;

export function newIdempotencyKey(): string {
  return `term-${crypto.randomUUID()}`;
}

export async function request<T>(
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; idempotencyKey?: string; accept?: string } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: opts.accept ?? 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    throw new ApiError({ status: 0, code: 'offline' });
  }
  const text = await res.text();
  if (!res.ok) {
    let problem: Problem = { status: res.status, code: res.status >= 500 ? 'internal_error' : 'unknown' };
    try {
      const parsed = JSON.parse(text) as Partial<Problem>;
      if (parsed && typeof parsed.code === 'string') problem = { ...parsed, status: res.status } as Problem;
    } catch {
      // not JSON: keep the generic problem
    }
    throw new ApiError(problem);
  }
  if (opts.accept && !opts.accept.includes('json')) return text as T;
  return (text ? JSON.parse(text) : null) as T;
}

/** Calls made with the signed-in operator's token. */
export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown, idempotencyKey?: string): Promise<T>;
  del(path: string): Promise<void>;
  text(path: string, accept: string): Promise<string>;
}

export function apiFor(token: string, onUnauthenticated: () => void): Api {
  const guard = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'unauthenticated') onUnauthenticated();
      throw err;
    }
  };
  return {
    get: (path) => guard(request('GET', path, { token })),
    // Every mutating call carries a key; screens that may retry pass their own to keep it stable.
    post: (path, body, idempotencyKey) =>
      guard(request('POST', path, { token, body, idempotencyKey: idempotencyKey ?? newIdempotencyKey() })),
    del: (path) => guard(request<void>('DELETE', path, { token })),
    text: (path, accept) => guard(request<string>('GET', path, { token, accept })),
  };
}

export const q = (params: Record<string, string | number | undefined>): string => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') s.set(k, String(v));
  const text = s.toString();
  return text ? `?${text}` : '';
};
