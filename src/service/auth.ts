import {
  afterRightPassword,
  afterWrongPassword,
  beginCheck,
  type LockState,
  requirePermission,
} from '../domain/auth.js';
import { DomainError } from '../domain/errors.js';
import type { Policy } from '../domain/policy.js';
import type { VerifiedApproval } from '../domain/refund.js';
import { checkDistinctApprovers } from '../domain/refund.js';
import { ulid } from '../ids.js';
import { hashPassword, randomToken, sha256Hex, verifyPassword } from '../security.js';
import { appendAudit } from '../store/audit.js';
import { forUpdate, type Tx } from '../store/db.js';
import { policyOf } from '../store/repo.js';
import type { OperatorTable, PasswordPurpose } from '../store/schema.js';
import type { Caller, Ctx } from './context.js';

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
// A fixed hash verified when the operator does not exist, so timing does not reveal who exists.
let dummyHash: Promise<string> | null = null;

async function policyFor(ctx: Ctx, merchantId: string): Promise<Policy> {
  const m = await ctx.store.db
    .selectFrom('merchants')
    .select('policy_json')
    .where('id', '=', merchantId)
    .executeTakeFirst();
  if (!m) throw new DomainError('not_found', 'merchant not found');
  return policyOf(m);
}

/**
 * Check one operator's password, counting wrong ones in their own transaction (it must stick
 * even when the request that carried it fails) and locking after the policy's limit.
 */
async function checkPassword(
  ctx: Ctx,
  op: OperatorTable | undefined,
  password: string,
  policy: Policy,
  codes: {
    invalid: 'supervisor_password_invalid' | 'unauthenticated';
    locked: 'supervisor_locked' | 'operator_locked';
  },
): Promise<OperatorTable> {
  if (!op) return refuseUnknown(password, codes.invalid);
  const purpose: PasswordPurpose = codes.locked === 'supervisor_locked' ? 'approval' : 'sign_in';
  const checkId = await startCheck(ctx, op, purpose, policy, codes.locked);
  let right: boolean;
  try {
    right = await verifyPassword(op.password_hash, password);
  } catch (err) {
    await endCheck(ctx.store.db, op, checkId);
    throw err;
  }
  const next = await ctx.store.tx(async (trx) => {
    const fresh = await lockOperator(trx, op);
    await endCheck(trx, op, checkId);
    const at = ctx.clock();
    const state = right
      ? afterRightPassword(lockOf(fresh, purpose), at)
      : afterWrongPassword(lockOf(fresh, purpose), at, policy.lockout);
    await storeLock(trx, op, purpose, state);
    if (!right) {
      await appendAudit(trx, {
        merchantId: op.merchant_id,
        actor: `op:${op.operator_no}`,
        action: state.lockedUntil ? 'operator.locked' : 'operator.password_failed',
        entity: 'operator',
        entityId: op.id,
        data: {
          purpose,
          failedAttempts: state.failedAttempts,
          lockedUntil: state.lockedUntil?.toISOString() ?? null,
        },
        at,
      });
    }
    return state;
  });
  if (right) return op;
  if (next.lockedUntil) {
    throw new DomainError(
      codes.locked,
      `operator ${op.operator_no} is now locked for ${policy.lockout.minutes} minutes`,
      {
        lockedUntil: next.lockedUntil.toISOString(),
        retryAfterSeconds: policy.lockout.minutes * 60,
      },
    );
  }
  // At the counter a supervisor's number is no secret, and the tries left help; at sign-in they
  // would tell a stranger which operator numbers exist, so sign-in answers the same for all.
  throw new DomainError(
    codes.invalid,
    WRONG_CREDENTIALS,
    codes.invalid === 'supervisor_password_invalid'
      ? { attemptsLeft: policy.lockout.maxAttempts - next.failedAttempts }
      : undefined,
  );
}

const WRONG_CREDENTIALS = 'operator number or password is wrong';

