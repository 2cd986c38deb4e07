import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import argon2 from 'argon2';

/**
 * Secrets at rest. Consumer personal data is sealed with AES-256-GCM under the data key; card
 * numbers become an HMAC token plus BIN and last four; passwords are argon2id hashes.
 */
export interface Secrets {
  /** 32 bytes: AES-256-GCM key for consumer personal data. */
  dataKey: Buffer;
  /** 32 bytes: HMAC key for card tokens and signed QR tokens. */
  tokenKey: Buffer;
}

// OWASP's argon2id minimum (19 MiB, t=2, p=1): memory-hard, and quick enough for a counter.
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

export function seal(secrets: Secrets, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secrets.dataKey, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `v1.${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

export function unseal(secrets: Secrets, sealed: string): string {
  const [v, iv, body, tag] = sealed.split('.');
  if (v !== 'v1' || !iv || !body || !tag) throw new Error('not a sealed value');
  const decipher = createDecipheriv('aes-256-gcm', secrets.dataKey, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}

export function cardToken(secrets: Secrets, pan: string): string {
  return `tok_${createHmac('sha256', secrets.tokenKey).update(pan).digest('base64url').slice(0, 32)}`;
}

export function sha256Hex(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function randomToken(prefix: string): string {
  return `${prefix}${randomBytes(24).toString('base64url')}`;
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Masks for screens and receipts: enough to recognise, too little to misuse. */
export const mask = {
  phone: (p: string) => (p.length >= 7 ? `${p.slice(0, 3)}****${p.slice(-4)}` : '****'),
  email: (e: string) => {
    const [user = '', domain = ''] = e.split('@');
    return `${user.slice(0, 1)}***@${domain}`;
  },
  name: (n: string) => {
    const chars = [...n];
    return chars.length <= 1 ? '*' : `${chars[0]}${'*'.repeat(Math.min(chars.length - 1, 3))}`;
  },
  bankAccount: (a: string) => `****${a.slice(-4)}`,
};

export interface ConsumerContact {
  name?: string | undefined;
  phone?: string | undefined;
  email?: string | undefined;
  bankAccount?: string | undefined;
}

export function maskConsumer(c: ConsumerContact): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.name) out.name = mask.name(c.name);
  if (c.phone) out.phone = mask.phone(c.phone);
  if (c.email) out.email = mask.email(c.email);
  if (c.bankAccount) out.bankAccount = mask.bankAccount(c.bankAccount);
  return out;
}
