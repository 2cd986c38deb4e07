import { DomainError } from './errors.js';

export const roles = ['cashier', 'supervisor', 'admin'] as const;
export type Role = (typeof roles)[number];
/** Where an operator's session was opened: at a terminal, or in the back office (no terminal). */
export const sessionSurfaces = ['terminal', 'office'] as const;
export type SessionSurface = (typeof sessionSurfaces)[number];

/** The back office is for supervisors and admins; cashiers sign in at a terminal. */
export function mayUseOffice(role: Role): boolean {
  return role !== 'cashier';
}

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
  'report.read',
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
  supervisor: [
    ...cashier,
    'refund.review',
    'refund.approve',
    'audit.read',
    'report.read',
    'reconciliation.run',
  ],
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

/**
 * Shortest password per role. A cashier types theirs on the terminal's keypad many times a day; a
 * supervisor's is also the refund password (退款密码), and an admin's opens the back office.
 */
export const MIN_PASSWORD_LENGTH: Readonly<Record<Role, number>> = { cashier: 4, supervisor: 6, admin: 6 };
export const MAX_PASSWORD_LENGTH = 64;

/** Refuse a password too short for the role it will be used in (`password_too_weak`). */
export function checkPasswordRule(role: Role, password: string): void {
  const min = MIN_PASSWORD_LENGTH[role];
  // Counted in characters as typed, not UTF-16 units.
  if ([...password].length < min) {
    throw new DomainError('password_too_weak', `a ${role}'s password needs at least ${min} characters`, {
      minLength: min,
    });
  }
}

/**
 * A role change that raises the shortest password (cashier → supervisor or admin) needs a new
 * password with it (`password_required`): the old one was only measured against the old role — a
 * cashier's 4 keypad digits — and its hash cannot tell how long it is, so keeping it would make it
 * a refund password. A new password given with any change is measured against the new role.
 */
export function checkRoleChangePassword(
  operatorNo: string,
  from: Role,
  to: Role,
  password: string | undefined,
): void {
  if (password !== undefined) {
    checkPasswordRule(to, password);
    return;
  }
  const min = MIN_PASSWORD_LENGTH[to];
  if (min > MIN_PASSWORD_LENGTH[from]) {
    throw new DomainError(
      'password_required',
      `operator ${operatorNo} goes from ${from} to ${to}: their password was set for a ${from} and may be ` +
        `shorter than the ${min} characters a ${to}'s needs, so send a new password with the new role`,
      { minLength: min },
    );
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
 * May another password check start? Wrong guesses already counted plus checks still running must
 * stay below the limit, so however many guesses arrive at once at most `maxAttempts` wrong ones are
 * ever checked in a lock window. `busy` is not a lock: a right password (several supervisors'
 * approvals at once) waits for a running check to finish.
 */
export function beginCheck(
  state: LockState,
  checksRunning: number,
  now: Date,
  lockout: { maxAttempts: number },
): 'allowed' | 'locked' | 'busy' {
  if (isLocked(state, now)) return 'locked';
  return countedFailures(state, now) + checksRunning < lockout.maxAttempts ? 'allowed' : 'busy';
}

/** Failures that still count: none once a lock has expired. */
function countedFailures(state: LockState, now: Date): number {
  const expired = state.lockedUntil !== null && state.lockedUntil.getTime() <= now.getTime();
  return expired ? 0 : state.failedAttempts;
}

/** A checked password was wrong: count it, and lock once the policy's limit is reached. */
export function afterWrongPassword(
  state: LockState,
  now: Date,
  lockout: { maxAttempts: number; minutes: number },
): LockState {
  // A lock set meanwhile by other wrong guesses stays as it is.
  if (isLocked(state, now)) return { ...state };
  const failedAttempts = countedFailures(state, now) + 1;
  if (failedAttempts >= lockout.maxAttempts) {
    return { failedAttempts, lockedUntil: new Date(now.getTime() + lockout.minutes * 60_000) };
  }
  return { failedAttempts, lockedUntil: null };
}

/** A checked password was right: start afresh — unless a lock was set meanwhile, which stays. */
export function afterRightPassword(state: LockState, now: Date): LockState {
  return isLocked(state, now) ? { ...state } : { failedAttempts: 0, lockedUntil: null };
}