/** No such terminal or operator: spend the time a real check takes, then answer as for a wrong password. */
async function refuseUnknown(
  password: string,
  code: 'supervisor_password_invalid' | 'unauthenticated' = 'unauthenticated',
): Promise<never> {
  dummyHash ??= hashPassword('not-a-password');
  await verifyPassword(await dummyHash, password);
  throw new DomainError(code, WRONG_CREDENTIALS);
}

/**
 * A check still "running" after this long died with its process (kill -9): it no longer counts.
 * One argon2 check takes tens of milliseconds even behind a busy thread pool.
 */
const CHECK_STALE_MS = 5_000;
/** How long a right password waits for running checks of the same operator before giving up. */
const CHECK_WAIT_MS = 10_000;
const CHECK_POLL_MS = 20;

/**
 * Count this check before the password is looked at, under the operator's row lock: wrong guesses
 * counted plus checks running must stay below the limit (domain `beginCheck`). While they do not,
 * wait for running checks to finish; a lock ends the wait at once.
 */
async function startCheck(
  ctx: Ctx,
  op: OperatorTable,
  purpose: PasswordPurpose,
  policy: Policy,
  lockedCode: 'supervisor_locked' | 'operator_locked',
): Promise<string> {
  const deadline = Date.now() + CHECK_WAIT_MS;
  for (;;) {
    const now = ctx.clock();
    const outcome = await ctx.store.tx(async (trx) => {
      const fresh = await lockOperator(trx, op);
      const running = await trx
        .selectFrom('auth_attempts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('merchant_id', '=', op.merchant_id)
        .where('operator_id', '=', op.id)
        .where('purpose', '=', purpose)
        .where('started_at', '>', new Date(now.getTime() - CHECK_STALE_MS).toISOString())
        .executeTakeFirstOrThrow();
      const lock = lockOf(fresh, purpose);
      const decision = beginCheck(lock, Number(running.n), now, policy.lockout);
      if (decision !== 'allowed') return { decision, lockedUntil: lock.lockedUntil?.toISOString() ?? null };
      const id = `aa_${ulid()}`;
      await trx
        .insertInto('auth_attempts')
        .values({
          id,
          operator_id: op.id,
          merchant_id: op.merchant_id,
          started_at: now.toISOString(),
          purpose,
        })
        .execute();
      return { decision, id };
    });
    if ('id' in outcome && outcome.id) return outcome.id;
    if (outcome.decision === 'locked') {
      const until = outcome.lockedUntil ? new Date(outcome.lockedUntil) : now;
      throw new DomainError(
        lockedCode,
        `operator ${op.operator_no} is locked after repeated wrong passwords`,
        {
          lockedUntil: until.toISOString(),
          retryAfterSeconds: Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000)),
        },
      );
    }
    if (Date.now() > deadline) {
      throw new DomainError(
        'rate_limited',
        `too many password checks for operator ${op.operator_no} at once`,
        {
          retryAfterSeconds: 1,
        },
      );
    }
    await new Promise((r) => setTimeout(r, CHECK_POLL_MS));
  }
}

type OperatorKey = Pick<OperatorTable, 'id' | 'merchant_id'>;

/** The operator's row lock, on its merchant's shard (the operator row already read names it). */
async function lockOperator(trx: Tx, op: OperatorKey): Promise<OperatorTable> {
  return forUpdate(
    trx,
    trx.selectFrom('operators').selectAll().where('id', '=', op.id).where('merchant_id', '=', op.merchant_id),
  ).executeTakeFirstOrThrow();
}

/** A password check is over: it no longer counts as running. */
async function endCheck(trx: Tx, op: OperatorKey, checkId: string): Promise<void> {
  await trx
    .deleteFrom('auth_attempts')
    .where('id', '=', checkId)
    .where('merchant_id', '=', op.merchant_id)
    .execute();
}

