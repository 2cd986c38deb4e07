import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requirePermission } from '../../domain/auth.js';
import { ulid } from '../../ids.js';
import { verifyApprovals } from '../../service/auth.js';
import type { Ctx } from '../../service/context.js';
import { getPayment, listPayments } from '../../service/payments.js';
import { saleWorkflow } from '../../workflows/sale.js';
import { voidWorkflow } from '../../workflows/void.js';
import { idempotencyKey, keyedId, limitOf, mutate, requireCaller } from '../http.js';
import { APPROVALS, AUTHED, answers, bodyRefusals, KEYED_MUTATION, problems } from '../schemas/problems.js';
import { PaymentPage, PaymentView } from '../schemas/responses.js';
import { IdParams, PaymentBody, PaymentQuery, VoidBody } from '../schemas.js';

export const paymentRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/v1/payments',
      {
        schema: {
          tags: ['payments'],
          summary: 'Take a payment (sale); send Idempotency-Key',
          body: PaymentBody,
          response: answers({
            201: PaymentView,
            ...problems(
              ...AUTHED,
              ...KEYED_MUTATION,
              'forbidden',
              'currency_mismatch',
              'duplicate_order',
              'payment_not_completed',
              'invalid_state_transition',
              'network_unavailable',
            ),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        const paymentId = keyedId('pay_', caller, idempotencyKey(req), () => `pay_${ulid()}`);
        return mutate(ctx, req, reply, caller, saleWorkflow(ctx, caller, req.body, paymentId));
      },
    );

    app.get(
      '/v1/payments/:id',
      {
        schema: {
          tags: ['payments'],
          summary: 'One payment',
          params: IdParams,
          response: answers({
            200: PaymentView,
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req) => getPayment(ctx, await requireCaller(ctx, req), req.params.id),
    );

    app.get(
      '/v1/payments',
      {
        schema: {
          tags: ['payments'],
          summary: 'Find payments (order number, card last four, amount, time)',
          querystring: PaymentQuery,
          response: answers({ 200: PaymentPage, ...problems(...AUTHED, 'validation_failed', 'forbidden') }),
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
          response: answers({
            200: PaymentView,
            ...problems(
              ...AUTHED,
              ...KEYED_MUTATION,
              ...APPROVALS,
              'forbidden',
              'not_found',
              'void_not_allowed',
              'operation_in_progress',
              'invalid_state_transition',
              'network_unavailable',
            ),
            ...bodyRefusals(),
          }),
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
