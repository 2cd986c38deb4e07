import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterRightPassword,
  afterWrongPassword,
  beginCheck,
  can,
  isLocked,
  type LockState,
  type Permission,
  type Principal,
  permissions,
  permissionTable,
  requirePermission,
  roles,
} from '../../src/domain/auth.js';
import { domainError, T0 } from './fixtures.js';

const MIN_MS = 60_000;
const lockout = { maxAttempts: 5, minutes: 15 };
const fresh: LockState = { failedAttempts: 0, lockedUntil: null };
const at = (minutes: number) => new Date(T0.getTime() + minutes * MIN_MS);

/** The expected table, written out from PRODUCT.md §1 and §7 independently of the source. */
const expected: Record<Principal, Permission[]> = {
  cashier: [
    'payment.create',
    'payment.read',
    'payment.void',
    'refund.create',
    'refund.read',
    'order.adjust',
    'settlement.create',
    'return.create',
    'policy.read',
  ],
  supervisor: [
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

describe('permission table', () => {
  it('grants each principal exactly its permissions', () => {
    for (const principal of [...roles, 'merchant_system'] as const) {
      for (const permission of permissions) {
        expect(can(principal, permission), `${principal} ${permission}`).toBe(
          expected[principal].includes(permission),
        );
      }
      expect([...permissionTable[principal]].sort()).toEqual([...expected[principal]].sort());
    }
  });

  it('a cashier cannot approve or review refunds, write the policy, read the audit log or manage operators', () => {
    for (const p of [
      'refund.approve',
      'refund.review',
      'policy.write',
      'audit.read',
      'report.read',
      'reconciliation.run',
      'operator.manage',
    ] as const) {
      expect(can('cashier', p), p).toBe(false);
    }
  });

  it('a cashier can sell, refund, void, adjust and settle', () => {
    for (const p of [
      'payment.create',
      'refund.create',
      'payment.void',
      'order.adjust',
      'settlement.create',
    ] as const) {
      expect(can('cashier', p), p).toBe(true);
    }
  });

  it('a supervisor can approve and review refunds but not write the policy', () => {
    expect(can('supervisor', 'refund.approve')).toBe(true);
    expect(can('supervisor', 'reconciliation.run')).toBe(true);
    expect(can('supervisor', 'refund.review')).toBe(true);
    expect(can('supervisor', 'policy.write')).toBe(false);
    expect(can('supervisor', 'operator.manage')).toBe(false);
  });

  it('an admin can do everything', () => {
    for (const p of permissions) expect(can('admin', p), p).toBe(true);
  });

  it('a merchant system cannot void, adjust, approve, settle or change the policy', () => {
    for (const p of [
      'payment.void',
      'order.adjust',
      'refund.approve',
      'settlement.create',
      'policy.write',
    ] as const) {
      expect(can('merchant_system', p), p).toBe(false);
    }
  });

  it('requirePermission refuses with forbidden and lets allowed principals through', () => {
    const error = domainError(() => requirePermission('cashier', 'refund.approve'), 'forbidden');
    expect(error.detail).toBe('a cashier may not refund approve');
    domainError(() => requirePermission('merchant_system', 'payment.void'), 'forbidden');
    expect(() => requirePermission('supervisor', 'refund.approve')).not.toThrow();
  });
});

/** A wrong password, checked. */
const wrong = afterWrongPassword;

describe('supervisor lockout', () => {
  it('starts at most maxAttempts checks at once, and waits (busy) rather than locking', () => {
    expect(beginCheck(fresh, 0, at(0), lockout)).toBe('allowed');
    expect(beginCheck(fresh, lockout.maxAttempts - 1, at(0), lockout)).toBe('allowed');
    expect(beginCheck(fresh, lockout.maxAttempts, at(0), lockout)).toBe('busy');
    expect(beginCheck({ failedAttempts: 3, lockedUntil: null }, 2, at(0), lockout)).toBe('busy');
    expect(beginCheck({ failedAttempts: 0, lockedUntil: at(15) }, 0, at(1), lockout)).toBe('locked');
    // An expired lock counts nothing any more.
    expect(beginCheck({ failedAttempts: 5, lockedUntil: at(15) }, 0, at(15), lockout)).toBe('allowed');
  });

  it('a burst of wrong guesses gets at most maxAttempts checked before the lock', () => {
    let state = fresh;
    let running = 0;
    let checked = 0;
    // 50 guesses arrive; each check finishes (wrong) only after all have tried to start.
    for (let i = 0; i < 50; i++) {
      if (beginCheck(state, running, at(0), lockout) === 'allowed') {
        running++;
        checked++;
      }
    }
    for (; running > 0; running--) state = wrong(state, at(0), lockout);
    expect(checked).toBe(lockout.maxAttempts);
    expect(isLocked(state, at(0))).toBe(true);
    expect(beginCheck(state, 0, at(0), lockout)).toBe('locked');
  });

  it('a right password starts afresh, but never lifts a lock set meanwhile', () => {
    expect(afterRightPassword({ failedAttempts: 3, lockedUntil: null }, at(0))).toEqual({
      failedAttempts: 0,
      lockedUntil: null,
    });
    const locked: LockState = { failedAttempts: 5, lockedUntil: at(15) };
    expect(afterRightPassword(locked, at(1))).toEqual(locked);
  });

  it('counts wrong passwords below the limit without locking', () => {
    let state = fresh;
    for (let i = 1; i < lockout.maxAttempts; i++) {
      state = wrong(state, at(i), lockout);
      expect(state).toEqual({ failedAttempts: i, lockedUntil: null });
      expect(isLocked(state, at(i))).toBe(false);
    }
  });

  it('locks for the policy minutes at the max-th wrong password', () => {
    const state = wrong({ failedAttempts: 4, lockedUntil: null }, at(0), lockout);
    expect(state.lockedUntil).toEqual(at(15));
    expect(isLocked(state, at(0))).toBe(true);
    expect(isLocked(state, new Date(at(15).getTime() - 1))).toBe(true);
  });

  it('locks at once when the limit is one', () => {
    const state = wrong(fresh, at(0), { maxAttempts: 1, minutes: 2 });
    expect(state.lockedUntil).toEqual(at(2));
  });

  it('the lock expires exactly at lockedUntil', () => {
    const state: LockState = { failedAttempts: 0, lockedUntil: at(15) };
    expect(isLocked(state, at(15))).toBe(false);
    expect(isLocked(state, at(16))).toBe(false);
    expect(isLocked(fresh, at(0))).toBe(false);
  });

  it('counting restarts from one after the lock expired', () => {
    const expired: LockState = { failedAttempts: 3, lockedUntil: at(15) };
    expect(wrong(expired, at(15), lockout)).toEqual({ failedAttempts: 1, lockedUntil: null });
    expect(wrong(expired, at(20), lockout)).toEqual({ failedAttempts: 1, lockedUntil: null });
  });

  it('a wrong password while locked keeps the lock (a concurrent attempt cannot unlock it)', () => {
    const locked: LockState = { failedAttempts: 0, lockedUntil: at(15) };
    const after = wrong(locked, at(5), lockout);
    expect(isLocked(after, at(5))).toBe(true);
    expect(after.lockedUntil).toEqual(at(15));
  });

  it('any sequence of wrong passwords locks at every max-th attempt and is never unlocked early (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 30 }),
        (maxAttempts, minutes, gaps) => {
          const rule = { maxAttempts, minutes };
          let state = fresh;
          let now = 0;
          let counted = 0;
          let lockedUntilMin: number | null = null;
          for (const gap of gaps) {
            now += gap;
            const wasLocked = lockedUntilMin !== null && lockedUntilMin > now;
            expect(isLocked(state, at(now))).toBe(wasLocked);
            state = wrong(state, at(now), rule);
            if (wasLocked) {
              expect(state.lockedUntil).toEqual(at(lockedUntilMin as number));
              continue;
            }
            counted++;
            if (counted >= maxAttempts) {
              lockedUntilMin = now + minutes;
              counted = 0;
              expect(state.lockedUntil).toEqual(at(lockedUntilMin));
            } else {
              expect(state).toEqual({ failedAttempts: counted, lockedUntil: null });
            }
          }
        },
      ),
    );
  });
});
