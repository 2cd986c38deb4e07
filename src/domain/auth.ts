import { DomainError } from './errors.js';

export const roles = ['cashier', 'supervisor', 'admin'] as const;
export type Role = (typeof roles)[number];
/** A merchant system calling with an API key acts with this role. */
export type Principal = Role | 'merchant_system';

export const permissions = [
  'payment.create',
  'payment.read',
  'payment.void',
  'refund.create',
  'refund.read',
  'refund.review',
  'refund.approve',
  'order.adjust',
  'settlement.create',
  'return.create',
  'policy.read',
  'policy.write',
  'audit.read',
  'reconciliation.run',
  'operator.manage',
] as const;
export type Permission = (typeof permissions)[number];

const cashier: Permission[] = [
  'payment.create',
  'payment.read',
  'payment.void',
  'refund.create',
  'refund.read',
  'order.adjust',
  'settlement.create',
  'return.create',
  'policy.read',
];

/** Who may do what. Approving (the refund password) is the supervisor's, never the cashier's. */
export const permissionTable: Readonly<Record<Principal, readonly Permission[]>> = {
  cashier,
  supervisor: [...cashier, 'refund.review', 'refund.approve', 'audit.read', 'reconciliation.run'],
  admin: [...permissions],
  merchant_system: [
    'payment.create',
    'payment.read',
    'refund.create',
    'refund.read',
    'return.create',
    'policy.read',
  ],
};

export function can(principal: Principal, permission: Permission): boolean {
  return permissionTable[principal].includes(permission);
}

export function requirePermission(principal: Principal, permission: Permission): void {
  if (!can(principal, permission)) {
    throw new DomainError('forbidden', `a ${principal} may not ${permission.replace('.', ' ')}`);
  }
}

export interface LockState {
  failedAttempts: number;
  lockedUntil: Date | null;
}

export function isLocked(state: LockState, now: Date): boolean {
  return state.lockedUntil !== null && state.lockedUntil.getTime() > now.getTime();
}

/**
 * Before a password is checked: count the guess first, under the operator's lock, so that however
 * many guesses arrive at once at most `maxAttempts` are ever evaluated per lock window. The guess
 * that reaches the limit sets the lock itself; if it turns out right, `afterRightPassword` lifts
 * only that provisional lock, and only when no other guess came in since.
 */
export function beginAttempt(
  state: LockState,
  now: Date,
  lockout: { maxAttempts: number; minutes: number },
): { allowed: boolean; state: LockState } {
  if (isLocked(state, now)) return { allowed: false, state };
  const expired = state.lockedUntil !== null && state.lockedUntil.getTime() <= now.getTime();
  const failedAttempts = (expired ? 0 : state.failedAttempts) + 1;
  const lockedUntil =
    failedAttempts >= lockout.maxAttempts ? new Date(now.getTime() + lockout.minutes * 60_000) : null;
  return { allowed: true, state: { failedAttempts, lockedUntil } };
}

/**
 * The counted guess was right. If the stored state is still exactly what this guess wrote, nobody
 * else guessed meanwhile: start afresh. Otherwise take back only this guess's count and leave any
 * lock in place — a success never clears a lock that other guesses earned.
 */
export function afterRightPassword(stored: LockState, written: LockState): LockState {
  const same =
    stored.failedAttempts === written.failedAttempts &&
    (stored.lockedUntil?.getTime() ?? null) === (written.lockedUntil?.getTime() ?? null);
  if (same) return { failedAttempts: 0, lockedUntil: null };
  return { failedAttempts: Math.max(0, stored.failedAttempts - 1), lockedUntil: stored.lockedUntil };
}
