import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { listOperators, unlockOperator } from '../../service/auth.js';
import type { Ctx } from '../../service/context.js';
import { mutate, requireCaller } from '../http.js';
import { AUTHED, answers, MUTATION, problems } from '../schemas/problems.js';
import { OperatorList, OperatorView } from '../schemas/responses.js';

const OperatorParams = Type.Object(
  { operatorNo: Type.String({ pattern: '^[0-9A-Za-z]{1,16}$' }) },
  { additionalProperties: false },
);

/** Operators of the caller's merchant: an admin lifts a lockout before it expires. */
export const operatorRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/operators',
      {
        schema: {
          tags: ['sessions'],
          summary: "Admin: the merchant's operators and the locks in force on each",
          response: answers({ 200: OperatorList, ...problems(...AUTHED, 'forbidden') }),
        },
      },
      async (req) => listOperators(ctx, await requireCaller(ctx, req)),
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
