import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { roles } from '../../domain/auth.js';
import { unlockOperator } from '../../service/auth.js';
import type { Ctx } from '../../service/context.js';
import { mutate, requireCaller } from '../http.js';
import { AUTHED, answers, MUTATION, problems } from '../schemas/problems.js';

const OperatorParams = Type.Object(
  { operatorNo: Type.String({ pattern: '^[0-9A-Za-z]{1,16}$' }) },
  { additionalProperties: false },
);

const UnlockedOperator = Type.Object(
  {
    operatorNo: Type.String(),
    role: Type.Union(roles.map((r) => Type.Literal(r))),
    name: Type.String(),
    signInLockedUntil: Type.Null(),
    approvalLockedUntil: Type.Null(),
  },
  { description: 'The operator, with both locks lifted' },
);

/** Operators of the caller's merchant: an admin lifts a lockout before it expires. */
export const operatorRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/v1/operators/:operatorNo/unlock',
      {
        schema: {
          tags: ['sessions'],
          summary: "Admin: lift an operator's sign-in and refund-password locks (audited)",
          params: OperatorParams,
          response: answers({
            200: UnlockedOperator,
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
