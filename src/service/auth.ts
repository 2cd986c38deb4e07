import {
  afterRightPassword,
  afterWrongPassword,
  beginCheck,
  checkPasswordRule,
  checkRoleChangePassword,
  type LockState,
  mayUseOffice,
  type Role,
  requirePermission,
  type SessionSurface,
} from '../domain/auth.js';
import { MERCHANT_TIME_ZONE } from '../domain/calendar.js';
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
  // A disabled operator is answered as one that does not exist: same time, same answer.
  if (!op || op.disabled_at !== null) return refuseUnknown(password, codes.invalid);
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

/** Sign-in names a terminal (a session at that till) or a merchant (a back-office session). */
export type SignInInput =
  | { terminalId: string; operatorNo: string; password: string }
  | { merchantId: string; operatorNo: string; password: string };

interface SignInPlace {
  surface: SessionSurface;
  merchantId: string;
  /** Null in the back office. */
  terminalId: string | null;
}

/** Where a sign-in would open its session, or null when no such terminal or merchant exists. */
async function placeOf(ctx: Ctx, input: SignInInput): Promise<SignInPlace | null> {
  if ('terminalId' in input) {
    const terminal = await ctx.store.db
      .selectFrom('terminals')
      .select(['id', 'merchant_id'])
      .where('id', '=', input.terminalId)
      .executeTakeFirst();
    return terminal
      ? { surface: 'terminal', merchantId: terminal.merchant_id, terminalId: terminal.id }
      : null;
  }
  const merchant = await ctx.store.db
    .selectFrom('merchants')
    .select('id')
    .where('id', '=', input.merchantId)
    .executeTakeFirst();
  return merchant ? { surface: 'office', merchantId: merchant.id, terminalId: null } : null;
}

export async function signIn(ctx: Ctx, input: SignInInput) {
  const place = await placeOf(ctx, input);
  // An unknown terminal or merchant is answered like a wrong password, after as long: who exists stays unsaid.
  if (!place) return refuseUnknown(input.password);
  const policy = await policyFor(ctx, place.merchantId);
  const op = await ctx.store.db
    .selectFrom('operators')
    .selectAll()
    .where('merchant_id', '=', place.merchantId)
    .where('operator_no', '=', input.operatorNo)
    .executeTakeFirst();
  const operator = await checkPassword(ctx, op, input.password, policy, {
    invalid: 'unauthenticated',
    locked: 'operator_locked',
  });
  // Only after the right password: a wrong one is answered alike for every role.
  if (place.surface === 'office' && !mayUseOffice(operator.role)) {
    throw new DomainError('office_not_allowed', 'cashiers sign in at a terminal, not in the back office');
  }
  const token = randomToken('rds_');
  const now = ctx.clock();
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS).toISOString();
  await ctx.store.tx(async (trx) => {
    await trx
      .insertInto('sessions')
      .values({
        token_hash: sha256Hex(token),
        operator_id: operator.id,
        merchant_id: operator.merchant_id,
        // NOT NULL since 0001; an office session has no terminal (migration 0017).
        terminal_id: place.terminalId ?? '',
        surface: place.surface,
        expires_at: expiresAt,
        created_at: now.toISOString(),
      })
      .execute();
    await appendAudit(trx, {
      merchantId: operator.merchant_id,
      actor: `op:${operator.operator_no}`,
      action: 'session.created',
      entity: place.terminalId === null ? 'merchant' : 'terminal',
      entityId: place.terminalId ?? place.merchantId,
      data: { surface: place.surface },
      at: now,
    });
  });
  return {
    token,
    operator: { no: operator.operator_no, role: operator.role, name: operator.name },
    surface: place.surface,
    terminalId: place.terminalId,
    merchantId: operator.merchant_id,
    expiresAt,
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
      'sessions.surface',
      'operators.id',
      'operators.operator_no',
      'operators.role',
      'operators.merchant_id',
      'operators.disabled_at',
    ])
    .where('sessions.token_hash', '=', hash)
    .executeTakeFirst();
  // Disabling and demoting end such sessions at once; this holds even for one that slipped past.
  const over =
    !row ||
    new Date(row.expires_at).getTime() <= ctx.clock().getTime() ||
    row.disabled_at !== null ||
    (row.surface === 'office' && !mayUseOffice(row.role));
  if (over) throw new DomainError('unauthenticated', 'sign in again: the session is missing or expired');
  return {
    merchantId: row.merchant_id,
    principal: row.role,
    actor: `op:${row.operator_no}`,
    operatorId: row.id,
    operatorNo: row.operator_no,
    terminalId: row.surface === 'office' ? null : row.terminal_id,
  };
}

