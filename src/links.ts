import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { currentKey, KEY_ID_PATTERN, KeyRingError, type Secrets, safeEqual } from './security.js';

/**
 * The consumer's two links (issue 12), both made with the token key ring (security.ts), each under
 * a key of its own derived with HKDF-SHA256 (a card-token key never serves a second purpose):
 *
 * - The **return link** (the QR a merchant shows, 扫码退货): the return's id, the merchant's id and
 *   the expiry — ids and a time, no personal data — with the key id and an HMAC-SHA256 over them
 *   (`signReturnLink`). A signed token rather than a
 *   random one so that a forged or altered link is refused before the store is asked; that it works
 *   once and expires is decided by the return's row (service/returns.ts).
 *   Why not a JWS library: the token is one HMAC over two fields with the key id in it, made and
 *   checked here only; a JWS header, algorithm negotiation and its historic `alg` pitfalls would add
 *   nothing a consumer or a receiver needs.
 * - The **status link** of a refund (`/t/<token>`): 32 base64url characters (192 bits) of
 *   HMAC-SHA256(refund id) under the derived key — a long capability nobody can guess, derived, so a
 *   reprinted voucher carries the same link without the link being stored. The store keeps its
 *   SHA-256 (`refunds.tracking_hash`, looked up on every visit) and the key id it was made under.
 */
const RETURN_INFO = 'refund-desk return link v1';
const TRACKING_INFO = 'refund-desk tracking link v1';
export const TRACKING_TOKEN_CHARS = 32;
const TRACKING_TOKEN = new RegExp(`^[A-Za-z0-9_-]{${TRACKING_TOKEN_CHARS}}$`);

function derived(key: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 32));
}

function keyOf(secrets: Secrets, id: string): Buffer | null {
  const find = () => secrets.token.keys.find((k) => k.id === id)?.key ?? null;
  const found = find();
  if (found || !secrets.refresh) return found;
  secrets.refresh();
  return find();
}

export interface ReturnLinkClaims {
  returnId: string;
  merchantId: string;
  /** Unix seconds. */
  expiresAt: number;
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const MERCHANT = /^[A-Za-z0-9_-]{1,32}$/;
const RETURN_MAC_CHARS = 22;

function returnMac(key: Buffer, signed: string): string {
  // 128 bits of HMAC-SHA256 (RFC 2104 §5 truncation; NIST SP 800-107 allows ≥ 64): the link is
  // short enough for a small QR and a path segment, and a forger has a 2^-128 chance per try —
  // at the routes' rate limit, never.
  return createHmac('sha256', derived(key, RETURN_INFO))
    .update(signed)
    .digest('base64url')
    .slice(0, RETURN_MAC_CHARS);
}

/**
 * A return link's token under the current token key, and that key's id:
 * `<return ULID>.<merchant id>.<expiry, unix seconds in base 36>.<key id>.<MAC>` (≈ 75 characters).
 */
export function signReturnLink(secrets: Secrets, claims: ReturnLinkClaims): { token: string; keyId: string } {
  const { id, key } = currentKey(secrets.token);
  const ulidPart = claims.returnId.replace(/^rt_/, '');
  if (!ULID.test(ulidPart) || !MERCHANT.test(claims.merchantId) || !Number.isSafeInteger(claims.expiresAt))
    throw new Error('a return link names a return ULID, a merchant id and an expiry');
  const signed = `${ulidPart}.${claims.merchantId}.${claims.expiresAt.toString(36)}.${id}`;
  return { token: `${signed}.${returnMac(key, signed)}`, keyId: id };
}

/** The claims of a return link whose signature holds, or null (malformed, unknown key, altered). */
export function verifyReturnLink(secrets: Secrets, token: string): ReturnLinkClaims | null {
  if (token.length > 200) return null;
  const parts = token.split('.');
  if (parts.length !== 5) return null;
  const [ulidPart = '', merchantId = '', exp = '', id = '', mac = ''] = parts;
  if (!ULID.test(ulidPart) || !MERCHANT.test(merchantId) || !/^[0-9a-z]{1,11}$/.test(exp)) return null;
  if (!KEY_ID_PATTERN.test(id) || mac.length !== RETURN_MAC_CHARS) return null;
  const key = keyOf(secrets, id);
  if (!key) return null;
  if (!safeEqual(returnMac(key, `${ulidPart}.${merchantId}.${exp}.${id}`), mac)) return null;
  return { returnId: `rt_${ulidPart}`, merchantId, expiresAt: Number.parseInt(exp, 36) };
}

/** SHA-256 (hex) of a status link's token: what the store keeps and looks up. */
export function trackingHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether a string has the shape of a status link's token (checked before any lookup). */
export function isTrackingToken(token: string): boolean {
  return TRACKING_TOKEN.test(token);
}

/**
 * A refund's status-link token: under token key `keyId` (a stored refund's `tracking_key`), or the
 * current key for a new refund. Throws `unknown_key` when that key has been removed from the ring.
 */
export function trackingToken(
  secrets: Secrets,
  refundId: string,
  keyId?: string,
): { token: string; hash: string; keyId: string } {
  const ring = keyId === undefined ? currentKey(secrets.token) : { id: keyId, key: keyOf(secrets, keyId) };
  if (!ring.key) throw new KeyRingError('unknown_key', `no token key ${keyId} in the ring`);
  const token = createHmac('sha256', derived(ring.key, TRACKING_INFO))
    .update(refundId)
    .digest('base64url')
    .slice(0, TRACKING_TOKEN_CHARS);
  return { token, hash: trackingHash(token), keyId: ring.id };
}

/** Where the consumer's pages are: `<origin>/r/<token>` (return), `<origin>/t/<token>` (status). */
export const returnUrl = (origin: string, token: string) => `${origin}/r/${token}`;
export const trackingUrl = (origin: string, token: string) => `${origin}/t/${token}`;
