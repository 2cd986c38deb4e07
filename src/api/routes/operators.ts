import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  listOperators,
  operatorCreation,
  operatorUpdate,
  passwordReset,
  unlockOperator,
} from '../../service/auth.js';
import type { Ctx } from '../../service/context.js';
import { mutate, requireCaller } from '../http.js';
import { AUTHED, answers, bodyRefusals, MUTATION, problems } from '../schemas/problems.js';
import { OperatorList, OperatorView } from '../schemas/responses.js';
import { OperatorCreateBody, OperatorPasswordBody, OperatorPatchBody } from '../schemas.js';

const OperatorParams = Type.Object(
  { operatorNo: Type.String({ pattern: '^[0-9A-Za-z]{1,16}$' }) },
  { additionalProperties: false },
);

/**
 * Operators of the caller's merchant, for its admins (operator.manage): add, rename, change role,
 * disable and enable, reset a password, lift a lockout. Every change is audited, never a password.
 */
export const operatorRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/operators',
      {
        schema: {
          tags: ['sessions'],
          summary: "Admin: the merchant's operators, the locks in force on each, and who is disabled",
          response: answers({ 200: OperatorList, ...problems(...AUTHED, 'forbidden') }),
        },
      },
      async (req) => listOperators(ctx, await requireCaller(ctx, req)),
    );

    app.post(
      '/v1/operators',
      {
        schema: {
          tags: ['sessions'],
          summary: 'Admin: add an operator (audited)',
          description:
            'The password needs at least 4 characters for a cashier and 6 for a supervisor or admin ' +
            '(`password_too_weak`, 422, with `minLength`). It is stored as an argon2id hash only.',
          body: OperatorCreateBody,
          response: answers({
            201: OperatorView,
            ...problems(...AUTHED, ...MUTATION, 'forbidden', 'password_too_weak', 'operator_exists'),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        const { password: _password, ...rest } = req.body;
        return mutate(ctx, req, reply, caller, {
          status: 201,
          local: true,
          fingerprintBody: rest,
          ...operatorCreation(ctx, caller, req.body),
        });
      },
    );

    app.patch(
      '/v1/operators/:operatorNo',
      {
        schema: {
          tags: ['sessions'],
          summary:
            'Admin: rename an operator, change their role, disable or enable them, set a new password (audited)',
          description:
            "Disabling ends the operator's sessions at once; while disabled they can neither sign in nor " +
            'approve. An admin cannot disable or demote themself (`self_change_not_allowed`), and the ' +
            "merchant's last enabled admin stays one (`last_admin`). A cashier made supervisor or admin " +
            'needs a new `password` with the role (`password_required`, 422, with `minLength`): their ' +
            "old one may be as short as a cashier's and would become a refund password. A `password` " +
            'is measured against the new role (`password_too_weak`) and set as by a reset: locks cleared, ' +
            "the operator's sessions ended. It is never audited nor kept with the Idempotency-Key.",
          params: OperatorParams,
          body: OperatorPatchBody,
          response: answers({
            200: OperatorView,
            ...problems(
              ...AUTHED,
              ...MUTATION,
              'forbidden',
              'not_found',
              'self_change_not_allowed',
              'last_admin',
              'password_required',
              'password_too_weak',
            ),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        const { password, ...change } = req.body;
        return mutate(ctx, req, reply, caller, {
          status: 200,
          local: true,
          fingerprintBody: change,
          ...operatorUpdate(ctx, caller, req.params.operatorNo, change, password),
        });
      },
    );

    app.post(
      '/v1/operators/:operatorNo/password',
      {
        schema: {
          tags: ['sessions'],
          summary: "Admin: reset an operator's password (audited)",
          description:
            "Same length rule as when adding (by the operator's role). Clears the sign-in and " +
            "refund-password locks and ends the operator's sessions.",
          params: OperatorParams,
          body: OperatorPasswordBody,
          response: answers({
            200: OperatorView,
            ...problems(...AUTHED, ...MUTATION, 'forbidden', 'not_found', 'password_too_weak'),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        return mutate(ctx, req, reply, caller, {
          status: 200,
          local: true,
          // The key's row keeps no hash of the password: the path is what makes the request.
          fingerprintBody: {},
          ...passwordReset(ctx, caller, req.params.operatorNo, req.body.password),
        });
      },
    );

    app.post(
      '/v1/operators/:operatorNo/unlock',
      {
        schema: {
          tags: ['sessions'],
          summary: "Admin: lift an operator's sign-in and refund-password locks (audited)",
          params: OperatorParams,
          response: answers({
            200: OperatorView,
            ...problems(...AUTHED, ...MUTATION, 'forbidden', 'not_found'),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        return mutate(ctx, req, reply, caller, {
          status: 200,
          work: (trx) => unlockOperator(ctx, trx, caller, req.params.operatorNo),
        });
      },
    );
  };