/** Where the caller works: an operator at a terminal or in the back office, or a merchant system. */
export function surfaceOf(caller: Caller): SessionSurface | 'api_key' {
  if (caller.principal === 'merchant_system') return 'api_key';
  // `authenticate` gives every terminal session its terminal, and an office session none.
  return caller.terminalId === null ? 'office' : 'terminal';
}

/** Who the bearer token belongs to, with their merchant and its time zone (for the pages' clocks). */
export async function describeCaller(ctx: Ctx, caller: Caller) {
  const merchant = await ctx.store.db
    .selectFrom('merchants')
    .select(['id', 'name'])
    .where('id', '=', caller.merchantId)
    .executeTakeFirstOrThrow();
  const operator =
    caller.operatorId === null
      ? undefined
      : await ctx.store.db
          .selectFrom('operators')
          .select('name')
          .where('merchant_id', '=', caller.merchantId)
          .where('id', '=', caller.operatorId)
          .executeTakeFirst();
  return {
    merchantId: merchant.id,
    merchant: { id: merchant.id, name: merchant.name, timeZone: MERCHANT_TIME_ZONE },
    surface: surfaceOf(caller),
    terminalId: caller.terminalId,
    operator:
      caller.operatorNo === null
        ? null
        : { no: caller.operatorNo, role: caller.principal, name: operator?.name ?? '' },
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

type OperatorRow = Pick<
  OperatorTable,
  'operator_no' | 'role' | 'name' | 'locked_until' | 'approval_locked_until' | 'disabled_at'
>;
const operatorColumns = [
  'operator_no',
  'role',
  'name',
  'locked_until',
  'approval_locked_until',
  'disabled_at',
] as const satisfies readonly (keyof OperatorRow)[];

/** An operator as the back office shows them: locks in force, disabled or not; never a password. */
function operatorView(o: OperatorRow, now: Date) {
  return {
    operatorNo: o.operator_no,
    role: o.role,
    name: o.name,
    signInLockedUntil: lockInForce(o.locked_until, now),
    approvalLockedUntil: lockInForce(o.approval_locked_until, now),
    disabled: o.disabled_at !== null,
    disabledAt: o.disabled_at,
  };
}

/** The merchant's operators with their locks, for an admin deciding whom to unlock. */
export async function listOperators(ctx: Ctx, caller: Caller) {
  requirePermission(caller.principal, 'operator.manage');
  const now = ctx.clock();
  const rows = await ctx.store.db
    .selectFrom('operators')
    .select(operatorColumns)
    .where('merchant_id', '=', caller.merchantId)
    .orderBy('operator_no')
    .execute();
  return { data: rows.map((o) => operatorView(o, now)) };
}

/** One operator of the caller's merchant, row-locked for a change; not_found when there is none. */
async function lockOperatorNo(trx: Tx, caller: Caller, operatorNo: string): Promise<OperatorTable> {
  const op = await forUpdate(
    trx,
    trx
      .selectFrom('operators')
      .selectAll()
      .where('merchant_id', '=', caller.merchantId)
      .where('operator_no', '=', operatorNo),
  ).executeTakeFirst();
  if (!op) throw new DomainError('not_found', `operator ${operatorNo} not found`);
  return op;
}

/** End the operator's sessions (of one surface, or all) at once; how many ended. */
async function endSessions(trx: Tx, op: OperatorKey, surface?: SessionSurface): Promise<number> {
  let q = trx
    .deleteFrom('sessions')
    .where('operator_id', '=', op.id)
    .where('merchant_id', '=', op.merchant_id);
  if (surface) q = q.where('surface', '=', surface);
  const r = await q.executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * An admin lifts an operator's locks — sign-in and refund password alike — before they expire
 * (the terminal's lock message says "ask an admin to unlock it"). Audited.
 */
export async function unlockOperator(ctx: Ctx, trx: Tx, caller: Caller, operatorNo: string) {
  requirePermission(caller.principal, 'operator.manage');
  const op = await lockOperatorNo(trx, caller, operatorNo);
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
  return operatorView({ ...op, locked_until: null, approval_locked_until: null }, now);
}

export interface NewOperator {
  operatorNo: string;
  name: string;
  role: Role;
  password: string;
}

/**
 * The steps of adding an operator, for `mutate`: the rule and the (slow, memory-hard) hash come
 * before the store transaction, the row and its audit entry inside it.
 */
export function operatorCreation(ctx: Ctx, caller: Caller, input: NewOperator) {
  return {
    prepare: async (): Promise<string> => {
      requirePermission(caller.principal, 'operator.manage');
      checkPasswordRule(input.role, input.password);
      return hashPassword(input.password);
    },
    work: (trx: Tx, passwordHash: string) => insertOperator(ctx, trx, caller, input, passwordHash),
  };
}

async function insertOperator(ctx: Ctx, trx: Tx, caller: Caller, input: NewOperator, passwordHash: string) {
  const now = ctx.clock();
  const row = {
    id: `op_${ulid()}`,
    merchant_id: caller.merchantId,
    operator_no: input.operatorNo,
    role: input.role,
    name: input.name,
    password_hash: passwordHash,
    failed_attempts: 0,
    locked_until: null,
    approval_failed_attempts: 0,
    approval_locked_until: null,
    disabled_at: null,
    created_at: now.toISOString(),
  };
  // ON CONFLICT, not a read first: two requests adding one number at once get one row and one 409.
  const inserted = await trx
    .insertInto('operators')
    .values(row)
    .onConflict((oc) => oc.columns(['merchant_id', 'operator_no']).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
    throw new DomainError('operator_exists', `operator ${input.operatorNo} exists: choose another number`);
  }
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'operator.created',
    entity: 'operator',
    entityId: row.id,
    data: { operatorNo: input.operatorNo, name: input.name, role: input.role },
    at: now,
  });
  return operatorView(row, now);
}

export interface OperatorChange {
  name?: string | undefined;
  role?: Role | undefined;
  disabled?: boolean | undefined;
}

/**
 * An operator's role as it stands, read outside any transaction to measure a new password before
 * it is hashed (the work measures it again under the row lock); not_found when there is none.
 */
async function roleOf(ctx: Ctx, caller: Caller, operatorNo: string): Promise<Role> {
  const op = await ctx.store.db
    .selectFrom('operators')
    .select('role')
    .where('merchant_id', '=', caller.merchantId)
    .where('operator_no', '=', operatorNo)
    .executeTakeFirst();
  if (!op) throw new DomainError('not_found', `operator ${operatorNo} not found`);
  return op.role;
}

/** A new password given with a change: as typed (measured against the new role), and its hash. */
export interface NewPassword {
  text: string;
  hash: string;
}

/**
 * The steps of an operator change, for `mutate`. With a new password, its rule (by the role it
 * will have) and its slow hash come before the store transaction, as for a reset; without one
 * there is nothing to prepare.
 */
export function operatorUpdate(
  ctx: Ctx,
  caller: Caller,
  operatorNo: string,
  change: OperatorChange,
  password: string | undefined,
) {
  return {
    prepare: async (): Promise<NewPassword | null> => {
      requirePermission(caller.principal, 'operator.manage');
      if (password === undefined) return null;
      checkPasswordRule(change.role ?? (await roleOf(ctx, caller, operatorNo)), password);
      return { text: password, hash: await hashPassword(password) };
    },
    work: (trx: Tx, newPassword: NewPassword | null) =>
      updateOperator(ctx, trx, caller, operatorNo, change, newPassword),
  };
}

/**
 * Rename, change the role of, disable or enable an operator, and set a new password (audited,
 * never the password). A cashier made supervisor or admin must get a new password with the role
 * (domain `checkRoleChangePassword`). Disabling ends their sessions at once, and so does a new
 * password. The merchant always keeps an enabled admin, and no admin disables or demotes themself
 * (another admin must).
 */
export async function updateOperator(
  ctx: Ctx,
  trx: Tx,
  caller: Caller,
  operatorNo: string,
  change: OperatorChange,
  newPassword: NewPassword | null = null,
) {
  requirePermission(caller.principal, 'operator.manage');
  // The admins' rows before the operator's, always in this order: two admins demoting each other
  // at once then wait for one another (and the second sees the first's change), never deadlock.
  const mayEndAnAdmin = change.role !== undefined || change.disabled === true;
  const admins = mayEndAnAdmin ? await lockEnabledAdmins(trx, caller) : [];
  const op = await lockOperatorNo(trx, caller, operatorNo);
  const now = ctx.clock();
  const wasDisabled = op.disabled_at !== null;
  const next = {
    name: change.name ?? op.name,
    role: change.role ?? op.role,
    disabled: change.disabled ?? wasDisabled,
  };
  // Under the row lock: the role may have changed since the password was measured against it.
  checkRoleChangePassword(operatorNo, op.role, next.role, newPassword?.text);
  const changes = {
    ...(next.name !== op.name ? { name: { from: op.name, to: next.name } } : {}),
    ...(next.role !== op.role ? { role: { from: op.role, to: next.role } } : {}),
    ...(next.disabled !== wasDisabled ? { disabled: { from: wasDisabled, to: next.disabled } } : {}),
  };
  if (Object.keys(changes).length === 0 && !newPassword) return operatorView(op, now);
  if (admins.includes(op.id) && (next.role !== 'admin' || next.disabled)) keepAnAdmin(caller, op, admins);
  const disabledAt = next.disabled ? (op.disabled_at ?? now.toISOString()) : null;
  const locksCleared = newPassword
    ? { failed_attempts: 0, locked_until: null, approval_failed_attempts: 0, approval_locked_until: null }
    : {};
  await trx
    .updateTable('operators')
    .set({
      name: next.name,
      role: next.role,
      disabled_at: disabledAt,
      ...(newPassword ? { password_hash: newPassword.hash } : {}),
      ...locksCleared,
    })
    .where('id', '=', op.id)
    .where('merchant_id', '=', caller.merchantId)
    .execute();
  // A disabled operator, or one with a new password, has no session left; a cashier none in the
  // back office.
  let sessionsEnded = 0;
  if (next.disabled || newPassword) sessionsEnded = await endSessions(trx, op);
  else if (!mayUseOffice(next.role)) sessionsEnded = await endSessions(trx, op, 'office');
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'operator.updated',
    entity: 'operator',
    entityId: op.id,
    data: {
      operatorNo,
      changes,
      sessionsEnded,
      // That a new password was set, and which locks it lifted; never the password.
      ...(newPassword
        ? {
            newPasswordSet: true,
            signInLockedUntil: op.locked_until,
            approvalLockedUntil: op.approval_locked_until,
          }
        : {}),
    },
    at: now,
  });
  const locksAfter = newPassword ? { locked_until: null, approval_locked_until: null } : {};
  return operatorView(
    { ...op, name: next.name, role: next.role, disabled_at: disabledAt, ...locksAfter },
    now,
  );
}

