/**
 * The web apps' client of REST API v1 (PRODUCT.md §9), shared by the terminal and the back office:
 * bearer session, JSON in and out,
 * problem+json errors turned into ApiError values that keep every field of the problem.
 */

import { everyValueOf, type ReasonCode } from './api-types';

export type * from './api-types';

/** The reason picker's codes, in its order: the compiler holds the list to the API's codes. */
export const reasonCodes = everyValueOf<ReasonCode>()([
  'quality_issue',
  'service_not_provided',
  'expired_goods',
  'transaction_error',
  'duplicate_payment',
  'other',
]);

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
  return `web-${crypto.randomUUID()}`;
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
  put<T>(path: string, body: unknown, idempotencyKey?: string): Promise<T>;
  patch<T>(path: string, body: unknown, idempotencyKey?: string): Promise<T>;
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
    put: (path, body, idempotencyKey) =>
      guard(request('PUT', path, { token, body, idempotencyKey: idempotencyKey ?? newIdempotencyKey() })),
    patch: (path, body, idempotencyKey) =>
      guard(request('PATCH', path, { token, body, idempotencyKey: idempotencyKey ?? newIdempotencyKey() })),
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
