/**
 * The consumer's two pages share one index.html (src/api/web.ts `consumerPageRoutes`): the path
 * says which — `/r/<token>` the return page a QR opens, `/t/<token>` a refund's status page.
 * Anything else (the bare `/consumer/`) is the landing note.
 */
export type Route = { page: 'return' | 'status'; token: string } | { page: 'landing' };

/** Tokens are short (return ≤ 100, status ≤ 64 characters); a longer path is not one of ours. */
const MAX_TOKEN_LENGTH = 200;

export function parseRoute(pathname: string): Route {
  const m = /^\/([rt])\/([^/]+)\/?$/.exec(pathname);
  if (!m?.[2] || m[2].length > MAX_TOKEN_LENGTH) return { page: 'landing' };
  let token: string;
  try {
    token = decodeURIComponent(m[2]);
  } catch {
    token = m[2];
  }
  return { page: m[1] === 'r' ? 'return' : 'status', token };
}

/** The status page's path of a tracking URL the API answered (its origin may be a public one). */
export function statusPath(trackingUrl: string): string {
  try {
    return new URL(trackingUrl, location.origin).pathname;
  } catch {
    return trackingUrl;
  }
}