/** The ids of the merchant's enabled admins, row-locked (by id, so always in one order). */
async function lockEnabledAdmins(trx: Tx, caller: Caller): Promise<string[]> {
  const rows = await forUpdate(
    trx,
    trx
      .selectFrom('operators')
      .select('id')
      .where('merchant_id', '=', caller.merchantId)
      .where('role', '=', 'admin')
      .where('disabled_at', 'is', null)
      .orderBy('id'),
  ).execute();
  return rows.map((r) => r.id);
}

/**
 * `op`, one of the enabled `admins`, is about to stop being one: refuse when it is the caller (an
 * admin who locks themself out needs another admin anyway) or the merchant's last enabled admin.
 */
function keepAnAdmin(caller: Caller, op: OperatorTable, admins: readonly string[]): void {
  if (op.id === caller.operatorId) {
    throw new DomainError(
      'self_change_not_allowed',
      'an admin cannot disable or demote themself: another admin must do it',
    );
  }
  if (!admins.some((id) => id !== op.id)) {
    throw new DomainError(
      'last_admin',
      `operator ${op.operator_no} is the last enabled admin: make another operator admin first`,
    );
  }
}

/**
 * The steps of an admin's password reset, for `mutate`: the rule of the operator's role and the
 * hash before the store transaction; inside it the new hash, locks cleared, sessions ended.
 */
