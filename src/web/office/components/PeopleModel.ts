import type { OperatorInfo } from '../../shared/api';

/** Roles, lowest first: a change to an earlier one is a demotion (asked before it is made). */
export type Role = OperatorInfo['role'];
export const roleList: readonly Role[] = ['cashier', 'supervisor', 'admin'];
export const isDemotion = (from: Role, to: Role): boolean => roleList.indexOf(to) < roleList.indexOf(from);
/**
 * A cashier made supervisor or admin needs a new password with the role: a cashier's may be as
 * short as 4 characters and would become a refund password (the API's rule, `password_required`
 * in domain/auth.ts `checkRoleChangePassword`; asked for here so the admin types it first).
 */
export const needsNewPassword = (from: Role, to: Role): boolean => from === 'cashier' && to !== 'cashier';

/** A sign-in lock or a refund-password lock in force. */
export const isLocked = (o: OperatorInfo): boolean =>
  o.signInLockedUntil !== null || o.approvalLockedUntil !== null;
