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

/** After a wrong password: count it, and lock once the policy's limit is reached. */
export function afterFailedAttempt(
  state: LockState,
  now: Date,
  lockout: { maxAttempts: number; minutes: number },
): LockState {
  // A wrong password while locked (a concurrent attempt that passed the lock check) keeps the lock.
  if (isLocked(state, now)) return { ...state };
  const base = state.lockedUntil && state.lockedUntil.getTime() <= now.getTime() ? 0 : state.failedAttempts;
  const failedAttempts = base + 1;
  if (failedAttempts >= lockout.maxAttempts) {
    return { failedAttempts: 0, lockedUntil: new Date(now.getTime() + lockout.minutes * 60_000) };
  }
  return { failedAttempts, lockedUntil: null };
}
