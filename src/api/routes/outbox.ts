import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePermission } from '../../domain/auth.js';
import type { Ctx } from '../../service/context.js';
import { deadOutbox } from '../../store/outbox.js';
import { requireCaller } from '../http.js';
import { AUTHED, answers, problems } from '../schemas/problems.js';
import { DeadOutboxList } from '../schemas/responses.js';

const DeadQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) },
  { additionalProperties: false },
);

/** Work the outbox gave up on (submissions, reversals, compensations, voucher sends): never silent. */
export const outboxRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/outbox/dead',
      {
        schema: {
          tags: ['operations'],
          summary: 'Outbox work that exhausted its retries (dead letters), newest first',
          querystring: DeadQuery,
          response: answers({
            200: DeadOutboxList,
            ...problems(...AUTHED, 'validation_failed', 'forbidden'),
          }),
        },
      },
      async (req) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'audit.read');
        return { data: await deadOutbox(ctx.store, caller.merchantId, req.query.limit ?? 50) };
      },
    );
  };