export function passwordReset(ctx: Ctx, caller: Caller, operatorNo: string, password: string) {
  return {
    prepare: async (): Promise<string> => {
      requirePermission(caller.principal, 'operator.manage');
      checkPasswordRule(await roleOf(ctx, caller, operatorNo), password);
      return hashPassword(password);
    },
    work: async (trx: Tx, passwordHash: string) => {
      const op = await lockOperatorNo(trx, caller, operatorNo);
      // The role may have changed since the password was measured against it.
      checkPasswordRule(op.role, password);
      return storePasswordReset(ctx, trx, caller, op, passwordHash);
    },
  };
}

async function storePasswordReset(
  ctx: Ctx,
  trx: Tx,
  caller: Caller,
  op: OperatorTable,
  passwordHash: string,
) {
  const now = ctx.clock();
  await trx
    .updateTable('operators')
    .set({
      password_hash: passwordHash,
      failed_attempts: 0,
      locked_until: null,
      approval_failed_attempts: 0,
      approval_locked_until: null,
    })
    .where('id', '=', op.id)
    .where('merchant_id', '=', caller.merchantId)
    .execute();
  const sessionsEnded = await endSessions(trx, op);
  await appendAudit(trx, {
    merchantId: caller.merchantId,
    actor: caller.actor,
    action: 'operator.password_reset',
    entity: 'operator',
    entityId: op.id,
    data: {
      operatorNo: op.operator_no,
      sessionsEnded,
      signInLockedUntil: op.locked_until,
      approvalLockedUntil: op.approval_locked_until,
    },
    at: now,
  });
  return operatorView({ ...op, locked_until: null, approval_locked_until: null }, now);
}
