import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import { requirePermission } from '../../domain/auth.js';
import { ulid } from '../../ids.js';
import { verifyApprovals } from '../../service/auth.js';
import type { Ctx } from '../../service/context.js';
import { getPayment, listPayments, type PaymentFilter } from '../../service/payments.js';
import { saleWorkflow } from '../../workflows/sale.js';
import { voidWorkflow } from '../../workflows/void.js';
import { idempotencyKey, keyedId, limitOf, mutate, requireCaller } from '../http.js';
import { APPROVALS, AUTHED, answers, bodyRefusals, KEYED_MUTATION, problems } from '../schemas/problems.js';
import { PaymentPage, PaymentView } from '../schemas/responses.js';
import { IdParams, PaymentBody, PaymentQuery, VoidBody } from '../schemas.js';

const minorOf = (v: string | undefined) => (v === undefined ? undefined : Number(v));

/** The list's filters from its query string (also the payments export's: routes/exports.ts). */
export function paymentFilterOf(q: Static<typeof PaymentQuery>): Omit<PaymentFilter, 'limit' | 'cursor'> {
  return {
    orderNo: q.orderNo,
    last4: q.last4,
    amount: minorOf(q.amount),
    amountMin: minorOf(q.amountMin),
    amountMax: minorOf(q.amountMax),
    phone: q.phone,
    from: q.from,
    to: q.to,
  };
}

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
          summary:
            "Find payments (order number, card last four, amount or amount range, the consumer's phone, time)",
          querystring: PaymentQuery,
          response: answers({ 200: PaymentPage, ...problems(...AUTHED, 'validation_failed', 'forbidden') }),
        },
      },
      async (req) => {
        return listPayments(ctx, await requireCaller(ctx, req), {
          ...paymentFilterOf(req.query),
          cursor: req.query.cursor,
          limit: limitOf(req.query),
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