function lockOf(row: OperatorTable, purpose: PasswordPurpose): LockState {
  const [failed, until] =
    purpose === 'approval'
      ? [row.approval_failed_attempts, row.approval_locked_until]
      : [row.failed_attempts, row.locked_until];
  return { failedAttempts: failed, lockedUntil: until ? new Date(until) : null };
}

/** Each purpose has its own lock: wrong sign-ins never lock a supervisor's approvals. */
async function storeLock(trx: Tx, op: OperatorKey, purpose: PasswordPurpose, state: LockState) {
  const until = state.lockedUntil?.toISOString() ?? null;
  await trx
    .updateTable('operators')
    .set(
      purpose === 'approval'
        ? { approval_failed_attempts: state.failedAttempts, approval_locked_until: until }
        : { failed_attempts: state.failedAttempts, locked_until: until },
    )
    .where('id', '=', op.id)
    .where('merchant_id', '=', op.merchant_id)
    .execute();
}

export async function signIn(ctx: Ctx, input: { terminalId: string; operatorNo: string; password: string }) {
  const terminal = await ctx.store.db
    .selectFrom('terminals')
    .selectAll()
    .where('id', '=', input.terminalId)
    .executeTakeFirst();
  // An unknown terminal is answered like a wrong password, after as long: who exists stays unsaid.
  if (!terminal) return refuseUnknown(input.password);
  const policy = await policyFor(ctx, terminal.merchant_id);
  const op = await ctx.store.db
    .selectFrom('operators')
    .selectAll()
    .where('merchant_id', '=', terminal.merchant_id)
    .where('operator_no', '=', input.operatorNo)
    .executeTakeFirst();
  const operator = await checkPassword(ctx, op, input.password, policy, {
    invalid: 'unauthenticated',
    locked: 'operator_locked',
  });
  const token = randomToken('rds_');
  const now = ctx.clock();
  await ctx.store.tx(async (trx) => {
    await trx
      .insertInto('sessions')
      .values({
        token_hash: sha256Hex(token),
        operator_id: operator.id,
        merchant_id: operator.merchant_id,
        terminal_id: terminal.id,
        expires_at: new Date(now.getTime() + SESSION_TTL_MS).toISOString(),
        created_at: now.toISOString(),
      })
      .execute();
    await appendAudit(trx, {
      merchantId: operator.merchant_id,
      actor: `op:${operator.operator_no}`,
      action: 'session.created',
      entity: 'terminal',
      entityId: terminal.id,
      data: {},
      at: now,
    });
  });
  return {
    token,
    operator: { no: operator.operator_no, role: operator.role, name: operator.name },
    terminalId: terminal.id,
    merchantId: operator.merchant_id,
    expiresAt: new Date(now.getTime() + SESSION_TTL_MS).toISOString(),
  };
}

export async function signOut(ctx: Ctx, token: string): Promise<void> {
  await ctx.store.db.deleteFrom('sessions').where('token_hash', '=', sha256Hex(token)).execute();
}

