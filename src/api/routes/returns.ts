import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requirePermission } from '../../domain/auth.js';
import type { Ctx } from '../../service/context.js';
import { cancelReturn, createReturn, getReturn, inspectReturn, listReturns } from '../../service/returns.js';
import { ensureTracking } from '../../service/tracking.js';
import { limitOf, linkOrigin, mutate, requireCaller } from '../http.js';
import {
  AUTHED,
  answers,
  bodyRefusals,
  KEYED_MUTATION,
  problems,
  REFUND_CREATION,
} from '../schemas/problems.js';
import { ReturnCreated, ReturnList, ReturnView, TrackingLink } from '../schemas/responses.js';
import { IdParams, InspectionBody, ReturnBody, ReturnQuery } from '../schemas.js';

/** The merchant's side of QR-code scan returns (扫码退货, issue 12) and every refund's status link. */
export const returnRoutes =
  (ctx: Ctx): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/v1/returns',
      {
        schema: {
          tags: ['returns'],
          summary:
            'Show a return QR (扫码退货): the sale and the returned lines; the answer carries the consumer page `url` and its QR (`qrPng`, base64 PNG); send Idempotency-Key',
          description:
            'The lines are reserved until the link expires (policy `returnLinkMinutes`, default 30), is used or is withdrawn: ' +
            'never more than bought minus refunded minus other open returns, counted per line under the sale’s lock. ' +
            'Every refund rule that can be checked now is checked now (refunds on, window, caps, funds).',
          body: ReturnBody,
          response: answers({
            201: ReturnCreated,
            ...problems(...AUTHED, ...KEYED_MUTATION, ...REFUND_CREATION),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'return.create');
        const origin = linkOrigin(ctx, req);
        return mutate(ctx, req, reply, caller, {
          status: 201,
          requireKey: true,
          work: (trx) => createReturn(ctx, trx, caller, req.body, origin),
        });
      },
    );

    app.get(
      '/v1/returns',
      {
        schema: {
          tags: ['returns'],
          summary: 'Return QRs, newest first (?status=open|expired|submitted|canceled, ?orderNo=)',
          querystring: ReturnQuery,
          response: answers({ 200: ReturnList, ...problems(...AUTHED, 'validation_failed', 'forbidden') }),
        },
      },
      async (req) =>
        listReturns(ctx, await requireCaller(ctx, req), {
          status: req.query.status,
          orderNo: req.query.orderNo,
          limit: limitOf(req.query, 50),
        }),
    );

    app.get(
      '/v1/returns/:id',
      {
        schema: {
          tags: ['returns'],
          summary: 'One return QR and what became of it (its refund, the inspection)',
          params: IdParams,
          response: answers({
            200: ReturnView,
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req) => getReturn(ctx, await requireCaller(ctx, req), req.params.id),
    );

    app.post(
      '/v1/returns/:id/cancel',
      {
        schema: {
          tags: ['returns'],
          summary:
            'Withdraw a return QR the consumer has not used (its lines are free again); send Idempotency-Key',
          params: IdParams,
          response: answers({
            200: ReturnView,
            ...problems(...AUTHED, ...KEYED_MUTATION, 'forbidden', 'not_found', 'return_not_open'),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        return mutate(ctx, req, reply, caller, {
          status: 200,
          requireKey: true,
          work: (trx) => cancelReturn(ctx, trx, caller, req.params.id),
        });
      },
    );

    app.post(
      '/v1/returns/:id/inspection',
      {
        schema: {
          tags: ['returns'],
          summary:
            'Record the inspection of the returned goods (验货): accepted takes the refund into review (then approve it as any refund), rejected rejects it with the note the consumer sees; photos go to POST /v1/refunds/:refundId/evidence; send Idempotency-Key',
          params: IdParams,
          body: InspectionBody,
          response: answers({
            200: ReturnView,
            ...problems(
              ...AUTHED,
              ...KEYED_MUTATION,
              'forbidden',
              'not_found',
              'reason_required',
              'return_not_open',
              'invalid_state_transition',
            ),
            ...bodyRefusals(),
          }),
        },
      },
      async (req, reply) => {
        const caller = await requireCaller(ctx, req);
        return mutate(ctx, req, reply, caller, {
          status: 200,
          requireKey: true,
          work: (trx) => inspectReturn(ctx, trx, caller, req.params.id, req.body),
        });
      },
    );

    app.get(
      '/v1/refunds/:id/tracking',
      {
        schema: {
          tags: ['refunds'],
          summary:
            "The refund's status link for its consumer (printed, sent and shown on vouchers) and its QR (base64 PNG)",
          params: IdParams,
          response: answers({
            200: TrackingLink,
            ...problems(...AUTHED, 'validation_failed', 'forbidden', 'not_found'),
          }),
        },
      },
      async (req) => {
        const caller = await requireCaller(ctx, req);
        requirePermission(caller.principal, 'refund.read');
        return ensureTracking(ctx, caller.merchantId, req.params.id, linkOrigin(ctx, req));
      },
    );
  };
