/**
 * The back office's people page (issue 11) through the API, on both stores: back-office sign-in
 * (supervisors and admins; a cashier is refused only once the password is right), `surface` in the
 * session answers, and the admin's operator verbs — add, rename, change role, disable / enable,
 * reset a password — with their guards (password length per role, a new password when a cashier
 * is promoted, duplicate numbers, the last admin, an admin's own account), their effects (sessions
 * end, sign-in and approvals refused) and their audit entries, none of which holds a password.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { updateOperator } from '../../src/service/auth.js';
import type { Caller } from '../../src/service/context.js';
import { snapshotStore, storeTables } from '../fuzz/snapshot.js';
import { storeTargets } from '../support/stores.js';
import {
  type Client,
  call,
  DEMO,
  orderNo,
  signIn,
  startTestSystem,
  supervisor,
  type TestSystem,
} from '../support/system.js';

const ADMIN = { operatorNo: '99', password: '12345678' };
const CASHIER = { operatorNo: '01', password: '1111' };
/** Distinctive passwords, looked for afterwards in every row of the store. */
const PW = {
  cashier: 'kq7Z-cash1',
  supervisor: 'Sv-83hQ2',
  disabled: 'Dz-55mWq',
  reset: 'Rs-19xPa',
  resetNew: 'Rn-40yKe',
  admin2: 'Ad-72nLr',
  admin3: 'Ad-31cVu',
  demoted: 'Dm-64bTs',
  promoted: 'Pr-58kJw',
  promotedRetry: 'Pr-90tGz',
  supervisor37: 'Sv-37dQx',
  // Long enough for a cashier (4), too short for a supervisor or admin (6).
  cashier37: 'q-7x!',
  reset37: 'Rz-73pLm',
};

/** A problem answer without the parts that name the request. */
function problemOf(body: unknown) {
  const { instance: _i, requestId: _r, ...rest } = body as Record<string, unknown>;
  return rest;
}