/** Resolve a bearer token: an operator session (`rds_…`) or a merchant API key (`rdk_…`). */
export async function authenticate(ctx: Ctx, token: string): Promise<Caller> {
  const hash = sha256Hex(token);
  if (token.startsWith('rdk_')) {
    const key = await ctx.store.db
      .selectFrom('api_keys')
      .selectAll()
      .where('key_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    const now = ctx.clock();
    if (!key || (key.expires_at !== null && Date.parse(key.expires_at) <= now.getTime()))
      throw new DomainError('unauthenticated', 'the API key is not valid (unknown, revoked or expired)');
    await touchApiKey(ctx, key, now);
    return {
      merchantId: key.merchant_id,
      principal: 'merchant_system',
      actor: `key:${key.id}`,
      operatorId: null,
      operatorNo: null,
      terminalId: null,
    };
  }
  const row = await ctx.store.db
    .selectFrom('sessions')
    .innerJoin('operators', (j) =>
      j
        .onRef('operators.id', '=', 'sessions.operator_id')
        .onRef('operators.merchant_id', '=', 'sessions.merchant_id'),
    )
    .select([
      'sessions.expires_at',
      'sessions.terminal_id',
      'operators.id',
      'operators.operator_no',
      'operators.role',
      'operators.merchant_id',
    ])
    .where('sessions.token_hash', '=', hash)
    .executeTakeFirst();
  if (!row || new Date(row.expires_at).getTime() <= ctx.clock().getTime()) {
    throw new DomainError('unauthenticated', 'sign in again: the session is missing or expired');
  }
  return {
    merchantId: row.merchant_id,
    principal: row.role,
    actor: `op:${row.operator_no}`,
    operatorId: row.id,
    operatorNo: row.operator_no,
    terminalId: row.terminal_id,
  };
}

export const MAX_APPROVALS = 2;

/**
 * Verify the refund passwords of the supervisors approving (退款密码). Each must be a different
 * supervisor or admin of the caller's merchant; wrong passwords count towards their lockout.
 */
export async function verifyApprovals(
  ctx: Ctx,
  merchantId: string,
  approvals: { operatorNo: string; password: string }[],
): Promise<VerifiedApproval[]> {
  if (approvals.length > MAX_APPROVALS)
    throw new DomainError('validation_failed', `at most ${MAX_APPROVALS} approvals`);
  checkDistinctApprovers(approvals);
  if (approvals.length === 0) return [];
  const policy = await policyFor(ctx, merchantId);
  const verified: VerifiedApproval[] = [];
  for (const a of approvals) {
    const op = await ctx.store.db
      .selectFrom('operators')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .where('operator_no', '=', a.operatorNo)
      .executeTakeFirst();
    const ok = await checkPassword(ctx, op, a.password, policy, {
      invalid: 'supervisor_password_invalid',
      locked: 'supervisor_locked',
    });
    if (ok.role !== 'supervisor' && ok.role !== 'admin') {
      throw new DomainError('approver_not_authorised', `operator ${ok.operator_no} is not a supervisor`);
    }
    verified.push({ operatorId: ok.id, operatorNo: ok.operator_no, at: ctx.clock() });
  }
  return verified;
}

/** How often a key's last use is written: not on every request of a busy merchant system. */
const TOUCH_EVERY_MS = 60_000;

async function touchApiKey(
  ctx: Ctx,
  key: { id: string; merchant_id: string; last_used_at: string | null },
  now: Date,
): Promise<void> {
  if (key.last_used_at !== null && now.getTime() - Date.parse(key.last_used_at) < TOUCH_EVERY_MS) return;
  await ctx.store.db
    .updateTable('api_keys')
    .set({ last_used_at: now.toISOString() })
    .where('id', '=', key.id)
    .where('merchant_id', '=', key.merchant_id)
    .execute();
}

export async function createApiKey(ctx: Ctx, caller: Caller, name: string, expiresInDays?: number) {
  const key = randomToken('rdk_');
  const id = `key_${ulid()}`;
  const now = ctx.clock();
  const expiresAt =
    expiresInDays === undefined ? null : new Date(now.getTime() + expiresInDays * 86_400_000).toISOString();
  await ctx.store.tx(async (trx) => {
    await trx
      .insertInto('api_keys')
      .values({
        id,
        merchant_id: caller.merchantId,
        name,
        key_hash: sha256Hex(key),
        created_at: now.toISOString(),
        revoked_at: null,
        expires_at: expiresAt,
        last_used_at: null,
      })
      .execute();
    await appendAudit(trx, {
      merchantId: caller.merchantId,
      actor: caller.actor,
      action: 'api_key.created',
      entity: 'api_key',
      entityId: id,
      data: { name, expiresAt },
      at: now,
    });
  });
  return { id, name, key, createdAt: now.toISOString(), expiresAt };
}

type ApiKeyRow = {
  id: string;
  name: string;
  created_at: string;
  revoked_at: string | null;
  expires_at: string | null;
  last_used_at: string | null;
};

function apiKeyView(k: ApiKeyRow) {
  return {
    id: k.id,
    name: k.name,
    createdAt: k.created_at,
    expiresAt: k.expires_at,
    lastUsedAt: k.last_used_at,
    revokedAt: k.revoked_at,
  };
}

/** The merchant's API keys, newest first; the keys themselves were shown once and are not kept. */
export async function listApiKeys(ctx: Ctx, caller: Caller) {
  const rows = await ctx.store.db
    .selectFrom('api_keys')
    .select(['id', 'name', 'created_at', 'revoked_at', 'expires_at', 'last_used_at'])
    .where('merchant_id', '=', caller.merchantId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return { data: rows.map(apiKeyView) };
}

/** Revoke a key at once (audited); revoking twice answers the same. */
export async function revokeApiKey(ctx: Ctx, trx: Tx, caller: Caller, id: string) {
  const key = await trx
    .selectFrom('api_keys')
    .select(['id', 'name', 'created_at', 'revoked_at', 'expires_at', 'last_used_at'])
    .where('merchant_id', '=', caller.merchantId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!key) throw new DomainError('not_found', `API key ${id} not found`);
  if (key.revoked_at !== null) return apiKeyView(key);
  const now = ctx.clock().toISOString();
  await trx
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('merchant_id', '=', caller.merchantId)
    .execute();
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'api_key.revoked',
    entity: 'api_key',
    entityId: id,
    data: { name: key.name },
    at: new Date(now),
  });
  return apiKeyView({ ...key, revoked_at: now });
}

