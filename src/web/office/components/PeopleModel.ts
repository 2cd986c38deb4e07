import type { OperatorInfo } from '../../shared/api';

/** Roles, lowest first: a change to an earlier one is a demotion (asked before it is made). */
export type Role = OperatorInfo['role'];
export const roleList: readonly Role[] = ['cashier', 'supervisor', 'admin'];
export const isDemotion = (from: Role, to: Role): boolean => roleList.indexOf(to) < roleList.indexOf(from);

/** A sign-in lock or a refund-password lock in force. */
export const isLocked = (o: OperatorInfo): boolean =>
  o.signInLockedUntil !== null || o.approvalLockedUntil !== null;
