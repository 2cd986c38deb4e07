import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ulid } from 'ulid';
import { requirePermission } from '../../domain/auth.js';
import { verifyApprovals } from '../../service/auth.js';
import type { Ctx } from '../../service/context.js';
import { getPayment, listPayments } from '../../service/payments.js';
import { saleWorkflow } from '../../workflows/sale.js';
import { voidWorkflow } from '../../workflows/void.js';
import { idempotencyKey, keyedId, limitOf, mutate, requireCaller } from '../http.js';
import { IdParams, PaymentBody, PaymentQuery, VoidBody } from '../schemas.js';

export const paymentRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/v1/payments',
      { schema: { tags: ['payments'], summary: 'Take a payment (sale)', body: PaymentBody } },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        const paymentId = keyedId('pay_', caller, idempotencyKey(req), () => `pay_${ulid()}`);
        return mutate(ctx, req, reply, caller, saleWorkflow(ctx, caller, req.body, paymentId));
      },
    );

    app.get(
      '/v1/payments/:id',
      { schema: { tags: ['payments'], summary: 'One payment', params: IdParams } },
      async (req) => getPayment(ctx, await requireCaller(ctx, req), req.params.id),
    );

    app.get(
      '/v1/payments',
      {
        schema: {
          tags: ['payments'],
          summary: 'Find payments (order number, card last four, amount, time)',
          querystring: PaymentQuery,
        },
      },
      async (req) => {
        const q = req.query;
        return listPayments(ctx, await requireCaller(ctx, req), {
          ...q,
          amount: q.amount === undefined ? undefined : Number(q.amount),
          limit: limitOf(q),
        });
      },
    );

    app.post(
      '/v1/payments/:id/void',
      {
        schema: {
          tags: ['payments'],
          summary: 'Void (撤销) a same-day, unsettled payment',
          params: IdParams,
          body: VoidBody,
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'payment.void');
        const verify = () => verifyApprovals(ctx, caller.merchantId, req.body.approvals);
        return mutate(ctx, req, reply, caller, voidWorkflow(ctx, caller, req.params.id, verify));
      },
    );
  };