/** A lock still in force at `now`, else null: an expired lock is shown as none. */
function lockInForce(until: string | null, now: Date): string | null {
  return until !== null && new Date(until).getTime() > now.getTime() ? until : null;
}

/** The merchant's operators with their locks, for an admin deciding whom to unlock. */
export async function listOperators(ctx: Ctx, caller: Caller) {
  requirePermission(caller.principal, 'operator.manage');
  const now = ctx.clock();
  const rows = await ctx.store.db
    .selectFrom('operators')
    .select(['operator_no', 'role', 'name', 'locked_until', 'approval_locked_until'])
    .where('merchant_id', '=', caller.merchantId)
    .orderBy('operator_no')
    .execute();
  return {
    data: rows.map((o) => ({
      operatorNo: o.operator_no,
      role: o.role,
      name: o.name,
      signInLockedUntil: lockInForce(o.locked_until, now),
      approvalLockedUntil: lockInForce(o.approval_locked_until, now),
    })),
  };
}

/**
 * An admin lifts an operator's locks — sign-in and refund password alike — before they expire
 * (the terminal's lock message says "ask an admin to unlock it"). Audited.
 */
export async function unlockOperator(ctx: Ctx, trx: Tx, caller: Caller, operatorNo: string) {
  requirePermission(caller.principal, 'operator.manage');
  const op = await forUpdate(
    trx,
    trx
      .selectFrom('operators')
      .selectAll()
      .where('merchant_id', '=', caller.merchantId)
      .where('operator_no', '=', operatorNo),
  ).executeTakeFirst();
  if (!op) throw new DomainError('not_found', `operator ${operatorNo} not found`);
  const now = ctx.clock();
  await trx
    .updateTable('operators')
    .set({ failed_attempts: 0, locked_until: null, approval_failed_attempts: 0, approval_locked_until: null })
    .where('id', '=', op.id)
    .where('merchant_id', '=', caller.merchantId)
    .execute();
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'operator.unlocked',
    entity: 'operator',
    entityId: op.id,
    data: {
      operatorNo,
      signInLockedUntil: op.locked_until,
      approvalLockedUntil: op.approval_locked_until,
    },
    at: now,
  });
  return {
    operatorNo: op.operator_no,
    role: op.role,
    name: op.name,
    signInLockedUntil: null,
    approvalLockedUntil: null,
  };
}