describe.each(storeTargets)('back-office people on $name', (target) => {
  let sys: TestSystem;
  let admin: Client;
  let cashier: Client;
  let boss: Client;

  beforeAll(async () => {
    sys = await startTestSystem(await target.freshUrl(), { worker: false });
    admin = await signIn(sys.base, ADMIN.operatorNo, ADMIN.password);
    cashier = await signIn(sys.base, CASHIER.operatorNo, CASHIER.password);
    boss = await signIn(sys.base, supervisor.operatorNo, supervisor.password);
  });
  afterAll(async () => {
    await sys?.close();
  });

  const officeSignIn = (operatorNo: string, password: string, merchantId: string = DEMO.merchantId) =>
    call(sys.base, 'POST', '/v1/sessions', { merchantId, operatorNo, password });
  const terminalSignIn = (operatorNo: string, password: string) =>
    call(sys.base, 'POST', '/v1/sessions', { terminalId: DEMO.terminalId, operatorNo, password });
  const whoAmI = (token: string) =>
    call(sys.base, 'GET', '/v1/sessions/current', undefined, { authorization: `Bearer ${token}` });
  const create = (who: Client, body: Record<string, unknown>) => who.call('POST', '/v1/operators', body);
  const patch = (who: Client, no: string, body: Record<string, unknown>) =>
    who.call('PATCH', `/v1/operators/${no}`, body);
  const reset = (who: Client, no: string, password: string) =>
    who.call('POST', `/v1/operators/${no}/password`, { password });
  const operatorRow = (no: string) =>
    sys.ctx.store.db
      .selectFrom('operators')
      .selectAll()
      .where('merchant_id', '=', DEMO.merchantId)
      .where('operator_no', '=', no)
      .executeTakeFirstOrThrow();
  const sessionsOf = async (no: string) => {
    const op = await operatorRow(no);
    return sys.ctx.store.db
      .selectFrom('sessions')
      .select(['surface', 'terminal_id'])
      .where('merchant_id', '=', DEMO.merchantId)
      .where('operator_id', '=', op.id)
      .execute();
  };
  /** A cash sale and a refund of part of it, approved by `approver` at the counter. */
  const refundApprovedBy = async (approver: { operatorNo: string; password: string }) => {
    const sale = await cashier.call('POST', '/v1/payments', {
      orderNo: orderNo('OPA'),
      amount: 5_000,
      currency: 'CNY',
      method: 'cash',
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    return cashier.call('POST', '/v1/refunds', {
      paymentId: sale.body.id,
      amount: 500,
      reason: { code: 'quality_issue' },
      approvals: [approver],
    });
  };

  describe('back-office sign-in', () => {
    it('opens an office session for a supervisor and an admin: surface office, no terminal', async () => {
      for (const op of [supervisor, ADMIN]) {
        const r = await officeSignIn(op.operatorNo, op.password);
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        expect(r.body).toMatchObject({
          surface: 'office',
          terminalId: null,
          merchantId: DEMO.merchantId,
          operator: { no: op.operatorNo },
        });
        const me = await whoAmI(r.body.token);
        expect(me.status).toBe(200);
        expect(me.body).toEqual({
          merchantId: DEMO.merchantId,
          merchant: { id: DEMO.merchantId, name: DEMO.merchantName, timeZone: 'Asia/Shanghai' },
          surface: 'office',
          terminalId: null,
          operator: {
            no: op.operatorNo,
            role: op === ADMIN ? 'admin' : 'supervisor',
            name: DEMO.operators.find((o) => o.no === op.operatorNo)?.name,
          },
        });
      }
      const sessions = await sessionsOf(ADMIN.operatorNo);
      expect(sessions.map((s) => s.surface).sort()).toEqual(['office', 'terminal']);
    });

    it('answers terminal sessions with surface terminal and their terminal', async () => {
      const r = await terminalSignIn(CASHIER.operatorNo, CASHIER.password);
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ surface: 'terminal', terminalId: DEMO.terminalId });
      const me = await whoAmI(r.body.token);
      expect(me.body).toMatchObject({
        surface: 'terminal',
        terminalId: DEMO.terminalId,
        merchant: { id: DEMO.merchantId, timeZone: 'Asia/Shanghai' },
        operator: { no: '01', role: 'cashier' },
      });
    });

    it('answers an API key with surface api_key and no operator', async () => {
      const key = await admin.call('POST', '/v1/api-keys', { name: 'people test' });
      expect(key.status).toBe(201);
      const me = await whoAmI(key.body.key);
      expect(me.body).toMatchObject({ surface: 'api_key', terminalId: null, operator: null });
    });

    it('refuses a cashier with the right password: 403 office_not_allowed, no session', async () => {
      const before = (await sessionsOf(CASHIER.operatorNo)).length;
      const r = await officeSignIn(CASHIER.operatorNo, CASHIER.password);
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('office_not_allowed');
      expect(r.body.detail).toMatch(/terminal/);
      expect(r.body).not.toHaveProperty('token');
      expect(await sessionsOf(CASHIER.operatorNo)).toHaveLength(before);
    });

    it('answers a wrong password, an unknown operator and an unknown merchant alike, as at a terminal', async () => {
      const cashierWrong = await officeSignIn(CASHIER.operatorNo, 'not-it');
      const supervisorWrong = await officeSignIn('02', 'not-it');
      const unknownOperator = await officeSignIn('77', 'not-it');
      const unknownMerchant = await officeSignIn('02', 'not-it', '898100000000999');
      const atTerminal = await terminalSignIn('02', 'not-it');
      expect(cashierWrong.status).toBe(401);
      expect(cashierWrong.body.code).toBe('unauthenticated');
      expect(cashierWrong.body).not.toHaveProperty('attemptsLeft');
      for (const other of [supervisorWrong, unknownOperator, unknownMerchant, atTerminal]) {
        expect(other.status).toBe(401);
        expect(problemOf(other.body)).toEqual(problemOf(cashierWrong.body));
      }
      // The cashier's wrong guess counts towards their lock like any other.
      expect((await operatorRow(CASHIER.operatorNo)).failed_attempts).toBe(1);
      expect((await terminalSignIn(CASHIER.operatorNo, CASHIER.password)).status).toBe(201);
    });

    it('refuses a body with both terminalId and merchantId, or neither: 400 validation_failed', async () => {
      const both = await call(sys.base, 'POST', '/v1/sessions', {
        terminalId: DEMO.terminalId,
        merchantId: DEMO.merchantId,
        ...ADMIN,
      });
      const neither = await call(sys.base, 'POST', '/v1/sessions', ADMIN);
      for (const r of [both, neither]) {
        expect(r.status).toBe(400);
        expect(r.body.code).toBe('validation_failed');
      }
    });

    it('audits office sign-ins like terminal ones', async () => {
      const audit = await admin.call('GET', '/v1/audit?limit=100');
      const signIns = (audit.body.data as { action: string; entity: string; data: unknown }[]).filter(
        (e) => e.action === 'session.created',
      );
      expect(
        signIns.some((e) => e.entity === 'merchant' && (e.data as { surface: string }).surface === 'office'),
      ).toBe(true);
      expect(signIns.some((e) => e.entity === 'terminal')).toBe(true);
    });
  });

  describe('operators', () => {
    it('adds an operator who can then sign in; the answer shows no password', async () => {
      const r = await create(admin, {
        operatorNo: '30',
        name: '收银员 30',
        role: 'cashier',
        password: PW.cashier,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body).toEqual({
        operatorNo: '30',
        role: 'cashier',
        name: '收银员 30',
        signInLockedUntil: null,
        approvalLockedUntil: null,
        disabled: false,
        disabledAt: null,
      });
      expect((await operatorRow('30')).password_hash).toMatch(/^\$argon2id\$/);
      expect((await terminalSignIn('30', PW.cashier)).status).toBe(201);
      const list = await admin.call('GET', '/v1/operators');
      expect(list.body.data.map((o: { operatorNo: string }) => o.operatorNo)).toContain('30');
      expect(JSON.stringify(list.body)).not.toMatch(/password|argon2/i);
    });

    it('replays a repeated create with the same Idempotency-Key instead of refusing it', async () => {
      const key = `people-${randomUUID()}`;
      const body = { operatorNo: '35', name: 'Idem', role: 'cashier', password: 'Id-2847' };
      const first = await admin.call('POST', '/v1/operators', body, { 'idempotency-key': key });
      const again = await admin.call('POST', '/v1/operators', body, { 'idempotency-key': key });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toEqual(first.body);
    });

    it('refuses a number in use: 409 operator_exists, the existing operator unchanged', async () => {
      const before = await operatorRow('01');
      const r = await create(admin, {
        operatorNo: '01',
        name: 'Impostor',
        role: 'admin',
        password: 'Im-123456',
      });
      expect(r.status).toBe(409);
      expect(r.body.code).toBe('operator_exists');
      expect(await operatorRow('01')).toEqual(before);
    });

    it('refuses a password too short for the role: 422 password_too_weak, nothing added', async () => {
      const short = [
        { operatorNo: '40', role: 'cashier', password: '123', minLength: 4 },
        { operatorNo: '41', role: 'supervisor', password: '12345', minLength: 6 },
        { operatorNo: '42', role: 'admin', password: '12345', minLength: 6 },
      ];
      for (const s of short) {
        const r = await create(admin, {
          operatorNo: s.operatorNo,
          name: 'Short',
          role: s.role,
          password: s.password,
        });
        expect(r.status, JSON.stringify(r.body)).toBe(422);
        expect(r.body).toMatchObject({ code: 'password_too_weak', minLength: s.minLength });
      }
      const list = await admin.call('GET', '/v1/operators');
      const numbers = list.body.data.map((o: { operatorNo: string }) => o.operatorNo);
      for (const s of short) expect(numbers).not.toContain(s.operatorNo);
      const bad = await create(admin, { operatorNo: '43', name: 'x', role: 'owner', password: '123456' });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('validation_failed');
    });

    it('renames without a password; an empty change is refused, an unknown operator not found', async () => {
      const renamed = await patch(admin, '30', { name: '收银员 三十' });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ operatorNo: '30', name: '收银员 三十', role: 'cashier' });
      expect((await patch(admin, '30', {})).status).toBe(400);
      expect((await patch(admin, '77', { name: 'ghost' })).status).toBe(404);
    });

    it('refuses to promote a cashier without a new password: 422 password_required, nothing changed', async () => {
      const before = await operatorRow('30');
      for (const change of [
        { role: 'supervisor' },
        { role: 'admin', name: '收银员 升级' },
        { role: 'supervisor', disabled: false },
      ]) {
        const r = await patch(admin, '30', change);
        expect(r.status, JSON.stringify(r.body)).toBe(422);
        expect(r.body).toMatchObject({ code: 'password_required', minLength: 6 });
        expect(r.body.detail).toMatch(/from cashier to (supervisor|admin).*new password/);
      }
      expect(await operatorRow('30')).toEqual(before);
    });

    it('refuses a promotion with a password too short for the new role: 422 password_too_weak', async () => {
      const before = await operatorRow('30');
      for (const [role, password] of [
        ['supervisor', '12345'],
        ['admin', 'Ab1'],
      ]) {
        const r = await patch(admin, '30', { role, password });
        expect(r.status, JSON.stringify(r.body)).toBe(422);
        expect(r.body).toMatchObject({ code: 'password_too_weak', minLength: 6 });
      }
      expect(await operatorRow('30')).toEqual(before);
    });

    it('promotes a cashier with a new password: the old one refused, sessions ended, locks lifted, the role holds', async () => {
      const session = await terminalSignIn('30', PW.cashier);
      expect(session.status).toBe(201);
      expect((await terminalSignIn('30', 'wrong-one')).status).toBe(401);
      expect((await operatorRow('30')).failed_attempts).toBe(1);

      const key = `promote-${randomUUID()}`;
      const promote = (password: string) =>
        admin.call('PATCH', '/v1/operators/30', { role: 'supervisor', password }, { 'idempotency-key': key });
      const promoted = await promote(PW.promoted);
      expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
      expect(promoted.body).toEqual({
        operatorNo: '30',
        role: 'supervisor',
        name: '收银员 三十',
        signInLockedUntil: null,
        approvalLockedUntil: null,
        disabled: false,
        disabledAt: null,
      });
      // The key's fingerprint leaves the password out: a retry is the same request, replayed.
      const retried = await promote(PW.promotedRetry);
      expect(retried.status).toBe(200);
      expect(retried.headers.get('idempotent-replayed')).toBe('true');

      expect((await whoAmI(session.body.token)).status).toBe(401);
      expect(await sessionsOf('30')).toEqual([]);
      expect((await operatorRow('30')).failed_attempts).toBe(0);
      expect((await terminalSignIn('30', PW.cashier)).status).toBe(401);
      expect((await terminalSignIn('30', PW.promotedRetry)).status).toBe(401);
      const fresh = await terminalSignIn('30', PW.promoted);
      expect(fresh.status).toBe(201);
      expect((await whoAmI(fresh.body.token)).body.operator).toEqual({
        no: '30',
        role: 'supervisor',
        name: '收银员 三十',
      });
      // The old password is no refund password either; the new one is.
      expect((await refundApprovedBy({ operatorNo: '30', password: PW.cashier })).body.code).toBe(
        'supervisor_password_invalid',
      );
      expect((await refundApprovedBy({ operatorNo: '30', password: PW.promoted })).status).toBe(201);

      const audit = await admin.call('GET', '/v1/audit?action=operator.updated&limit=100');
      const entries = audit.body.data as { entity_id: string; data: Record<string, unknown> }[];
      const entry = entries.find(
        (e) => e.data.operatorNo === '30' && (e.data.changes as { role?: unknown }).role !== undefined,
      );
      expect(entry?.data).toMatchObject({
        changes: { role: { from: 'cashier', to: 'supervisor' } },
        newPasswordSet: true,
        signInLockedUntil: null,
      });
      expect(entry?.data.sessionsEnded).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(entry)).not.toMatch(/Pr-|argon2|"password"/);
      expect(entries.filter((e) => e.entity_id === entry?.entity_id && e.data.newPasswordSet)).toHaveLength(
        1,
      );
    });

    it('asks no new password for a demotion, a supervisor made admin or a rename; one given is measured by the new role', async () => {
      const made = await create(admin, {
        operatorNo: '37',
        name: '主管 37',
        role: 'supervisor',
        password: PW.supervisor37,
      });
      expect(made.status).toBe(201);
      const session = await terminalSignIn('37', PW.supervisor37);
      expect((await patch(admin, '37', { role: 'admin' })).body.role).toBe('admin');
      expect((await patch(admin, '37', { name: '主管 三七' })).body.name).toBe('主管 三七');
      expect((await patch(admin, '37', { role: 'supervisor' })).body.role).toBe('supervisor');
      // No password changed: the session and the password hold.
      expect((await whoAmI(session.body.token)).body.operator.role).toBe('supervisor');

      const weak = await patch(admin, '37', { role: 'admin', password: PW.cashier37 });
      expect(weak.status).toBe(422);
      expect(weak.body).toMatchObject({ code: 'password_too_weak', minLength: 6 });
      // A demotion to cashier with a new password: a cashier's length is enough.
      const demoted = await patch(admin, '37', { role: 'cashier', password: PW.cashier37 });
      expect(demoted.status, JSON.stringify(demoted.body)).toBe(200);
      expect(demoted.body.role).toBe('cashier');
      expect((await whoAmI(session.body.token)).status).toBe(401);
      expect((await terminalSignIn('37', PW.supervisor37)).status).toBe(401);
      expect((await terminalSignIn('37', PW.cashier37)).status).toBe(201);
      // A password alone is set as a reset is.
      expect((await patch(admin, '37', { password: PW.reset37 })).status).toBe(200);
      expect((await terminalSignIn('37', PW.reset37)).status).toBe(201);
      expect((await patch(admin, '37', { disabled: false, name: '收银员 37' })).status).toBe(200);
    });

    it('disables: sessions end at once, sign-in and approvals refused as for a stranger; enabling restores', async () => {
      expect(
        (
          await create(admin, {
            operatorNo: '31',
            name: '主管 31',
            role: 'supervisor',
            password: PW.disabled,
          })
        ).status,
      ).toBe(201);
      const atTill = await terminalSignIn('31', PW.disabled);
      const inOffice = await officeSignIn('31', PW.disabled);
      expect([atTill.status, inOffice.status]).toEqual([201, 201]);

      const off = await patch(admin, '31', { disabled: true });
      expect(off.status).toBe(200);
      expect(off.body.disabled).toBe(true);
      expect(Date.parse(off.body.disabledAt)).not.toBeNaN();
      for (const token of [atTill.body.token, inOffice.body.token])
        expect((await whoAmI(token)).status).toBe(401);
      expect(await sessionsOf('31')).toEqual([]);

      const stranger = await terminalSignIn('77', PW.disabled);
      for (const r of [await terminalSignIn('31', PW.disabled), await officeSignIn('31', PW.disabled)]) {
        expect(r.status).toBe(401);
        expect(problemOf(r.body)).toEqual(problemOf(stranger.body));
      }
      const approval = await refundApprovedBy({ operatorNo: '31', password: PW.disabled });
      const unknownApprover = await refundApprovedBy({ operatorNo: '78', password: PW.disabled });
      expect(approval.status).toBe(403);
      expect(approval.body.code).toBe('supervisor_password_invalid');
      expect(problemOf(approval.body)).toEqual(problemOf(unknownApprover.body));
      // Disabling twice keeps the first time.
      expect((await patch(admin, '31', { disabled: true })).body.disabledAt).toBe(off.body.disabledAt);

      const on = await patch(admin, '31', { disabled: false });
      expect(on.body).toMatchObject({ disabled: false, disabledAt: null });
      expect((await terminalSignIn('31', PW.disabled)).status).toBe(201);
      const approved = await refundApprovedBy({ operatorNo: '31', password: PW.disabled });
      expect(approved.status, JSON.stringify(approved.body)).toBe(201);
      expect(approved.body.approvals.map((a: { operatorNo: string }) => a.operatorNo)).toEqual(['31']);
    });

    it('ends office sessions of an operator demoted to cashier, keeps their terminal ones', async () => {
      expect(
        (await create(admin, { operatorNo: '34', name: '管理员 34', role: 'admin', password: PW.demoted }))
          .status,
      ).toBe(201);
      const office = await officeSignIn('34', PW.demoted);
      const till = await terminalSignIn('34', PW.demoted);
      expect((await patch(admin, '34', { role: 'cashier' })).body.role).toBe('cashier');
      expect((await whoAmI(office.body.token)).status).toBe(401);
      const me = await whoAmI(till.body.token);
      expect(me.status).toBe(200);
      expect(me.body.operator.role).toBe('cashier');
      expect((await officeSignIn('34', PW.demoted)).body.code).toBe('office_not_allowed');
    });

    it('keeps an admin from disabling or demoting themself: 409 self_change_not_allowed', async () => {
      for (const change of [{ disabled: true }, { role: 'supervisor' }, { role: 'cashier', name: 'x' }]) {
        const r = await patch(admin, '99', change);
        expect(r.status).toBe(409);
        expect(r.body.code).toBe('self_change_not_allowed');
      }
      const row = await operatorRow('99');
      expect([row.role, row.disabled_at, row.name]).toEqual(['admin', null, '管理员 99']);
      // Renaming oneself is fine.
      expect((await patch(admin, '99', { name: '管理员 九九' })).body.name).toBe('管理员 九九');
    });

    it("keeps the merchant's last enabled admin: 409 last_admin", async () => {
      // Every other admin is disabled or demoted by now: 99 is the last one. An API call cannot
      // reach this without a race (the caller is an admin too), so the service is called with an
      // admin caller who is not 99, as a request that authenticated just before losing its role.
      const enabledAdmins = await sys.ctx.store.db
        .selectFrom('operators')
        .select('operator_no')
        .where('merchant_id', '=', DEMO.merchantId)
        .where('role', '=', 'admin')
        .where('disabled_at', 'is', null)
        .execute();
      expect(enabledAdmins.map((a) => a.operator_no)).toEqual(['99']);
      const stale: Caller = {
        merchantId: DEMO.merchantId,
        principal: 'admin',
        actor: 'op:98',
        operatorId: 'op_stale',
        operatorNo: '98',
        terminalId: null,
      };
      for (const change of [{ disabled: true }, { role: 'supervisor' as const }]) {
        const refused = await sys.ctx.store
          .tx((trx) => updateOperator(sys.ctx, trx, stale, '99', change))
          .catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(DomainError);
        expect((refused as DomainError).code).toBe('last_admin');
      }
      expect((await operatorRow('99')).role).toBe('admin');
    });

    it('lets two admins demoting each other at once leave exactly one admin', async () => {
      expect(
        (await create(admin, { operatorNo: '32', name: '管理员 32', role: 'admin', password: PW.admin2 }))
          .status,
      ).toBe(201);
      const second = await signIn(sys.base, '32', PW.admin2);
      const [a, b] = await Promise.all([
        patch(admin, '32', { role: 'supervisor' }),
        patch(second, '99', { role: 'supervisor' }),
      ]);
      const statuses = [a.status, b.status].sort();
      expect(statuses[0], JSON.stringify([a.body, b.body])).toBe(200);
      expect([403, 409], JSON.stringify([a.body, b.body])).toContain(statuses[1]);
      const admins = await sys.ctx.store.db
        .selectFrom('operators')
        .select('operator_no')
        .where('merchant_id', '=', DEMO.merchantId)
        .where('role', '=', 'admin')
        .where('disabled_at', 'is', null)
        .execute();
      expect(admins).toHaveLength(1);
      // Put 99 back as the one admin the rest of the suite signs in as.
      const survivor = admins[0]?.operator_no === '99' ? admin : second;
      if (survivor === second) {
        expect((await patch(second, '99', { role: 'admin' })).status).toBe(200);
        admin = await signIn(sys.base, ADMIN.operatorNo, ADMIN.password);
      }
      expect((await patch(admin, '32', { role: 'supervisor' })).status).toBe(200);
      // A disabled admin does not count as one either.
      expect(
        (await create(admin, { operatorNo: '36', name: 'A36', role: 'admin', password: PW.admin3 })).status,
      ).toBe(201);
      expect((await patch(admin, '36', { disabled: true })).status).toBe(200);
    });

    it('resets a password: the old one fails, the new one works, locks cleared, sessions ended', async () => {
      expect(
        (await create(admin, { operatorNo: '33', name: '主管 33', role: 'supervisor', password: PW.reset }))
          .status,
      ).toBe(201);
      const session = await terminalSignIn('33', PW.reset);
      expect(session.status).toBe(201);
      // Lock the sign-in with five wrong guesses, and count one wrong refund password.
      const guesses = [];
      for (let i = 0; i < 5; i++) guesses.push((await terminalSignIn('33', `wrong-${i}`)).status);
      expect(guesses.at(-1)).toBe(423);
      expect((await refundApprovedBy({ operatorNo: '33', password: 'wrong' })).body.code).toBe(
        'supervisor_password_invalid',
      );
      const locked = await operatorRow('33');
      expect(locked.locked_until).not.toBeNull();
      expect(locked.approval_failed_attempts).toBe(1);

      const weak = await reset(admin, '33', '12345');
      expect(weak.status).toBe(422);
      expect(weak.body.code).toBe('password_too_weak');
      expect((await reset(admin, '77', PW.resetNew)).status).toBe(404);

      const r = await reset(admin, '33', PW.resetNew);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ operatorNo: '33', signInLockedUntil: null, approvalLockedUntil: null });
      const row = await operatorRow('33');
      expect([row.failed_attempts, row.locked_until, row.approval_failed_attempts]).toEqual([0, null, 0]);
      expect((await whoAmI(session.body.token)).status).toBe(401);
      expect((await terminalSignIn('33', PW.reset)).status).toBe(401);
      expect((await terminalSignIn('33', PW.resetNew)).status).toBe(201);
      expect((await refundApprovedBy({ operatorNo: '33', password: PW.resetNew })).status).toBe(201);
    });

    it('refuses every operators call to a cashier and a supervisor, at a terminal or in the office: 403', async () => {
      const office = await officeSignIn(supervisor.operatorNo, supervisor.password);
      const officeBoss: Client = {
        token: office.body.token,
        call: (method, path, body, headers = {}) =>
          call(sys.base, method, path, body, {
            authorization: `Bearer ${office.body.token}`,
            'idempotency-key': `t-${randomUUID()}`,
            ...headers,
          }),
      };
      const before = await operatorRow('30');
      for (const who of [cashier, boss, officeBoss]) {
        const answers = [
          await who.call('GET', '/v1/operators'),
          await create(who, { operatorNo: '50', name: 'x', role: 'admin', password: 'Xx-123456' }),
          await patch(who, '30', { disabled: true }),
          await patch(who, '30', { role: 'admin' }),
          await reset(who, '30', 'Xx-123456'),
          await who.call('POST', '/v1/operators/30/unlock'),
        ];
        for (const a of answers)
          expect({ status: a.status, code: a.body.code }).toEqual({ status: 403, code: 'forbidden' });
      }
      expect(await operatorRow('30')).toEqual(before);
      expect(
        (await admin.call('GET', '/v1/operators')).body.data.map((o: { operatorNo: string }) => o.operatorNo),
      ).not.toContain('50');
    });

    it('audits every change, and no row anywhere holds a password', async () => {
      const audit = await admin.call('GET', '/v1/audit?limit=100');
      const entries = audit.body.data as { action: string; actor: string; data: Record<string, unknown> }[];
      const actions = new Set(entries.map((e) => e.action));
      for (const action of ['operator.created', 'operator.updated', 'operator.password_reset'])
        expect(actions, action).toContain(action);
      const disabled = entries.find(
        (e) =>
          e.action === 'operator.updated' &&
          e.data.operatorNo === '31' &&
          (e.data.changes as { disabled?: { to: boolean } }).disabled?.to === true,
      );
      expect(disabled?.data).toMatchObject({
        changes: { disabled: { from: false, to: true } },
        sessionsEnded: 2,
      });
      expect(disabled?.actor).toBe('op:99');

      const snapshot = await snapshotStore(sys.ctx.store, await storeTables(sys.ctx.store));
      const everything = JSON.stringify(snapshot);
      for (const password of Object.values(PW)) expect(everything, password).not.toContain(password);
      const auditText = JSON.stringify(snapshot.audit_log);
      expect(auditText).not.toMatch(/argon2|password_hash|"password"/);
    });
  });
});
